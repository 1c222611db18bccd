"""Markdown FAQ pages, as companies already publish them.

    ---
    language: it
    category: pre_purchase
    ---
    # Spedizioni                      <- H1: the topic of the entries below it
    ## Quanto costa la spedizione?    <- H2/H3: a question
    ## Quali sono le spese di spedizione?   <- a heading right after another: a paraphrase
    La spedizione è gratuita ...      <- everything up to the next heading: the answer
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from knowledge.formats.base import Parsed, SourceDraft
from knowledge.formats.structured import load_yaml
from knowledge.repository import EntryDraft

_md = MarkdownIt("commonmark")
# Written by `write` so an export reads back with its keys, languages and categories.
_META = re.compile(r"<!--\s*(key:.*?)-->")


def _front_matter(text: str, parsed: Parsed) -> tuple[dict, str, int]:
    if not text.startswith("---\n"):
        return {}, text, 0
    end = text.find("\n---", 4)
    if end < 0:
        parsed.problem(1, "front matter opened with '---' is never closed")
        return {}, text, 0
    meta = load_yaml(text[4:end], parsed) or {}
    if not isinstance(meta, dict):
        parsed.problem(1, "front matter must be key: value pairs")
        meta = {}
    meta.pop("__line__", None)
    rest_start = text.find("\n", end + 1) + 1
    return meta, text[rest_start:], text[:rest_start].count("\n")


def read(text: str, default_language: str | None) -> Parsed:
    parsed = Parsed()
    meta, body, offset = _front_matter(text, parsed)
    lines = body.split("\n")
    language = str(meta.get("language") or default_language or "")
    category = str(meta.get("category") or "general")
    topic, current, answer_start = str(meta.get("topic") or ""), None, None

    def finish(end_line: int) -> None:
        if current is None:
            return
        start, questions = current
        answer = "\n".join(lines[answer_start:end_line]).strip() if answer_start is not None else ""
        fields = {"language": language, "category": category}
        if match := _META.search(answer):
            for part in match.group(1).split(";"):
                name, _, value = part.partition(":")
                fields[name.strip()] = value.strip()
            answer = _META.sub("", answer).strip()
        parsed.drafts.append(SourceDraft(start + offset + 1, EntryDraft(
            answer=answer, questions=tuple(questions), language=fields["language"],
            category=fields["category"], topic=topic, key=fields.get("key", ""))))

    for token in _md.parse(body):
        if token.type != "heading_open" or token.map is None:
            continue
        first, last = token.map
        heading = lines[first].lstrip("#").strip()
        if token.tag == "h1":
            finish(first)
            current, answer_start, topic = None, None, heading.lower()
        elif current is not None and answer_start == first:  # heading right after heading
            current[1].append(heading)
            answer_start = last
        else:
            finish(first)
            current, answer_start = (first, [heading]), last
    finish(len(lines))
    if not parsed.drafts and not parsed.problems:
        parsed.problem(1, "no questions found: write each question as a '## ' heading")
    return parsed


def write(entries) -> str:
    out, by_topic = ["---", "# exported knowledge base", "---", ""], {}
    for entry in entries:
        by_topic.setdefault((entry.language, entry.topic or "general"), []).append(entry)
    for (language, topic), group in by_topic.items():
        out.append(f"# {topic}")
        out.append("")
        for entry in group:
            out.extend(f"## {q.text}" for q in entry.questions)
            out.extend(["", f"<!-- key: {entry.key}; language: {language}; "
                            f"category: {entry.category.value} -->", entry.answer, ""])
    return "\n".join(out)
