"""The append-only interaction log (rows are written once and never changed: metrics and
trends are computed from it, so an edit would rewrite history), and the tables derived
from it for the dashboard: question labels, topics and daily figures."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    event,
)
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
    __table_args__ = (Index("ix_interaction_events_conversation", "conversation_id", "id"),
                      # reports read one kind over a period: thumbs, ratings, starts
                      Index("ix_interaction_events_kind_time", "kind", "occurred_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                  index=True)
    kind: Mapped[str] = mapped_column(String(32))
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
# Computed from the log by analytics.insights and analytics.rollup. The dashboard reads them
# instead of classifying, embedding or following a conversation while a page waits.
class QuestionInsight(Base):
    """What marketing wants to know of one customer question (one `message` event): its
    purchase stage, its topic and the product or category page it was asked on; and what
    became of it (answered, escalated, disliked: as analytics.metrics.Summary defines them),
    fixed once its conversation has moved on. Language, channel, time, decision and entry
    are copied from the event, so the dashboard reads one row per question and no join."""

    __tablename__ = "question_insights"
    # Each index covers the columns its page groups by, so no table row is read for them.
    __table_args__ = (Index("ix_question_insights_topic", "topic_id", "day", "decision", "stage"),
                      Index("ix_question_insights_stage", "stage", "day", "subject_kind",
                            "subject"),
                      # covers the question rankings: no row is read to group by text
                      Index("ix_question_insights_day", "day", "language", "channel",
                            "text_key", "decision", "escalated", "disliked"),
                      # newest first, page by page (analytics.dashboard.questions)
                      Index("ix_question_insights_day_event", "day", "event_id"))

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)  # local day (the time_zone setting)
    language: Mapped[str] = mapped_column(String(8), default="")
    channel: Mapped[str] = mapped_column(String(32), default="")
    decision: Mapped[str] = mapped_column(String(16), default="")
    entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    disliked: Mapped[bool] = mapped_column(Boolean, default=False)
    # 64-bit hash of the normalised text: the same question however it was typed
    text_key: Mapped[int] = mapped_column(BigInteger, default=0)
    stage: Mapped[str] = mapped_column(String(16))  # pre_purchase, post_purchase, other
    stage_confidence: Mapped[float] = mapped_column(Float)
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # product, category, cart, ...
    subject_kind: Mapped[str] = mapped_column(String(16), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")  # the product or category slug


class QuestionTopic(Base):
    """A topic found by clustering questions; the newest ready `run` is the current one."""

    __tablename__ = "question_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    run: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    embedder: Mapped[str] = mapped_column(String(100))
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    # the question nearest the centre, preferably in Italian (the dashboard's language):
    # a readable name where keywords mix languages ("black, friday, gdpr")
    name: Mapped[str] = mapped_column(String(300), default="")
    examples: Mapped[list] = mapped_column(JSON, default=list)  # asked often, near the centre
    size: Mapped[int] = mapped_column(Integer)  # questions it was found from
    centroid: Mapped[bytes] = mapped_column(LargeBinary)  # float32, unit length
    # False while the labelled questions are being moved to this run's topics; the
    # dashboard shows the newest ready run (analytics.insights)
    ready: Mapped[bool] = mapped_column(Boolean, default=False)


class DailyFigures(Base):
    """The additive key figures of one local day, per language and channel
    (analytics.rollup): a year on the dashboard sums a few thousand rows instead of
    following a million events. Written once the day is over and its questions labelled."""

    __tablename__ = "daily_figures"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    deflected: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    clarified: Mapped[int] = mapped_column(Integer, default=0)
    learned_reuse: Mapped[int] = mapped_column(Integer, default=0)
    thumbs_up: Mapped[int] = mapped_column(Integer, default=0)
    thumbs_down: Mapped[int] = mapped_column(Integer, default=0)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    # the bot's decisions, for the volume chart (a clarify decision is `clarified`)
    decided_answer: Mapped[int] = mapped_column(Integer, default=0)
    decided_escalate: Mapped[int] = mapped_column(Integer, default=0)
    rating_1: Mapped[int] = mapped_column(Integer, default=0)  # end-of-chat ratings per score
    rating_2: Mapped[int] = mapped_column(Integer, default=0)
    rating_3: Mapped[int] = mapped_column(Integer, default=0)
    rating_4: Mapped[int] = mapped_column(Integer, default=0)
    rating_5: Mapped[int] = mapped_column(Integer, default=0)


class RolledUpDay(Base):
    """A day whose `DailyFigures` are written (a day with no traffic has no figure rows)."""

    __tablename__ = "rolled_up_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rolled_up_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TopicOverride(Base):
    """A name marketing gave a topic, or two topics merged into one (analytics.topic_names).
    Topics are found again every week under new ids, so an override is keyed by the centre
    of the topic it was made on: each run's topic nearest that centre inherits it."""

    __tablename__ = "topic_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "name" or "merge"
    embedder: Mapped[str] = mapped_column(String(100))  # centres of other embedders never match
    centroid: Mapped[bytes] = mapped_column(LargeBinary)  # the topic named, or merged away
    target: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # merge: the one kept
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")


class InsightRound(Base):
    """When the question labels were last refreshed, and what was left waiting: the
    dashboard tells an empty page's reader why it is empty and when it will fill."""

    __tablename__ = "insight_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                  index=True)
    labelled: Mapped[int] = mapped_column(Integer, default=0)
    waiting: Mapped[int] = mapped_column(Integer, default=0)  # logged, not yet settled
