"""What other packages read from escalation's tables, as plain values and frozen
dataclasses: the operator console calls these instead of querying `TicketTimer`,
`InboundMessage` or its own selection of `Ticket` columns, so escalation can change its
tables without breaking a page (tests/escalation/test_queries_contract.py holds the
contract). Each is one indexed query bounded by its arguments.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from escalation.models import (
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketTimer,
)

__all__ = ["FailedMail", "HeldReply", "InboundMail", "InboundRow", "SiblingTicket",
           "failed_mails", "held_replies", "inbound_mail", "inbound_rows",
           "mark_failures_seen", "sibling_tickets", "unseen_failure_count", "warning_times"]

SIBLINGS_SHOWN = 50
QUESTION_SHOWN = 300  # characters of a sibling's question


@dataclass(frozen=True)
class SiblingTicket:
    """Another ticket of the same conversation: each question has its own ticket."""

    id: int
    status: str  # a TicketStatus value
    question: str  # the first QUESTION_SHOWN characters


@dataclass(frozen=True)
class HeldReply:
    """An email about a ticket that was not accepted as its answer (quarantined or ignored)."""

    id: int
    from_addr: str
    reason: str


@dataclass(frozen=True)
class FailedMail:
    """A mail that will never leave, as the console's outbox page lists it."""

    id: int
    created_at: datetime
    kind: str
    ticket_id: int | None
    to_addrs: tuple[str, ...]
    subject: str
    last_error: str
    attempts: int
    failure_seen_at: datetime | None


@dataclass(frozen=True)
class InboundRow:
    """A received email as the console's quarantine list shows it."""

    id: int
    received_at: datetime
    status: InboundStatus
    reason: str
    from_addr: str
    subject: str
    ticket_id: int | None


@dataclass(frozen=True)
class InboundMail(InboundRow):
    """One received email's page: the list's fields, how it came, and where it is on disk
    (the console reads the file only when it lies in the receiver's folder)."""

    source: str
    size: int
    raw_path: str


def warning_times(ticket_ids: Collection[int], *, session: Session
                  ) -> dict[tuple[int, int], datetime]:
    """{(ticket id, level): when the warning window of that level opens}, from the
    tickets' warning timers that were not cancelled."""
    if not ticket_ids:
        return {}
    rows = session.execute(select(TicketTimer.ticket_id, TicketTimer.level, TicketTimer.due_at)
                           .where(TicketTimer.ticket_id.in_(list(ticket_ids)),
                                  TicketTimer.kind == "warning",
                                  TicketTimer.cancelled.is_(False)))
    return {(tid, level): due for tid, level, due in rows}


def sibling_tickets(conversation_id: str, *, excluding: int, session: Session
                    ) -> list[SiblingTicket]:
    """The conversation's other tickets, oldest first, at most SIBLINGS_SHOWN."""
    rows = session.execute(select(Ticket.id, Ticket.status, Ticket.question)
                           .where(Ticket.conversation_id == conversation_id,
                                  Ticket.id != excluding)
                           .order_by(Ticket.id).limit(SIBLINGS_SHOWN))
    return [SiblingTicket(tid, status, question[:QUESTION_SHOWN])
            for tid, status, question in rows]


def held_replies(ticket_id: int, *, session: Session) -> list[HeldReply]:
    """Emails about the ticket that were not accepted, in the order they arrived."""
    rows = session.execute(select(InboundMessage.id, InboundMessage.from_addr,
                                  InboundMessage.reason)
                           .where(InboundMessage.ticket_id == ticket_id,
                                  InboundMessage.status != InboundStatus.ACCEPTED)
                           .order_by(InboundMessage.id))
    return [HeldReply(mid, from_addr, reason) for mid, from_addr, reason in rows]


def _unseen_failures():
    return (OutboxMessage.status == OutboxStatus.FAILED) & OutboxMessage.failure_seen_at.is_(None)


def unseen_failure_count(*, session: Session) -> int:
    """How many mails failed for good and no operator has seen yet (the console's banner)."""
    return session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(_unseen_failures())) or 0


def failed_mails(*, limit: int, session: Session) -> list[FailedMail]:
    """Failed mails, unseen ones first, newest first within each, at most `limit`."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.kind,
               OutboxMessage.ticket_id, OutboxMessage.to_addrs, OutboxMessage.subject,
               OutboxMessage.last_error, OutboxMessage.attempts, OutboxMessage.failure_seen_at)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.failure_seen_at.is_not(None), OutboxMessage.id.desc())
        .limit(limit))
    return [FailedMail(*row[:4], tuple(row.to_addrs or ()), *row[5:]) for row in rows]


def mark_failures_seen(*, now: datetime, session: Session) -> None:
    """An operator has read the failed mails: the banner goes until another one fails."""
    session.execute(update(OutboxMessage).where(_unseen_failures())
                    .values(failure_seen_at=now))


def inbound_rows(statuses: Collection[InboundStatus], *, limit: int, session: Session
                 ) -> list[InboundRow]:
    """Received emails in these states, newest first, at most `limit`."""
    rows = session.execute(
        select(InboundMessage.id, InboundMessage.received_at, InboundMessage.status,
               InboundMessage.reason, InboundMessage.from_addr, InboundMessage.subject,
               InboundMessage.ticket_id)
        .where(InboundMessage.status.in_(list(statuses)))
        .order_by(InboundMessage.id.desc()).limit(limit))
    return [InboundRow(*row) for row in rows]


def inbound_mail(message_id: int, *, session: Session) -> InboundMail | None:
    """One received email, or None when there is no such id."""
    row = session.execute(
        select(InboundMessage.id, InboundMessage.received_at, InboundMessage.status,
               InboundMessage.reason, InboundMessage.from_addr, InboundMessage.subject,
               InboundMessage.ticket_id, InboundMessage.source, InboundMessage.size,
               InboundMessage.raw_path)
        .where(InboundMessage.id == message_id)).first()
    return None if row is None else InboundMail(*row)
