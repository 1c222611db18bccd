"""Tickets: a question the bot could not answer, waiting for a person.

Every state change is appended to `ticket_events` (the audit trail). The SLA
clock starts when the ticket is opened, not when the chat started.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import Base, utcnow


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class Ticket(Base):
    __tablename__ = "tickets"
    # One open ticket per conversation: repeated requests join it.
    __table_args__ = (Index("ix_tickets_conversation_status", "conversation_id", "status"),)

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
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.OPEN.value, index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

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
