"""What other packages read from the knowledge base's tables, as plain values: escalation
shows a ticket's transcript with the entries the customer clicked by their first question,
and the operator console lists, searches and shows entries, and names the entries a ticket
or the review list points at; they call these instead of querying
`Entry` and `Question` themselves (tests/knowledge/test_queries_contract.py
holds the contract).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from knowledge import repository
from knowledge.models import Category, Entry, Question, Source, Status

__all__ = ["MAX_ENTRIES", "EntryDetail", "EntryRow", "EntrySearch", "QuestionText",
           "VersionRow", "entry_detail", "entry_rows", "first_questions", "search_entries"]

MAX_ENTRIES = 100  # a transcript names a few entries; more ids than this are a forged input


def first_questions(entry_ids: Iterable[int], *, session: Session) -> dict[int, str]:
    """{entry id: its first question} (the one the buttons and answers stood for), for at
    most MAX_ENTRIES of the ids, the lowest; entries that do not exist are left out."""
    ids = sorted(set(entry_ids))[:MAX_ENTRIES]
    if not ids:
        return {}
    first = (select(Question.entry_id, func.min(Question.id).label("qid"))
             .where(Question.entry_id.in_(ids)).group_by(Question.entry_id).subquery())
    rows = session.execute(select(Question.entry_id, Question.text)
                           .join(first, first.c.qid == Question.id))
    return {entry_id: text for entry_id, text in rows}


@dataclass(frozen=True)
class QuestionText:
    """One question variant of an entry, as a list shows it."""

    text: str


@dataclass(frozen=True)
class EntryRow:
    """An entry as the console's list shows it; `questions` in the order they were added."""

    id: int
    key: str
    answer: str
    language: str
    category: Category
    status: Status
    version: int
    created_by: str
    ticket_id: int | None
    questions: tuple[QuestionText, ...]


@dataclass(frozen=True)
class EntrySearch:
    """Drafts waiting for a person (oldest first), one page of matches, and whether more
    follow: the console's list page."""

    drafts: list[EntryRow]
    entries: list[EntryRow]
    more: bool


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _row(entry: Entry) -> EntryRow:
    return EntryRow(entry.id, entry.key, entry.answer, entry.language, entry.category,
                    entry.status, entry.version, entry.created_by, entry.ticket_id,
                    tuple(QuestionText(q.text) for q in entry.questions))


def search_entries(q: str, status: str, *, offset: int, page: int, session: Session
                   ) -> EntrySearch:
    """Up to `page` drafts and the `page` entries from `offset` whose key, answer or a
    question contains `q` (any text when empty), of `status` when it names one."""
    base = select(Entry).options(selectinload(Entry.questions))  # questions in one query
    query = base.order_by(Entry.id)
    if q:
        pattern = _like(q)
        query = query.where(or_(
            Entry.key.ilike(pattern, escape="\\"), Entry.answer.ilike(pattern, escape="\\"),
            exists().where(Question.entry_id == Entry.id,
                           Question.text.ilike(pattern, escape="\\"))))
    if status in {s.value for s in Status}:
        query = query.where(Entry.status == Status(status))
    drafts = [_row(entry) for entry in session.scalars(
        base.where(Entry.status == Status.DRAFT).order_by(Entry.id).limit(page))]
    found = [_row(entry) for entry in session.scalars(query.offset(offset).limit(page + 1))]
    return EntrySearch(drafts, found[:page], len(found) > page)


def entry_rows(entry_ids: Iterable[int], *, session: Session) -> dict[int, EntryRow]:
    """{entry id: its row} for the ids given, whatever their status (a page says what became
    of each); ids with no entry, deleted since, are left out."""
    ids = sorted(set(entry_ids))
    if not ids:
        return {}
    found = session.scalars(select(Entry).options(selectinload(Entry.questions))
                            .where(Entry.id.in_(ids)))
    return {entry.id: _row(entry) for entry in found}


@dataclass(frozen=True)
class VersionRow:
    """One step of an entry's history: who changed it, when, why, and to which status."""

    version: int
    status: str
    reason: str
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class EntryDetail(EntryRow):
    """An entry's page: the list's fields, where it came from, its last change, and its
    history newest first."""

    source: Source
    updated_by: str
    updated_at: datetime
    versions: tuple[VersionRow, ...]


def entry_detail(ref: int | str, *, session: Session) -> EntryDetail:
    """The entry by id or key (`knowledge.repository.get_entry`'s rules); raises
    EntryNotFound when there is none."""
    entry = repository.get_entry(ref, session=session)
    versions = tuple(VersionRow(v.version, v.status, v.reason, v.changed_by, v.changed_at)
                     for v in reversed(repository.versions_of(entry.id, session=session)))
    row = _row(entry)
    return EntryDetail(**{f.name: getattr(row, f.name) for f in fields(EntryRow)},
                       source=entry.source, updated_by=entry.updated_by,
                       updated_at=entry.updated_at, versions=versions)
