"""Learned product-specific answers: what an operator answered to a question about one
product that the catalogue could not answer, kept as a note attached to that product.

Why not a knowledge-base entry: the knowledge base answers by similarity of wording, and
"does a 15-inch laptop fit in the Aurora bag" reads almost like the same question about
any other bag; a live run saw one answer learned for one product answer 11 of 20
questions about other products. A note is looked up by the product's slug first, so it
can never answer a question about another product.

When a note answers (`match_note`): same product (the caller only passes that product's
notes), same language (the operator wrote in the customer's language), and either
- the question asks the same attribute with the same particulars (colour, size, inches,
  the object that should fit) as the note's own question, as the catalogue's
  understanding reads both: the note that says "it comes back in March" for the camel
  colour says nothing of the black one; or
- the question is a near-copy of the note's question (`NEAR_COPY`: a difflib ratio of
  the normalised texts, which tolerates a typo or a dropped word but not another
  object, nor another number, nor other particulars): how a note learned for a question
  without a recognised attribute answers.
The newest matching note wins (an operator's later answer corrects an earlier one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogue.models import ProductNote
from catalogue.records import Attribute
from core import SupportBotError, as_utc, utcnow

MAX_SLUG = 200
MAX_QUESTION = 4000
MAX_ANSWER = 20_000
MAX_NOTES_PER_PRODUCT = 200  # newest first; an older note than these is never consulted
NEAR_COPY = 0.9
STATUSES = ("published", "draft", "withdrawn")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_NOT_WORD = re.compile(r"[^\w]+")
_NUMBER = re.compile(r"\d+")


class NoteError(SupportBotError):
    """A note that cannot be stored as given."""


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    slug: str
    language: str
    attribute: str  # an Attribute value, or "" when the question named none
    question: str
    answer: str
    ticket_id: int | None = None
    status: str = "published"
    created_at: datetime | None = None


def _of(row: ProductNote) -> Note:
    return Note(row.id, row.slug, row.language, row.attribute or "", row.question, row.answer,
                row.ticket_id, row.status, as_utc(row.created_at) if row.created_at else None)


def _plain(text: object, limit: int, what: str) -> str:
    if not isinstance(text, str):
        raise NoteError(f"the note's {what} must be text")
    cleaned = _CONTROL.sub(" ", text).strip()
    if not cleaned:
        raise NoteError(f"the note's {what} is empty")
    if len(cleaned) > limit:
        raise NoteError(f"the note's {what} is too long ({len(cleaned)} characters; the limit "
                        f"is {limit})")
    return cleaned


def add_note(*, session: Session, slug: str, language: str, attribute: str, question: str,
             answer: str, ticket_id: int | None = None, status: str = "published") -> Note:
    """Store a note (in the caller's transaction). A ticket teaches once: a second call for
    the same ticket (a worker resuming after a crash) returns the note stored the first time."""
    slug = _plain(slug, MAX_SLUG, "product")
    language = _plain(language, 8, "language")
    attribute = attribute or ""
    if attribute and attribute not in Attribute.__members__.values():
        raise NoteError(f"unknown product attribute {attribute!r}")
    if status not in STATUSES:
        raise NoteError(f"unknown note status {status!r}")
    question = _plain(question, MAX_QUESTION, "question")
    answer = _plain(answer, MAX_ANSWER, "answer")
    if ticket_id is not None:
        before = session.scalars(select(ProductNote).where(ProductNote.ticket_id == ticket_id)
                                 .order_by(ProductNote.id).limit(1)).first()
        if before is not None:
            return _of(before)
    row = ProductNote(slug=slug, language=language, attribute=attribute, question=question,
                      answer=answer, ticket_id=ticket_id, status=status, created_at=utcnow())
    session.add(row)
    session.flush()
    return _of(row)


def notes_for(slug: str, *, session: Session, language: str | None = None,
              status: str = "published") -> list[Note]:
    """One product's notes, newest first (one indexed query: run on product questions)."""
    query = select(ProductNote).where(ProductNote.slug == slug[:MAX_SLUG],
                                      ProductNote.status == status)
    if language is not None:
        query = query.where(ProductNote.language == language)
    rows = session.scalars(query.order_by(ProductNote.id.desc()).limit(MAX_NOTES_PER_PRODUCT))
    return [_of(row) for row in rows]


def note_of_ticket(ticket_id: int, *, session: Session) -> Note | None:
    row = session.scalars(select(ProductNote).where(ProductNote.ticket_id == ticket_id)
                          .order_by(ProductNote.id).limit(1)).first()
    return _of(row) if row is not None else None


def set_status(note_id: int, status: str, *, session: Session) -> Note:
    """Publish a draft (learned under review) or withdraw a wrong note."""
    if status not in STATUSES:
        raise NoteError(f"unknown note status {status!r}")
    row = session.get(ProductNote, note_id)
    if row is None:
        raise NoteError(f"note {note_id} does not exist")
    row.status = status
    session.flush()
    return _of(row)


def normalised(text: str) -> str:
    """Case, accents, punctuation and spacing ignored: the form near-copies are compared in."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", text).split())


def near_copy(a: str, b: str) -> bool:
    """Nearly the same words and exactly the same numbers ("13 pollici" is not "15 pollici",
    however alike the rest reads)."""
    a, b = normalised(a), normalised(b)
    if not (a and b) or _NUMBER.findall(a) != _NUMBER.findall(b):
        return False
    return a == b or SequenceMatcher(None, a, b).ratio() >= NEAR_COPY


# What a question asks beyond its attribute (colour, size, laptop inches, the object that
# should fit...): compared for equality only.
Particulars = tuple[object, ...]


def match_note(notes: Sequence[Note], *, language: str, attribute: str, particulars: Particulars,
               text: str, particulars_of: Callable[[Note], Particulars | None]) -> Note | None:
    """The note that answers this question about the notes' product, or None (see the
    module's docstring for the rule). `particulars_of` reads a note's own question."""
    for note in notes:  # newest first
        if note.language != language or note.status != "published":
            continue
        if attribute and note.attribute == attribute and particulars_of(note) == particulars:
            return note
        if near_copy(note.question, text) and particulars_of(note) == particulars:
            return note
    return None
