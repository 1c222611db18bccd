"""Tables of the knowledge base.

An entry is one answer with many question variants. Every change to an entry's
content is copied into `entry_versions`; every change that affects the search
index is appended to `kb_changes`, whose highest `seq` is the KB version that the
FAISS sidecar records.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import Base, string_enum, utcnow


class Category(enum.StrEnum):
    PRE_PURCHASE = "pre_purchase"
    POST_PURCHASE = "post_purchase"
    GENERAL = "general"


class Status(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Source(enum.StrEnum):
    IMPORTED = "imported"
    OPERATOR = "operator"  # learned from an operator's answer to a ticket
    MANUAL = "manual"  # written in the console or the API


class Entry(Base):
    __tablename__ = "kb_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    answer: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), index=True)
    category: Mapped[Category] = mapped_column(string_enum(Category), default=Category.GENERAL)
    topic: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[Status] = mapped_column(string_enum(Status), default=Status.PUBLISHED,
                                           index=True)
    source: Mapped[Source] = mapped_column(string_enum(Source), default=Source.IMPORTED)
    source_ref: Mapped[str] = mapped_column(String(300), default="")
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    review_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # A learned answer kept as a draft because it contradicts this published entry, which
    # the knowledge base would have offered for its question (knowledge.learning).
    conflict_with: Mapped[int | None] = mapped_column(Integer, nullable=True)

    questions: Mapped[list[Question]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="Question.id"
    )


class Question(Base):
    """A question variant; its id is the vector id in the FAISS index."""

    __tablename__ = "kb_questions"
    __table_args__ = (UniqueConstraint("entry_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("kb_entries.id", ondelete="CASCADE"),
                                          index=True)
    text: Mapped[str] = mapped_column(Text)
    # sha1 of the normalised text: duplicate detection without indexing long strings
    fingerprint: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="questions")


class EntryVersion(Base):
    """A snapshot of an entry after each change: who, when, why, and the content."""

    __tablename__ = "kb_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("kb_entries.id", ondelete="CASCADE"),
                                          index=True)
    version: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(Text)
    questions: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # indexed: learning asks "was this ticket learned already?" by it (a restart after a crash)
    reason: Mapped[str] = mapped_column(String(300), default="", index=True)


class KBChange(Base):
    """Append-only feed of index-relevant changes; replicas replay it to stay in sync."""

    __tablename__ = "kb_changes"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# A change's seq is handed out when its row is written and becomes visible at the commit: on
# PostgreSQL two writers could commit out of seq order, and a replica that synced in between
# would reach the later seq and skip the earlier change for good. Writers of the feed take
# turns from their first change to their commit (SQLite lets one writer in at a time anyway).
FEED_WRITERS_LOCK = 0x5BFEED


@event.listens_for(KBChange, "before_insert")
def _feed_writers_take_turns(mapper, connection, target) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_WRITERS_LOCK})


class KBSetting(Base):
    """Values computed by the product itself, such as calibrated thresholds."""

    __tablename__ = "kb_settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CandidateStatus(enum.StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"  # now a question variant of its entry
    REJECTED = "rejected"  # an operator said no: never proposed again
    DROPPED = "dropped"  # its entry was retired or deleted


class CandidateVariant(Base):
    """A customer's question that their choices suggest is a way of asking an entry
    (knowledge.candidates): published as a variant after independent confirmations or an
    operator's approval."""

    __tablename__ = "kb_candidate_variants"
    __table_args__ = (UniqueConstraint("entry_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("kb_entries.id", ondelete="CASCADE"),
                                          index=True)
    question: Mapped[str] = mapped_column(Text)  # scrubbed as learned questions are
    fingerprint: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[CandidateStatus] = mapped_column(string_enum(CandidateStatus),
                                                    default=CandidateStatus.PENDING, index=True)
    # a thumbs-down on this (entry, question): only an operator can publish it now
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CandidateVote(Base):
    """One conversation's say on a candidate; one row per conversation and kind, so a flood
    of clicks from one chat counts once."""

    __tablename__ = "kb_candidate_votes"
    __table_args__ = (UniqueConstraint("candidate_id", "conversation_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("kb_candidate_variants.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "confirm" or "deny"
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
