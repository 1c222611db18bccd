"""JSON and YAML: `{"entries": [...]}` or a bare list of entries."""

from __future__ import annotations

import json

import yaml

from knowledge.formats.base import Parsed, draft_from_mapping, draft_to_mapping


def _entries(document: object, parsed: Parsed) -> list | None:
    if isinstance(document, dict) and isinstance(document.get("entries"), list):
        return document["entries"]
    if isinstance(document, list):
        return document
    parsed.problem(1, "expected a list of entries or a mapping with an 'entries' list")
    return None


def read_json(text: str, default_language: str | None) -> Parsed:
    parsed = Parsed()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        parsed.problem(exc.lineno, f"invalid JSON: {exc.msg}")
        return parsed
    # JSON has no line numbers after parsing; number entries instead (entry N).
    for number, record in enumerate(_entries(document, parsed) or [], start=1):
        before = len(parsed.problems)
        draft_from_mapping(record, number, default_language, parsed)
        parsed.problems[before:] = [p.replace("line", "entry", 1) for p in parsed.problems[before:]]
    return parsed


class _LineLoader(yaml.SafeLoader):
    """Records the line each mapping starts on."""


def _mapping_with_line(loader, node):
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def load_yaml(text: str, parsed: Parsed) -> object:
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        parsed.problem(mark.line + 1 if mark else 1,
                       f"invalid YAML: {getattr(exc, 'problem', exc)}")
        return None


def read_yaml(text: str, default_language: str | None) -> Parsed:
    parsed = Parsed()
    document = load_yaml(text, parsed)
    if parsed.problems:
        return parsed
    for record in _entries(document, parsed) or []:
        line = record.pop("__line__", 1) if isinstance(record, dict) else 1
        draft_from_mapping(record, line, default_language, parsed)
    return parsed


def write_json(entries) -> str:
    return json.dumps({"entries": [draft_to_mapping(e) for e in entries]}, ensure_ascii=False,
                      indent=2)


def write_yaml(entries) -> str:
    return yaml.safe_dump(
        {"entries": [draft_to_mapping(e) for e in entries]}, allow_unicode=True, sort_keys=False,
        width=100
    )
