"""Rasa retrieval intents: NLU examples under `faq/<name>` and responses `utter_faq/<name>`.

One YAML file may hold both sections (Rasa accepts responses in training data);
the language, which Rasa files do not carry, comes from --language.
"""

from __future__ import annotations

import re

import yaml

from knowledge.formats.base import Parsed, SourceDraft
from knowledge.formats.structured import load_yaml
from knowledge.repository import EntryDraft

_EXAMPLE = re.compile(r"^\s*-\s+(.*\S)\s*$")


def read(text: str, default_language: str | None) -> Parsed:
    parsed = Parsed()
    document = load_yaml(text, parsed)
    if parsed.problems:
        return parsed
    if not isinstance(document, dict) or "nlu" not in document:
        parsed.problem(1, "expected Rasa training data with an 'nlu:' section")
        return parsed
    responses = document.get("responses") or {}
    examples: dict[str, tuple[int, list[str]]] = {}
    for item in document.get("nlu") or []:
        if not isinstance(item, dict) or "intent" not in item:
            continue  # synonyms, regexes, lookups: not knowledge
        intent, line = str(item["intent"]), item.get("__line__", 1)
        if "/" not in intent:
            continue  # an ordinary intent such as greet: the dialogue's, not the KB's
        found = [m.group(1) for m in map(_EXAMPLE.match, str(item.get("examples", "")).splitlines())
                 if m]
        examples.setdefault(intent, (line, []))[1].extend(found)
    for intent, (line, questions) in examples.items():
        name = intent.split("/", 1)[1]
        variants = responses.get(f"utter_{intent}")
        texts = [v.get("text") for v in variants or [] if isinstance(v, dict) and v.get("text")]
        if not texts:
            parsed.problem(line, f"intent {intent!r} has no response 'utter_{intent}' with a text")
            continue
        parsed.drafts.append(SourceDraft(line, EntryDraft(
            answer=str(texts[0]), questions=tuple(questions), language=default_language or "",
            key=name)))
    if not examples and not parsed.problems:
        parsed.problem(1, "no retrieval intents (names like 'faq/shipping_cost') found")
    return parsed


def _intent_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", key)


def write(entries) -> str:
    nlu, responses = [], {}
    for entry in entries:
        intent = f"faq/{_intent_name(entry.key)}"
        nlu.append({"intent": intent,
                    "examples": "".join(f"- {q.text}\n" for q in entry.questions)})
        responses[f"utter_{intent}"] = [{"text": entry.answer}]
    document = {"version": "3.1", "nlu": nlu, "responses": responses}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
