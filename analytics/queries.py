"""What other packages read from the interaction log. They call these functions instead of
querying `InteractionEvent` themselves, so the log's columns can change here without
breaking a reader elsewhere (tests/analytics/test_queries_contract.py holds the contract).

Each function is one query on a conversation's events, served by the index on
(conversation_id, id); none loads more than `CONTEXT_EVENTS` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.models import EventKind
from analytics.models import InteractionEvent as E
from core import as_utc

__all__ = ["CONTEXT_EVENTS", "ConversationContext", "asked_a_question", "conversation_context",
           "last_activity_at"]

CONTEXT_EVENTS = 200  # the latest events say the conversation's language, channel and page


@dataclass(frozen=True)
class ConversationContext:
    """Where a conversation stands: the latest known language, channel and page ("" when
    none of its latest events recorded one) and the kind of its latest event ("" when it
    has none)."""

    language: str
    channel: str
    page: str
    last_kind: str


def last_activity_at(conversation_id: str, *, session: Session) -> datetime | None:
    """When the conversation's latest event happened (UTC), None when it has none."""
    last = session.scalars(select(E.occurred_at).where(E.conversation_id == conversation_id)
                           .order_by(E.id.desc()).limit(1)).first()
    return None if last is None else as_utc(last)


def conversation_context(conversation_id: str, *, session: Session) -> ConversationContext:
    """The conversation's context from its latest `CONTEXT_EVENTS` events."""
    rows = session.execute(select(E.kind, E.language, E.channel, E.page)
                           .where(E.conversation_id == conversation_id)
                           .order_by(E.id.desc()).limit(CONTEXT_EVENTS)).all()

    def latest(column: int) -> str:
        return next((row[column] for row in rows if row[column]), "")

    return ConversationContext(latest(1), latest(2), latest(3), rows[0][0] if rows else "")


def asked_a_question(conversation_id: str, *, session: Session) -> bool:
    """Whether the customer asked anything in the conversation (a `message` event)."""
    asked = session.scalars(select(E.id).where(E.conversation_id == conversation_id,
                                               E.kind == EventKind.MESSAGE.value)
                            .limit(1)).first()
    return asked is not None
