"""Tickets: a question the bot could not answer, waiting for a person.

Every state change is appended to `ticket_events` (the audit trail). The SLA
clock starts when the ticket is opened, not when the chat started. Timers are rows
(`ticket_timers`) with a due time, claimed by the scheduler so each fires once even
with several replicas. Mail goes out through `outbox` and comes in as
`inbound_messages`, each recorded before anything acts on it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import Base, string_enum, utcnow


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class DeliveryChannel(enum.StrEnum):
    """How a ticket's answer reached the customer."""

    PENDING = ""  # not yet delivered
    CHAT = "chat"
    EMAIL = "email"
    CHAT_LATER = "chat_later"  # shown in the chat when the customer comes back
    NONE = "none"  # neither: no open chat and no email address


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # leased by a sender; back to due when the lease runs out
    SENT = "sent"
    FAILED = "failed"  # out of attempts: an operator sees it in the console


class InboundStatus(enum.StrEnum):
    """The verdict on a received mail."""

    RECEIVED = "received"  # recorded, not judged yet
    ACCEPTED = "accepted"  # an operator's answer to a ticket
    QUARANTINED = "quarantined"  # a person looks: a forged sender, a used token, ...
    IGNORED = "ignored"  # an auto-reply or a bounce
    DUPLICATE = "duplicate"  # a verdict only: the same Message-ID was recorded before


class Ticket(Base):
    __tablename__ = "tickets"
    # One open ticket per conversation: repeated requests join it.
    __table_args__ = (Index("ix_tickets_conversation_status", "conversation_id", "status"),
                      # covers the SLA and response-time figures of a period (analytics)
                      Index("ix_tickets_report", "opened_at", "answered_at", "due_at",
                            "language", "learned_entry_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128))
    question: Mapped[str] = mapped_column(Text)
    transcript: Mapped[list] = mapped_column(JSON, default=list)  # [{"role", "text"}]
    language: Mapped[str] = mapped_column(String(8), default="it")
    customer_email: Mapped[str] = mapped_column(String(320), default="")
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str] = mapped_column(String(20), default="general")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    reason: Mapped[str] = mapped_column(String(32), default="")  # kb_escalate, customer_request
    considered: Mapped[list] = mapped_column(JSON, default=list)  # KB entries the bot weighed
    # The catalogue product the question is about ("" for none) and the attribute asked:
    # the operator sees it, and the answer is learned for that product only.
    product_slug: Mapped[str] = mapped_column(String(200), default="", server_default="")
    product_attribute: Mapped[str] = mapped_column(String(20), default="", server_default="")
    status: Mapped[TicketStatus] = mapped_column(string_enum(TicketStatus, 16),
                                                 default=TicketStatus.OPEN, index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sla_policy: Mapped[str] = mapped_column(String(64), default="")
    level: Mapped[int] = mapped_column(Integer, default=0)  # position in the escalation chain
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(320), default="")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivery_channel: Mapped[DeliveryChannel] = mapped_column(
        string_enum(DeliveryChannel, 16), default=DeliveryChannel.PENDING)
    learned_entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # While set and in the future, a worker is delivering and learning the answer.
    finishing_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketEvent.id"
    )


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketTimer(Base):
    """A moment the SLA cares about: a warning before the deadline, the breach, the next
    escalation. `fired_at` is set in the same transaction as the timer's effects."""

    __tablename__ = "ticket_timers"
    __table_args__ = (Index("ix_ticket_timers_pending", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # warning, breach
    level: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    fired_by: Mapped[str] = mapped_column(String(64), default="")  # which scheduler process
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class OutboxMessage(Base):
    """An email to send. Written in the transaction that decides to send it, so a crash
    never loses it; `dedupe_key` stops the same decision from queueing it twice."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # escalation, reminder, breach, answer, notice
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    to_addrs: Mapped[list] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict] = mapped_column(JSON, default=dict)  # Reply-To, In-Reply-To, ...
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(string_enum(OutboxStatus, 16),
                                                 default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A failed mail stays in the console's alert until an operator has seen it.
    failure_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)


class InboundMessage(Base):
    """A received email, recorded before it is acted on; its Message-ID makes a second
    delivery of the same mail a no-op."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # smtp, imap, console
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(998), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    raw_path: Mapped[str] = mapped_column(String(500), default="")  # the message on disk
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    status: Mapped[InboundStatus] = mapped_column(string_enum(InboundStatus, 16),
                                                  default=InboundStatus.RECEIVED, index=True)
    reason: Mapped[str] = mapped_column(String(64), default="")  # why quarantined or ignored
    answer_text: Mapped[str] = mapped_column(Text, default="")
    envelope_from: Mapped[str] = mapped_column(String(320), default="")  # SMTP MAIL FROM
    # sha256 of the ticket token that admitted an accepted answer: each token answers once.
    answer_token: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True,
                                                     index=True)
