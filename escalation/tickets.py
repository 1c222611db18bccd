"""Opening tickets. A customer asking again while their ticket is open joins it
instead of opening a duplicate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import SupportBotError, utcnow
from core.faults import crash_point
from escalation.models import Ticket, TicketEvent, TicketStatus
from escalation.sla import SlaConfig
from escalation.timers import Notify, plan_timers

MAX_TRANSCRIPT_TURNS = 200
MAX_EMAIL = 320


class EscalationError(SupportBotError):
    """A ticket could not be opened as asked."""


@dataclass(frozen=True)
class TicketRequest:
    conversation_id: str
    question: str
    language: str
    reason: str  # "kb_escalate" or "customer_request"
    transcript: tuple[tuple[str, str], ...] = ()  # (role, text), oldest first
    customer_email: str = ""
    contact_consent: bool = False
    category: str = "general"
    priority: str = "normal"
    considered: tuple[dict, ...] = field(default=())  # {"entry_id", "key", "score"}


@dataclass(frozen=True)
class TicketInfo:
    id: int
    status: str
    due_at: datetime
    joined_existing: bool


def open_ticket(request: TicketRequest, *, session: Session, sla: SlaConfig, notify: Notify,
                now: datetime | None = None) -> TicketInfo:
    """Open a ticket for the conversation, or add the question to the one already open.
    A new ticket gets its SLA deadline and timers, and its first-level operators are
    notified, all in the caller's transaction: either all of it happens or none."""
    if not request.question.strip():
        raise EscalationError("a ticket needs the customer's question")
    if len(request.customer_email) > MAX_EMAIL:
        raise EscalationError("the email address is too long")
    existing = session.scalars(
        select(Ticket)
        .where(Ticket.conversation_id == request.conversation_id,
               Ticket.status == TicketStatus.OPEN.value)
        .order_by(Ticket.id)
        .limit(1)
    ).first()
    if existing is not None:
        _join(existing, request, session=session)
        return TicketInfo(existing.id, existing.status, existing.due_at, joined_existing=True)
    now = now or utcnow()
    ticket = Ticket(
        conversation_id=request.conversation_id,
        question=request.question,
        transcript=_transcript(request.transcript),
        language=request.language,
        customer_email=request.customer_email if request.contact_consent else "",
        contact_consent=request.contact_consent,
        category=request.category,
        priority=request.priority,
        reason=request.reason,
        considered=list(request.considered),
        opened_at=now,
        due_at=now,  # plan_timers sets the deadline from the policy
    )
    session.add(ticket)
    session.flush()
    session.add(TicketEvent(ticket_id=ticket.id, kind="opened", at=now,
                            detail={"reason": request.reason}))
    plan_timers(ticket, sla, session=session, now=now)
    level = sla.level(0)
    notify(ticket, "escalation", list(level.emails), session)
    session.add(TicketEvent(ticket_id=ticket.id, kind="notified", at=now,
                            detail={"level": level.name, "to": list(level.emails)}))
    session.flush()
    crash_point("after_ticket")
    return TicketInfo(ticket.id, ticket.status, ticket.due_at, joined_existing=False)


def _join(ticket: Ticket, request: TicketRequest, *, session: Session) -> None:
    if request.question != ticket.question:
        ticket.transcript = [*ticket.transcript, {"role": "customer", "text": request.question}][
            -MAX_TRANSCRIPT_TURNS:]
    if request.contact_consent and request.customer_email and not ticket.customer_email:
        ticket.customer_email, ticket.contact_consent = request.customer_email, True
    session.add(TicketEvent(ticket_id=ticket.id, kind="customer_followup",
                            detail={"question": request.question[:1000]}))
    session.flush()


def _transcript(turns: tuple[tuple[str, str], ...]) -> list[dict]:
    return [{"role": role, "text": text[:4000]} for role, text in turns[-MAX_TRANSCRIPT_TURNS:]]


def open_ticket_of(conversation_id: str, *, session: Session) -> Ticket | None:
    return session.scalars(
        select(Ticket).where(Ticket.conversation_id == conversation_id,
                             Ticket.status == TicketStatus.OPEN.value)
    ).first()


def answered_awaiting_delivery(conversation_id: str, *, session: Session) -> Ticket | None:
    return session.scalars(
        select(Ticket).where(Ticket.conversation_id == conversation_id,
                             Ticket.status == TicketStatus.ANSWERED.value,
                             Ticket.delivered_at.is_(None))
        .order_by(Ticket.id.desc()).limit(1)
    ).first()


def take_undelivered_answers(conversation_id: str, *, session: Session) -> list[Ticket]:
    """Answers that reached neither the live chat nor an inbox: the customer's chat is open
    again on the same device, so they are handed over now and recorded as delivered."""
    tickets = list(session.scalars(
        select(Ticket).where(Ticket.conversation_id == conversation_id, Ticket.answer != "",
                             Ticket.delivered_at.is_(None), Ticket.delivery_channel == "none")
        .order_by(Ticket.id).with_for_update()))
    now = utcnow()
    for ticket in tickets:
        ticket.delivered_at, ticket.delivery_channel = now, "chat_later"
        session.add(TicketEvent(ticket_id=ticket.id, kind="delivered", at=now,
                                detail={"channel": "chat_later"}))
    session.flush()
    return tickets
