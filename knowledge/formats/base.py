"""Shared pieces of the file readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from knowledge.repository import EntryDraft


@dataclass(frozen=True)
class SourceDraft:
    line: int  # where the entry starts in the file (1-based)
    draft: EntryDraft


@dataclass
class Parsed:
    drafts: list[SourceDraft] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(f"line {line}: {message}")


def decode(data: bytes) -> tuple[str, str | None]:
    """UTF-8 text (a BOM is dropped) or the line of the first invalid byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return "", f"line {line}: the file is not valid UTF-8 (byte {exc.start}); save it as UTF-8"
    return text.replace("\r\n", "\n").replace("\r", "\n"), None  # Windows and old Mac endings


def parse_date(value: object) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def split_questions(value: object) -> tuple[str, ...]:
    """Questions given as a list, or as one string separated by newlines or ' | '."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v is not None)
    text = str(value)
    parts = text.split("\n") if "\n" in text else text.split("|")
    return tuple(p.strip() for p in parts if p.strip())


def draft_from_mapping(record: dict, line: int, default_language: str | None,
                       parsed: Parsed) -> None:
    """Build a draft from a dict (JSON, YAML, CSV row); problems go to `parsed`."""
    if not isinstance(record, dict):
        parsed.problem(line, "each entry must be a mapping with 'answer' and 'questions'")
        return
    questions = split_questions(record.get("questions", record.get("question")))
    try:
        review_by = parse_date(record.get("review_by"))
    except ValueError:
        parsed.problem(line, f"review_by {record.get('review_by')!r} is not a date (YYYY-MM-DD)")
        return
    answer = record.get("answer")
    draft = EntryDraft(
        answer=answer if isinstance(answer, str) else "",
        questions=questions,
        language=str(record.get("language") or default_language or ""),
        key=str(record.get("key") or ""),
        category=str(record.get("category") or "general"),
        topic=str(record.get("topic") or ""),
        status=str(record.get("status") or "published"),
        review_by=review_by,
    )
    parsed.drafts.append(SourceDraft(line, draft))


def draft_to_mapping(entry) -> dict:
    """The export form of an ORM entry, shared by JSON, YAML and CSV."""
    return {
        "key": entry.key,
        "language": entry.language,
        "category": entry.category.value,
        "topic": entry.topic,
        "status": entry.status.value,
        "review_by": entry.review_by.isoformat() if entry.review_by else None,
        "questions": [q.text for q in entry.questions],
        "answer": entry.answer,
    }
