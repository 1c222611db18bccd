"""One row per conversation, for BI tools: CSV (spreadsheet-safe) and Parquet.

Events are read in pages ordered by conversation, so an export of millions of logged
interactions holds one conversation in memory at a time, never the table.

Conversation ids are pseudonymised: a conversation id is a bearer secret (whoever presents
it talks as that customer in the chat), and the marketing export is read by people who
must not. The pseudonym is an HMAC of the id with the product's secret key: stable across
exports, so analysts can still group and join by conversation, and not reversible without
the key. The per-person GDPR export is separate and keeps the real ids.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent
from analytics.period import Filters, Period
from core import DecisionKind, as_utc, get_settings

PAGE = 5000
# A spreadsheet runs a cell starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ConversationRow:
    conversation_id: str
    started_at: datetime
    language: str = ""
    channel: str = ""
    page: str = ""
    questions: int = 0
    answered: int = 0
    clarified: int = 0
    escalated: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    handoffs: int = 0
    tickets: int = 0
    # the end-of-chat rating, 1-5; None (an empty cell, a null in Parquet) when the customer
    # gave none: a 0 would be averaged in by BI tools as the worst score
    rating: int | None = None
    first_question: str = ""


COLUMNS = tuple(f.name for f in fields(ConversationRow))


def pseudonym(conversation_id: str, key: bytes) -> str:
    digest = hmac.new(key, b"export-conversation:" + conversation_id.encode("utf-8", "replace"),
                      hashlib.sha256).hexdigest()
    return f"c-{digest[:24]}"


def conversation_rows(period: Period, filters: Filters, *, session: Session,
                      key: bytes | None = None) -> Iterator[ConversationRow]:
    """The conversations with events in the period (and filters), grouped by conversation;
    `conversation_id` is the pseudonym made with `key` (default: the product's secret)."""
    key = key if key is not None else get_settings().resolved_secret_key
    query = (select(InteractionEvent)
             .where(*period.covers(InteractionEvent.occurred_at),
                    *filters.conditions(InteractionEvent.language, InteractionEvent.channel))
             .order_by(InteractionEvent.conversation_id, InteractionEvent.id)
             .execution_options(yield_per=PAGE))
    row: ConversationRow | None = None
    current = None
    for event in session.scalars(query):
        if row is None or event.conversation_id != current:
            if row is not None:
                yield row
            current = event.conversation_id
            row = ConversationRow(pseudonym(current, key), as_utc(event.occurred_at))
        _add(row, event)
    if row is not None:
        yield row


def _add(row: ConversationRow, event: InteractionEvent) -> None:
    row.language = row.language or event.language
    row.channel = row.channel or event.channel
    row.page = row.page or event.page
    if event.kind == EventKind.MESSAGE:
        row.questions += 1
        row.first_question = row.first_question or event.text
        row.answered += event.decision == DecisionKind.ANSWER
        row.clarified += event.decision == DecisionKind.CLARIFY
        row.escalated += event.decision == DecisionKind.ESCALATE
    elif event.kind == EventKind.FEEDBACK:
        helpful = bool((event.data or {}).get("helpful"))
        row.thumbs_up += helpful
        row.thumbs_down += not helpful
    elif event.kind == EventKind.HANDOFF:
        row.handoffs += 1
    elif event.kind == EventKind.ESCALATION and not (event.data or {}).get("joined"):
        row.tickets += 1
    elif event.kind == EventKind.RATING:
        score = (event.data or {}).get("rating")
        row.rating = score if type(score) is int and 1 <= score <= 5 else row.rating


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would evaluate is prefixed with a quote; others unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(rows: Iterable[ConversationRow], out: TextIO) -> int:
    count = 0
    for text, written in _csv_chunks(rows, every=PAGE):
        out.write(text)
        count = written
    return count


def csv_chunks(rows: Iterable[ConversationRow], every: int = 500) -> Iterator[str]:
    """The CSV text (header first) in pieces of `every` rows, for a streamed download."""
    for text, _ in _csv_chunks(rows, every):
        yield text


def _csv_chunks(rows: Iterable[ConversationRow], every: int) -> Iterator[tuple[str, int]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        values = asdict(row)
        values["started_at"] = row.started_at.isoformat()
        writer.writerow([neutralise(values[name]) for name in COLUMNS])
        count += 1
        if count % every == 0:
            yield buffer.getvalue(), count
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue(), count


def write_parquet(rows: Iterable[ConversationRow], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, _arrow_type(pa, name)) for name in COLUMNS])
    count, batch = 0, []
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            batch.append(asdict(row))
            if len(batch) == PAGE:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


def _arrow_type(pa, name: str):
    if name == "started_at":
        return pa.timestamp("us", tz="UTC")
    kind = ConversationRow.__dataclass_fields__[name].type  # a string: annotations are lazy
    return pa.int64() if kind.startswith("int") else pa.string()  # int64 columns take nulls
