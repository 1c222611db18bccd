"""Writing to and reading from the interaction log."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent

MAX_TEXT = 2000  # the log keeps what was asked, not a 20,000-character paste


@dataclass(frozen=True)
class Interaction:
    """One thing that happened in a conversation, as the bot hands it to the log."""

    kind: EventKind
    conversation_id: str
    channel: str = ""
    language: str = ""
    page: str = ""
    text: str = ""
    decision: str = ""
    entry_id: int | None = None
    score: float | None = None
    latency_ms: float | None = None
    data: dict = field(default_factory=dict)


def _safe(value: str, limit: int) -> str:
    """What any database stores: no NUL bytes (PostgreSQL refuses them), no lone surrogates."""
    return value[:limit].replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def record(interaction: Interaction, *, session: Session) -> InteractionEvent:
    row = InteractionEvent(
        kind=interaction.kind.value,
        conversation_id=_safe(interaction.conversation_id, 128),
        channel=_safe(interaction.channel, 32),
        language=_safe(interaction.language, 8),
        page=_safe(interaction.page, 300),
        text=_safe(interaction.text, MAX_TEXT),
        decision=interaction.decision,
        entry_id=interaction.entry_id,
        score=interaction.score,
        latency_ms=interaction.latency_ms,
        data=interaction.data,
    )
    session.add(row)
    session.flush()
    return row


def events_of(conversation_id: str, *, session: Session, kind: EventKind | None = None
              ) -> list[InteractionEvent]:
    query = select(InteractionEvent).where(InteractionEvent.conversation_id == conversation_id)
    if kind is not None:
        query = query.where(InteractionEvent.kind == kind.value)
    return list(session.scalars(query.order_by(InteractionEvent.id)))


def has_events(conversation_id: str, *, session: Session) -> bool:
    query = select(InteractionEvent.id).where(InteractionEvent.conversation_id == conversation_id)
    return session.scalars(query.limit(1)).first() is not None


def recent_questions(*, session: Session, limit: int = 2000) -> list[str]:
    """The latest questions customers asked the knowledge base (newest first): the sample
    from which the share of questions it cannot answer is estimated."""
    query = (select(InteractionEvent.text)
             .where(InteractionEvent.kind == EventKind.MESSAGE.value, InteractionEvent.decision != "")
             .order_by(InteractionEvent.id.desc()).limit(limit))
    return [t for t in session.scalars(query) if t]
