"""Rasa's own copy of the conversations: the SQL tracker store `supportbot run` gives the
Rasa server (a SQLite file, see `rasa_runtime.tracker_db_path`, or on PostgreSQL the
schema `rasa` of the product's database, see `rasa_stores`). GDPR export and erasure and
the retention purge reach it here, with SQLAlchemy on that store itself; nothing of Rasa is
imported (Rasa lives in its own virtualenv).

Rasa 3.6's `SQLTrackerStore` (here its subclass in rasa_project/serving, same table) keeps
one row per event in the table `events` (id, sender_id, type_name, timestamp as a float of
Unix seconds, intent_name, action_name, data as the event's JSON). It caches nothing
between messages: every message re-reads the conversation's rows, so deleted rows stay
deleted for a running server too. One window remains: while Rasa handles a message of
that very conversation (a fraction of a second) it holds the tracker in memory and then
writes that message's new events. Erase when the customer is not chatting, or run it
again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bot.conversation.rasa_runtime import tracker_db_path
from bot.conversation.rasa_stores import RASA_SCHEMA, is_postgres
from core import Settings

# The columns of Rasa 3.6's SQLTrackerStore.SQLEvent, as Rasa creates them.
_METADATA = sa.MetaData()
EVENTS = sa.Table(
    "events", _METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


@dataclass(frozen=True)
class TrackerStore:
    """A Rasa SQL tracker store: the SQLite file `path`, or the `schema` of the server
    database `url` (PostgreSQL). It may not exist (Rasa never ran, or ran with its
    in-memory store): then there is nothing in it, and `missing` says why."""

    path: Path | None = None
    url: str = ""
    schema: str = RASA_SCHEMA

    @classmethod
    def of(cls, settings: Settings) -> TrackerStore:
        """The store `supportbot run` configures for these settings."""
        url = settings.resolved_database_url
        return cls(url=url) if is_postgres(url) else cls(tracker_db_path(settings))

    @property
    def where(self) -> str:
        return f"the schema {self.schema!r} of the database" if self.url else str(self.path)

    @property
    def missing(self) -> str:
        """Why there is nothing to read, or "" when the store is there."""
        if not self.url and not (self.path and self.path.is_file()):
            return f"no Rasa tracker store at {self.where}"
        with self._engine() as engine:
            schema = self.schema if self.url else None
            if not sa.inspect(engine).has_table("events", schema=schema):
                return f"the Rasa tracker store at {self.where} has no events table"
        return ""

    def has_sender(self, sender_id: str) -> bool:
        if self.missing:
            return False
        with self._engine() as engine, engine.connect() as conn:
            return conn.scalar(sa.select(EVENTS.c.id).where(EVENTS.c.sender_id == sender_id)
                               .limit(1)) is not None

    def events_of(self, sender_ids: Iterable[str]) -> list[dict]:
        """The senders' events in the order Rasa wrote them."""
        senders = list(sender_ids)
        if self.missing or not senders:
            return []
        with self._engine() as engine, engine.connect() as conn:
            rows = conn.execute(sa.select(EVENTS).where(EVENTS.c.sender_id.in_(senders))
                                .order_by(EVENTS.c.id)).mappings().all()
        return [{"at": _iso(r["timestamp"]), "conversation": r["sender_id"],
                 "type": r["type_name"], "intent": r["intent_name"], "action": r["action_name"],
                 "data": _json(r["data"])} for r in rows]

    def erase(self, sender_ids: Iterable[str]) -> int:
        """Delete the senders' events; returns how many rows went."""
        senders = list(sender_ids)
        if self.missing or not senders:
            return 0
        with self._engine() as engine, engine.begin() as conn:
            if not self.url:
                conn.exec_driver_sql("PRAGMA secure_delete=ON")  # overwritten, not unlinked
            return conn.execute(sa.delete(EVENTS).where(EVENTS.c.sender_id.in_(senders))).rowcount

    def purge_before(self, cutoff: datetime) -> int:
        """Delete events older than `cutoff` (retention); returns how many rows went."""
        if self.missing:
            return 0
        with self._engine() as engine, engine.begin() as conn:
            return conn.execute(sa.delete(EVENTS).where(
                EVENTS.c.timestamp < cutoff.timestamp())).rowcount

    def _engine(self) -> _Engine:
        return _Engine(self.url, self.schema) if self.url else _Engine(f"sqlite:///{self.path}")


class _Engine:
    """A short-lived engine: the store belongs to the Rasa process, so no pool is kept open
    on it between calls. On SQLite the timeout waits out Rasa's own short write
    transactions; on a server database the `events` table is read in Rasa's schema."""

    def __init__(self, url: str, schema: str | None = None):
        self.base = sa.create_engine(url, poolclass=sa.pool.NullPool,
                                     connect_args={} if schema else {"timeout": 15})
        self.engine = (self.base.execution_options(schema_translate_map={None: schema})
                       if schema else self.base)

    def __enter__(self) -> sa.Engine:
        return self.engine

    def __exit__(self, *_exc) -> None:
        self.base.dispose()


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def _json(text: str | None):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
