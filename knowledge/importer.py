"""Importing a file into the knowledge base: all or nothing, duplicates merged,
idempotent (importing the same file twice changes nothing the second time)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session

from knowledge import repository as repo
from knowledge.errors import EntryNotFound, ImportRejected
from knowledge.formats import read_file
from knowledge.formats.base import SourceDraft
from knowledge.text import fingerprint


@dataclass(frozen=True)
class ImportReport:
    source: str
    created: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return (f"{self.source}: {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged")


def import_file(
    path: Path,
    *,
    session: Session,
    fmt: str | None = None,
    language: str | None = None,
    author: str = "import",
    max_bytes: int = 20_000_000,
) -> ImportReport:
    """Parse, validate everything, then write in the caller's transaction."""
    parsed = read_file(path, fmt=fmt, default_language=language, max_bytes=max_bytes)
    problems = list(parsed.problems)
    drafts = _merge_duplicates(parsed.drafts, problems)
    for item in drafts:
        problems.extend(f"line {item.line}: {p}" for p in repo.problems_of(item.draft))
    if problems:
        raise ImportRejected(str(path), problems)
    if not drafts:
        raise ImportRejected(str(path), ["the file contains no entries"])
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for item in drafts:
        draft = replace(item.draft, source="imported", source_ref=path.name, author=author)
        counts[_upsert(draft, session=session)] += 1
    return ImportReport(str(path), **counts)


def _merge_duplicates(items: list[SourceDraft], problems: list[str]) -> list[SourceDraft]:
    """Entries that share a key, or a question in the same language, become one."""
    merged: list[SourceDraft] = []
    by_key: dict[str, int] = {}
    by_question: dict[tuple[str, str], int] = {}
    for item in items:
        draft = item.draft.cleaned()
        prints = [(draft.language, fingerprint(q)) for q in draft.questions]
        target = by_key.get(draft.key) if draft.key else None
        if target is None:
            target = next((by_question[p] for p in prints if p in by_question), None)
        if target is None:
            merged.append(SourceDraft(item.line, draft))
            target = len(merged) - 1
        else:
            first = merged[target]
            if draft.answer and draft.answer != first.draft.answer:
                problems.append(f"line {item.line}: duplicates the entry on line {first.line} "
                                "with a different answer; keep one answer")
            questions = first.draft.questions + tuple(
                q for q in draft.questions if q not in first.draft.questions)
            merged[target] = SourceDraft(first.line, replace(first.draft, questions=questions))
        if draft.key:
            by_key[draft.key] = target
        for p in prints:
            by_question.setdefault(p, target)
    return merged


def _upsert(draft: repo.EntryDraft, *, session: Session) -> str:
    existing = None
    if draft.key:
        try:
            existing = repo.get_entry(draft.key, session=session)
        except EntryNotFound:
            existing = None
    if existing is None:
        existing = repo.find_by_questions(draft.language, draft.questions, session=session)
    if existing is None:
        repo.create_entry(draft, session=session, reason=f"imported from {draft.source_ref}")
        return "created"
    changed = repo.update_entry(
        existing,
        session=session,
        by=draft.author,
        reason=f"imported from {draft.source_ref}",
        answer=draft.answer,
        add_questions=draft.questions,
        category=draft.category,
        topic=draft.topic or None,
        review_by=draft.review_by,
    )
    return "updated" if changed else "unchanged"
