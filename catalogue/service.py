"""The catalogue as the conversation uses it: `ProductDesk` answers a customer's product
question from the shop's data, or from a note an operator taught for that product.

The understanding needs an index of the catalogue (names, colours, sizes), built once per
catalogue version rather than per question. A question reads the version (one indexed
query) when `check_interval_s` has passed since the last read (the knowledge base's index
check interval, 0.2 s by default; 0: every question): a `supportbot catalogue import` run
in another process changes the answers within that interval, and the index is rebuilt by
the first question that sees the new version, under a lock, so concurrent questions never
build it twice. Notes are read from the database on each question that needs them (one
query by slug): an answer learned a second ago is used now, by every replica.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date

from catalogue.answers import ProductReply, cannot_say, reply
from catalogue.notes import Note, Particulars, match_note, notes_for
from catalogue.records import Product
from catalogue.repository import catalogue_version, load_products
from catalogue.understanding import CatalogueIndex, ProductQuestion, understand
from core import session_scope

log = logging.getLogger(__name__)

PAGE_PREFIX = "product:"


@dataclass(frozen=True, slots=True)
class ProductAnswer:
    """What the desk says of one question about an identified product."""

    question: ProductQuestion
    text: str | None  # the answer for the customer, None when nothing here answers it
    answered_by: str  # "catalogue", "note", or "" (text None)
    reason: str = ""  # ProductReply.reason: what the catalogue answered, or why it could not
    cannot_say: str = ""  # the honest sentence for the customer when an attribute went unanswered
    note_id: int | None = None

    @property
    def slug(self) -> str:
        return self.question.slug or ""

    @property
    def attribute(self) -> str:
        return self.question.attribute.value if self.question.attribute else ""


class ProductDesk:
    """Thread-safe: the index is an immutable object swapped under a lock."""

    def __init__(self, database_url: str, check_interval_s: float = 0.0):
        self.url = database_url
        self.check_interval_s = check_interval_s
        self._checked = float("-inf")  # monotonic time of the last version read
        self._lock = threading.Lock()
        # (version, index) swapped as one object: a reader never pairs one with the other's.
        self._state: tuple[int, CatalogueIndex] | None = None
        self.builds = 0  # how many times an index was built (tests, the benchmark)

    # -- the index, per catalogue version ---------------------------------------------------
    def current_index(self) -> CatalogueIndex:
        """The index of the catalogue as it is in the database (at most `check_interval_s`
        ago)."""
        state = self._state
        now = time.monotonic()
        if state is not None and now - self._checked < self.check_interval_s:
            return state[1]
        with session_scope(self.url) as session:
            version = catalogue_version(session=session)
        if state is not None and state[0] == version:
            self._checked = now
            return state[1]
        with self._lock:
            with session_scope(self.url) as session:
                # Read again under the lock: the version read above may predate an index
                # another question built meanwhile (a second build). The version before the
                # products: an import committed between the two reads leaves newer products
                # under an older version (rebuilt once more at the next question), never
                # older products under the newer version.
                version = catalogue_version(session=session)
                state = self._state
                stale = state is None or state[0] != version
                products = load_products(session=session) if stale else ()
            if stale:
                state = self._state = (version, self._build(products))
                log.info("catalogue version %s: index of %d product records", version,
                         len(products))
            self._checked = now
            return state[1]

    def _build(self, products: Sequence[Product]) -> CatalogueIndex:
        self.builds += 1
        return CatalogueIndex(products)

    def warm_up(self) -> None:
        self.current_index()

    # -- questions ----------------------------------------------------------------------
    def ask(self, text: str, language: str, page: str, today: date) -> ProductReply | None:
        """The catalogue's reply to a question about a product, or None when the text is not
        about a product (the FAQ's business)."""
        index = self.current_index()
        question = understand(text, language, page, index)
        if question is None:
            return None
        return reply(question, index, language, today)

    def consult(self, text: str, language: str, page: str, today: date) -> ProductAnswer | None:
        """The whole product path: None unless a product was identified; then the catalogue's
        answer, else a learned note's, else nothing (text None: an attribute the data does
        not cover, to escalate with `cannot_say`, or no attribute, for the FAQ)."""
        index = self.current_index()
        question = understand(text, language, page, index)
        if question is None or not question.slug or question.slug not in index:
            # No product, several equally named, or the page's product is gone (removed
            # while the customer was reading it): the FAQ's question.
            return None
        answer = reply(question, index, language, today) if question.attribute else None
        if answer is not None and answer.text:
            return ProductAnswer(question, answer.text, "catalogue", answer.reason)
        note = self._note(question, text, language, index)
        if note is not None:
            return ProductAnswer(question, note.answer, "note",
                                 answer.reason if answer else "", note_id=note.id)
        if answer is None:
            return ProductAnswer(question, None, "")
        return ProductAnswer(question, None, "", answer.reason, cannot_say(answer, language))

    def _note(self, question: ProductQuestion, text: str, language: str,
              index: CatalogueIndex) -> Note | None:
        with session_scope(self.url) as session:
            notes = notes_for(question.slug, session=session, language=language)
        if not notes:
            return None
        attribute = question.attribute.value if question.attribute else ""

        def particulars_of(note: Note) -> Particulars | None:
            # The note's question read as a question on its product's page.
            asked = understand(note.question, note.language, PAGE_PREFIX + note.slug, index)
            return _particulars(asked) if asked is not None and asked.slug == note.slug else None

        return match_note(notes, language=language, attribute=attribute,
                          particulars=_particulars(question), text=text,
                          particulars_of=particulars_of)


_NOT_PARTICULARS = ("slug", "attribute", "named")


def _particulars(question: ProductQuestion) -> Particulars:
    """Everything the understanding read beyond product and attribute (colour, size, inches,
    the object that should fit, the part asked about...), whatever fields it grows."""
    return tuple(str(getattr(question, f.name)).casefold() for f in fields(question)
                 if f.name not in _NOT_PARTICULARS)
