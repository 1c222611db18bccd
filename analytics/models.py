"""The append-only interaction log. Rows are written once and never changed:
metrics and trends are computed from it, so an edit would rewrite history."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, Float, Index, Integer, LargeBinary, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from core import Base, utcnow


class EventKind(enum.StrEnum):
    CONVERSATION_START = "conversation_start"
    CONVERSATION_END = "conversation_end"  # the customer said goodbye or closed the chat
    MESSAGE = "message"  # a customer question and the bot's decision
    CHOICE = "choice"  # the customer picked one of the clarify buttons
    FEEDBACK = "feedback"  # thumbs up/down on an answer
    RATING = "rating"  # the end-of-chat 1-5 rating, data {"rating": n, "comment": "..."}
    HANDOFF = "handoff"  # the customer asked for a person
    ESCALATION = "escalation"  # a ticket was opened (or joined) for the conversation
    RATE_LIMITED = "rate_limited"
    INVALID = "invalid"  # a message the bot could not search (empty, too long)
    ERROR = "error"  # the bot failed to handle a message


class InteractionEvent(Base):
    __tablename__ = "interaction_events"
    __table_args__ = (Index("ix_interaction_events_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    page: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(16), default="")
    entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change a logged interaction."""


@event.listens_for(InteractionEvent, "before_update")
def _refuse_update(_mapper, _connection, target: InteractionEvent) -> None:
    raise AppendOnlyViolation(f"interaction event {target.id} is append-only")


@event.listens_for(InteractionEvent, "before_delete")
def _refuse_delete(_mapper, _connection, target: InteractionEvent) -> None:
    raise AppendOnlyViolation(f"interaction event {target.id} is append-only")


# -- derived tables -----------------------------------------------------------------------
# Rebuilt from the log by analytics.insights.refresh; deleting them loses nothing. The
# dashboard reads them instead of classifying or embedding a question while a page waits.
class QuestionInsight(Base):
    """What marketing wants to know of one customer question (one `message` event): its
    purchase stage, its topic and the product or category page it was asked on. Language,
    channel, time and decision are copied from the event so the dashboard filters here."""

    __tablename__ = "question_insights"
    __table_args__ = (Index("ix_question_insights_topic", "topic_id", "day"),
                      Index("ix_question_insights_stage", "stage", "day"))

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date, index=True)  # local day (REPORT_TIMEZONE)
    language: Mapped[str] = mapped_column(String(8), default="")
    channel: Mapped[str] = mapped_column(String(32), default="")
    decision: Mapped[str] = mapped_column(String(16), default="")
    stage: Mapped[str] = mapped_column(String(16))  # pre_purchase, post_purchase, other
    stage_confidence: Mapped[float] = mapped_column(Float)
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subject_kind: Mapped[str] = mapped_column(String(16), default="")  # product, category, cart, ...
    subject: Mapped[str] = mapped_column(String(200), default="")  # the product or category slug


class QuestionTopic(Base):
    """A topic found by clustering questions; the rows of the newest `run` are current."""

    __tablename__ = "question_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    run: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    embedder: Mapped[str] = mapped_column(String(100))
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    examples: Mapped[list] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(Integer)  # questions it was found from
    centroid: Mapped[bytes] = mapped_column(LargeBinary)  # float32, unit length
