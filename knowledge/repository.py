"""Reading and writing entries. Every function takes the session as a keyword argument;
the caller owns the transaction.

Writers snapshot each change into `kb_entry_versions` and append the entry id to
`kb_changes`, the feed that keeps every replica's search index in step.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core import LANGUAGES, utcnow
from knowledge.errors import EntryNotFound, InvalidEntry
from knowledge.models import (
    Category,
    Entry,
    EntryVersion,
    KBChange,
    KBSetting,
    Question,
    Source,
    Status,
)
from knowledge.text import clean, fingerprint

MAX_ANSWER_CHARS = 20_000
MAX_VARIANT_CHARS = 1000


@dataclass(frozen=True)
class EntryDraft:
    """What a writer wants an entry to be; validated before it touches the database."""

    answer: str
    questions: tuple[str, ...]
    language: str
    key: str = ""
    category: str = Category.GENERAL.value
    topic: str = ""
    status: str = Status.PUBLISHED.value
    review_by: date | None = None
    source: str = Source.IMPORTED.value
    source_ref: str = ""
    ticket_id: int | None = None
    author: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def cleaned(self) -> EntryDraft:
        questions, seen = [], set()
        for q in self.questions:
            text = clean(q) if isinstance(q, str) else ""
            if text and fingerprint(text) not in seen:
                seen.add(fingerprint(text))
                questions.append(text)
        return replace(
            self,
            answer=clean_answer(self.answer) if isinstance(self.answer, str) else "",
            questions=tuple(questions),
            language=(self.language or "").strip().lower(),
            key=(self.key or "").strip(),
            category=(self.category or Category.GENERAL.value).strip().lower(),
            status=(self.status or Status.PUBLISHED.value).strip().lower(),
            topic=(self.topic or "").strip().lower()[:80],
        )


def clean_answer(text: str) -> str:
    """Like `clean` but keeps paragraph breaks, which answers use."""
    paragraphs = [clean(p) for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    return "\n\n".join(p for p in paragraphs if p)


def problems_of(draft: EntryDraft) -> list[str]:
    """Everything wrong with a (cleaned) draft, as sentences."""
    problems = []
    if not draft.answer:
        problems.append("the answer is empty")
    elif len(draft.answer) > MAX_ANSWER_CHARS:
        problems.append(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    if not draft.questions:
        problems.append("the entry has no questions")
    if any(len(q) > MAX_VARIANT_CHARS for q in draft.questions):
        problems.append(f"a question is longer than {MAX_VARIANT_CHARS} characters")
    if not draft.language:
        problems.append("the language is missing (add a language field or pass --language)")
    elif draft.language not in LANGUAGES:
        problems.append(f"unknown language {draft.language!r} (use one of {', '.join(LANGUAGES)})")
    if draft.category not in {c.value for c in Category}:
        problems.append(f"unknown category {draft.category!r} (use one of {_values(Category)})")
    if draft.status not in {s.value for s in Status}:
        problems.append(f"unknown status {draft.status!r} (use one of {_values(Status)})")
    if len(draft.key) > 200:
        problems.append("the key is longer than 200 characters")
    return problems


def _values(enum_cls) -> str:
    return ", ".join(m.value for m in enum_cls)


def make_key(language: str, question: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", question).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "entry"
    return f"{language}-{slug}-{fingerprint(question)[:6]}"


# -- writing ------------------------------------------------------------------------------
def create_entry(draft: EntryDraft, *, session: Session, reason: str = "created") -> Entry:
    draft = draft.cleaned()
    if problems := problems_of(draft):
        raise InvalidEntry("; ".join(problems))
    now = utcnow()
    entry = Entry(
        key=draft.key or make_key(draft.language, draft.questions[0]),
        answer=draft.answer,
        language=draft.language,
        category=Category(draft.category),
        topic=draft.topic,
        status=Status(draft.status),
        source=Source(draft.source),
        source_ref=draft.source_ref,
        ticket_id=draft.ticket_id,
        created_by=draft.author,
        created_at=now,
        updated_by=draft.author,
        updated_at=now,
        review_by=draft.review_by,
        version=1,
        questions=[Question(text=q, fingerprint=fingerprint(q), created_at=now)
                   for q in draft.questions],
    )
    session.add(entry)
    session.flush()
    _record(entry, session=session, by=draft.author, reason=reason)
    return entry


def update_entry(
    entry: Entry,
    *,
    session: Session,
    by: str,
    reason: str,
    answer: str | None = None,
    add_questions: tuple[str, ...] = (),
    remove_questions: tuple[str, ...] = (),
    status: str | None = None,
    category: str | None = None,
    topic: str | None = None,
    review_by: date | None = None,
) -> bool:
    """Apply the given changes; returns False (and records nothing) when nothing changed."""
    changed = False
    if answer is not None and clean_answer(answer) != entry.answer:
        if not clean_answer(answer):
            raise InvalidEntry("the answer is empty")
        entry.answer, changed = clean_answer(answer), True
    for attr, value, enum_cls in (("status", status, Status), ("category", category, Category)):
        if value is not None and value != getattr(entry, attr).value:
            if value not in {m.value for m in enum_cls}:
                raise InvalidEntry(f"unknown {attr} {value!r} (use one of {_values(enum_cls)})")
            setattr(entry, attr, enum_cls(value))
            changed = True
    if topic is not None and topic != entry.topic:
        entry.topic, changed = topic, True
    if review_by is not None and review_by != entry.review_by:
        entry.review_by, changed = review_by, True
    known = {q.fingerprint for q in entry.questions}
    for text in (clean(q) for q in add_questions):
        if text and fingerprint(text) not in known:
            if len(text) > MAX_VARIANT_CHARS:
                raise InvalidEntry(f"a question is longer than {MAX_VARIANT_CHARS} characters")
            entry.questions.append(Question(text=text, fingerprint=fingerprint(text)))
            known.add(fingerprint(text))
            changed = True
    drop = {fingerprint(q) for q in remove_questions}
    if drop & known:
        kept = [q for q in entry.questions if q.fingerprint not in drop]
        if not kept:
            raise InvalidEntry("an entry must keep at least one question")
        entry.questions[:] = kept
        changed = True
    if changed:
        entry.version += 1
        entry.updated_by, entry.updated_at = by, utcnow()
        session.flush()
        _record(entry, session=session, by=by, reason=reason)
    return changed


def _record(entry: Entry, *, session: Session, by: str, reason: str) -> None:
    session.add(
        EntryVersion(
            entry_id=entry.id,
            version=entry.version,
            answer=entry.answer,
            questions=[q.text for q in entry.questions],
            status=entry.status.value,
            category=entry.category.value,
            changed_by=by,
            reason=reason[:300],
        )
    )
    session.add(KBChange(entry_id=entry.id))


# -- reading ------------------------------------------------------------------------------
def published_entry(entry_id: int, *, session: Session) -> Entry | None:
    """The entry when it still exists and is published (what an operator may send), else None."""
    entry = session.get(Entry, entry_id)
    return entry if entry is not None and entry.status == Status.PUBLISHED else None


def entry_answering_with(answers: tuple[str, ...], language: str, *, session: Session
                         ) -> int | None:
    """The oldest published entry of `language` whose answer is one of `answers`, word for
    word: an operator who sends an entry's own answer says the question is that entry's."""
    return session.scalar(
        select(Entry.id).where(Entry.answer.in_(answers), Entry.language == language,
                               Entry.status == Status.PUBLISHED).order_by(Entry.id).limit(1))


def get_entry(ref: int | str, *, session: Session) -> Entry:
    """By numeric id or by key."""
    query = select(Entry).options(selectinload(Entry.questions))
    if isinstance(ref, str) and ref.isascii() and ref.isdigit() and len(ref) < 19:
        ref = int(ref)  # an id; anything else (keys, huge or non-ASCII numbers) is a key
    if isinstance(ref, int):
        entry = session.scalar(query.where(Entry.id == ref)) if 0 < ref < 2**63 else None
    else:
        entry = session.scalar(query.where(Entry.key == ref))
    if entry is None:
        raise EntryNotFound(f"No knowledge-base entry {ref!r}.")
    return entry


def find_by_questions(language: str, questions: tuple[str, ...], *,
                      session: Session) -> Entry | None:
    """An entry in `language` that already has one of these questions (import deduplication)."""
    prints = [fingerprint(q) for q in questions]
    return session.scalar(
        select(Entry)
        .join(Question)
        .where(Question.fingerprint.in_(prints), Entry.language == language)
        .limit(1)
    )


def list_entries(
    *,
    session: Session,
    status: str | None = None,
    language: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Entry]:
    query = select(Entry).options(selectinload(Entry.questions)).order_by(Entry.id)
    if status and status not in {s.value for s in Status}:
        raise InvalidEntry(f"unknown status {status!r} (use one of {_values(Status)})")
    if status:
        query = query.where(Entry.status == Status(status))
    if language:
        query = query.where(Entry.language == language)
    return list(session.scalars(query.limit(limit).offset(offset)))


def versions_of(entry_id: int, *, session: Session) -> list[EntryVersion]:
    query = (select(EntryVersion).where(EntryVersion.entry_id == entry_id)
             .order_by(EntryVersion.version))
    return list(session.scalars(query))


def kb_version(*, session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(KBChange.seq), 0))) or 0


def changed_since(seq: int, *, session: Session) -> set[int]:
    return set(session.scalars(select(KBChange.entry_id).where(KBChange.seq > seq)))


def searchable_variants(
    *, session: Session, entry_ids: set[int] | None = None
) -> list[tuple[int, int, str, str]]:
    """(variant id, entry id, text, language) of published entries, optionally a subset."""
    query = (
        select(Question.id, Question.entry_id, Question.text, Entry.language)
        .join(Entry)
        .where(Entry.status == Status.PUBLISHED)
        .order_by(Question.id)
    )
    if entry_ids is not None:
        query = query.where(Entry.id.in_(entry_ids))
    return [tuple(row) for row in session.execute(query)]


def question_texts(variant_ids: list[int], *, session: Session) -> dict[int, str]:
    rows = session.execute(select(Question.id, Question.text).where(Question.id.in_(variant_ids)))
    return {row[0]: row[1] for row in rows}


def entries_by_id(entry_ids: list[int], *, session: Session) -> dict[int, Entry]:
    return {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(entry_ids)))}


def learned_questions(limit: int, *, session: Session) -> list[tuple[int, str]]:
    """(entry id, the customer's question) of the latest published entries learned from an
    operator's answer: questions nothing in the KB answered at the time."""
    first = (select(Question.entry_id, func.min(Question.id).label("question_id"))
             .group_by(Question.entry_id).subquery())
    rows = session.execute(
        select(Entry.id, Question.text)
        .join(first, first.c.entry_id == Entry.id)
        .join(Question, Question.id == first.c.question_id)
        .where(Entry.source == Source.OPERATOR, Entry.status == Status.PUBLISHED)
        .order_by(Entry.id.desc()).limit(limit))
    return [(row[0], row[1]) for row in rows]


def stats(*, session: Session) -> dict:
    def by(col) -> dict:
        return {r[0]: r[1] for r in session.execute(select(col, func.count()).group_by(col))}

    return {
        "entries": session.scalar(select(func.count()).select_from(Entry)) or 0,
        "questions": session.scalar(select(func.count()).select_from(Question)) or 0,
        "by_status": {str(k): v for k, v in by(Entry.status).items()},
        "by_language": by(Entry.language),
        "by_category": {str(k): v for k, v in by(Entry.category).items()},
        "overdue_reviews": session.scalar(
            select(func.count()).select_from(Entry).where(
                Entry.review_by < date.today(), Entry.status == Status.PUBLISHED
            )
        ) or 0,
        "kb_version": kb_version(session=session),
    }


def get_setting(name: str, *, session: Session) -> dict | None:
    row = session.get(KBSetting, name)
    return None if row is None else row.value


def put_setting(name: str, value: dict, *, session: Session) -> None:
    row = session.get(KBSetting, name)
    if row is None:
        session.add(KBSetting(name=name, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
