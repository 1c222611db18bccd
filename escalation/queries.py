"""What other packages read from escalation's tables, as plain values and frozen
dataclasses: the operator console calls these instead of querying `Ticket`, `TicketTimer`,
`InboundMessage` or `OutboxMessage`, so escalation can change its tables without breaking
a page (tests/escalation/test_queries_contract.py holds the contract). Each is one indexed
query bounded by its arguments.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, not_, or_, select, update
from sqlalchemy.orm import Session

from escalation.models import (
    DeliveryChannel,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketEvent,
    TicketStatus,
    TicketTimer,
)

__all__ = ["STALE_AFTER", "FailedMail", "HeldReply", "InboundMail", "InboundRow",
           "SiblingTicket", "TicketDetail", "TicketEventRow", "TicketFilter", "TicketRow",
           "failed_mails", "held_replies", "inbound_mail", "inbound_rows",
           "mark_failures_seen", "queue_tickets", "sibling_tickets", "status_counts",
           "ticket_detail", "unseen_failure_count", "warning_times"]

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


# -- the operator's queue and one ticket ---------------------------------------------------
# Open tickets overdue for longer than this (left over from a demo, or forgotten) no longer
# push today's tickets off the top of the queue: they are listed below them.
STALE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class TicketRow:
    """A ticket as a line of the queue: enough for its SLA colour and countdown. The
    fields are named after the columns they come from."""

    id: int
    question: str
    language: str
    category: str
    level: int  # as stored: 0 is the first level of the chain
    due_at: datetime
    breached: bool
    answered_at: datetime | None
    answered_by: str


@dataclass(frozen=True)
class TicketEventRow:
    """One line of a ticket's history."""

    kind: str
    detail: dict
    at: datetime


@dataclass(frozen=True)
class TicketDetail(TicketRow):
    """A ticket's page: the queue's fields, what the bot weighed, the answer and what
    became of it, and the history, oldest first."""

    status: TicketStatus
    conversation_id: str
    transcript: tuple[dict, ...]  # as stored: {"role", "text"}
    considered: tuple[dict, ...]  # as stored: {"entry_id", "score", ...}
    product_slug: str
    product_attribute: str
    opened_at: datetime
    sla_policy: str
    priority: str
    customer_email: str
    contact_consent: bool
    answer: str
    delivery_channel: DeliveryChannel
    learned_entry_id: int | None
    events: tuple[TicketEventRow, ...]


_ROW_COLUMNS = tuple(getattr(Ticket, f.name) for f in fields(TicketRow))
_DETAIL_COLUMNS = tuple(getattr(Ticket, f.name) for f in fields(TicketDetail)
                        if f.name != "events")


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets the queue lists; empty values mean "any"."""

    status: TicketStatus = TicketStatus.OPEN
    level: int | None = None  # as stored: 0 is the first level of the chain
    language: str = ""
    breached: bool | None = None  # SLA violated (flagged, or an open ticket past due)
    q: str = ""  # question text, customer email or ticket number


def _conditions(f: TicketFilter, now: datetime) -> list:
    """Everything but the status (the tabs count each status under the same filter)."""
    where = []
    if f.level is not None:
        where.append(Ticket.level == f.level)
    if f.language:
        where.append(Ticket.language == f.language)
    if f.breached is not None:
        late = or_(Ticket.breached.is_(True),
                   and_(Ticket.status == TicketStatus.OPEN, Ticket.due_at <= now))
        where.append(late if f.breached else not_(late))
    if f.q:
        found = [Ticket.question.icontains(f.q, autoescape=True),
                 Ticket.customer_email.icontains(f.q, autoescape=True)]
        number = f.q.lstrip("#").removeprefix("T").removeprefix("t")
        if number.isascii() and number.isdigit() and len(number) < 10:
            found.append(Ticket.id == int(number))
        where.append(or_(*found))
    return where


def _order(status: TicketStatus, now: datetime) -> tuple:
    """Open tickets: those due soonest first, overdue ones included, so the ticket to answer
    next is on top; tickets overdue for more than STALE_AFTER come after all of them, the
    most recently due first. Answered and closed ones: newest first."""
    if status != TicketStatus.OPEN:
        return (Ticket.id.desc(),)
    stale = Ticket.due_at < now - STALE_AFTER
    return (case((stale, 1), else_=0), case((stale, None), else_=Ticket.due_at),
            Ticket.due_at.desc(), Ticket.id)


def queue_tickets(f: TicketFilter, now: datetime, *, limit: int, session: Session
                  ) -> list[TicketRow]:
    """The tickets the filter selects, in the queue's order, at most `limit`."""
    rows = session.execute(select(*_ROW_COLUMNS)
                           .where(Ticket.status == f.status, *_conditions(f, now))
                           .order_by(*_order(f.status, now)).limit(limit))
    return [TicketRow(*row) for row in rows]


def status_counts(f: TicketFilter, now: datetime, *, session: Session
                  ) -> dict[TicketStatus, int]:
    """How many tickets of each status the filter selects, its own status aside (for the
    queue's tabs); every status is present."""
    counts = dict(session.execute(select(Ticket.status, func.count())
                                  .where(*_conditions(f, now)).group_by(Ticket.status)).all())
    return {status: counts.get(status, 0) for status in TicketStatus}


def ticket_detail(ticket_id: int, *, session: Session) -> TicketDetail | None:
    """One ticket with its history, or None when there is no such id; read from the
    database even when the session holds the ticket (an answer may have been written
    since, in the escalation services' own session)."""
    row = session.execute(select(*_DETAIL_COLUMNS).where(Ticket.id == ticket_id)).first()
    if row is None:
        return None
    events = session.execute(select(TicketEvent.kind, TicketEvent.detail, TicketEvent.at)
                             .where(TicketEvent.ticket_id == ticket_id)
                             .order_by(TicketEvent.id))
    values = row._asdict()
    return TicketDetail(**values | {
        "transcript": tuple(values["transcript"] or ()),
        "considered": tuple(values["considered"] or ()),
        "events": tuple(TicketEventRow(kind, detail, at) for kind, detail, at in events)})
