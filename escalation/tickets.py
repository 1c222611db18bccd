"""Opening tickets: one per question the bot promised to pass on to a person.

A conversation may hold several open tickets. Each has its own operator mail, token and
answer, so an operator's reply closes exactly the question it answers and the knowledge
base learns one question with one answer. Asking the same question again while it is
open is the same ticket (a retry, or an impatient customer), not a new one.

Everything stored here may have come from a stranger (the chat is public): the address is
validated, sizes are capped, control characters dropped. This module is the last line of
defence, whatever its callers checked before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import SupportBotError, utcnow
from core.faults import crash_point
from escalation.models import DeliveryChannel, Ticket, TicketEvent, TicketStatus
from escalation.sla import SlaConfig
from escalation.timers import Notify, plan_timers

MAX_TRANSCRIPT_TURNS = 60
MAX_TURN_CHARS = 2000
MAX_QUESTION_CHARS = 4000
MAX_EMAIL = 320
MAX_CONSIDERED = 10
MAX_CLOSE_REASON = 500
# A conversation with this many open questions gets no new ticket until one is answered:
# it bounds what one conversation id can make the operators read.
MAX_OPEN_PER_CONVERSATION = 10
# C0/C1 controls but tab and newline, which a question may legitimately hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # in an address: none at all


class EscalationError(SupportBotError):
    """A ticket could not be opened as asked."""


class TooManyOpenTickets(EscalationError):
    """The conversation already waits for MAX_OPEN_PER_CONVERSATION answers."""


@dataclass(frozen=True)
class ConsideredEntry:
    """A knowledge-base entry the bot weighed before escalating: the operator sees it (with
    a code to pick it in the mail) and the ticket takes the closest one's category."""

    entry_id: int
    key: str
    score: float
    category: str = "general"


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
    considered: tuple[ConsideredEntry, ...] = field(default=())  # the closest first
    product_slug: str = ""  # the catalogue product asked about: its answer is learned for it
    product_attribute: str = ""


@dataclass(frozen=True)
class TicketInfo:
    id: int
    status: str
    due_at: datetime
    joined_existing: bool  # the same question was already open: no new ticket
    has_contact: bool = False  # the answer may also go by email


def valid_email(address: str) -> str:
    """The normalised address, or EscalationError: a header-breaking or malformed address
    must never reach a ticket (the outbox would have to send to it)."""
    if not isinstance(address, str) or len(address) > MAX_EMAIL or _UNSAFE.search(address):
        raise EscalationError("the email address is not valid")
    try:
        return validate_email(address.strip(" "), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise EscalationError(f"the email address is not valid: {exc}") from None


def plain(text: str, limit: int) -> str:
    return _CONTROL.sub("", text or "").strip()[:limit]


def open_ticket(request: TicketRequest, *, session: Session, sla: SlaConfig, notify: Notify,
                now: datetime | None = None) -> TicketInfo:
    """Open a ticket for this question (or find the open one with the same question). A new
    ticket gets its SLA deadline and timers, and its first-level operators are notified,
    all in the caller's transaction: either all of it happens or none."""
    question = plain(request.question, MAX_QUESTION_CHARS)
    if not question:
        raise EscalationError("a ticket needs the customer's question")
    if not request.conversation_id or len(request.conversation_id) > 128:
        raise EscalationError("a ticket needs a conversation id of at most 128 characters")
    email = valid_email(request.customer_email) if request.customer_email else ""
    open_now = open_tickets_of(request.conversation_id, session=session)
    # The same words about another product ("in black?" on two pages) are another question.
    product = plain(request.product_slug, 200)
    same = next((t for t in open_now if _key(t.question) == _key(question)
                 and (t.product_slug or "") == product), None)
    if same is not None:
        return TicketInfo(same.id, same.status, same.due_at, True, _has_contact(same))
    if len(open_now) >= MAX_OPEN_PER_CONVERSATION:
        raise TooManyOpenTickets("this conversation already waits for many answers")
    if not (email and request.contact_consent):
        # A contact given for an earlier question of the conversation covers this one too.
        email = contact_of(request.conversation_id, session=session)
    now = now or utcnow()
    ticket = Ticket(
        conversation_id=request.conversation_id, question=question,
        transcript=_transcript(request.transcript), language=plain(request.language, 8) or "it",
        customer_email=email, contact_consent=bool(email),
        category=plain(request.category, 20) or "general",
        priority=plain(request.priority, 16) or "normal", reason=plain(request.reason, 32),
        considered=_considered(request.considered), opened_at=now,
        product_slug=product,
        product_attribute=plain(request.product_attribute, 20),
        due_at=now,  # plan_timers sets the deadline from the policy
    )
    session.add(ticket)
    session.flush()
    session.add(TicketEvent(ticket_id=ticket.id, kind="opened", at=now,
                            detail={"reason": ticket.reason}))
    plan_timers(ticket, sla, session=session, now=now)
    level = sla.level(0)
    notify(ticket, "escalation", list(level.emails), session)
    session.add(TicketEvent(ticket_id=ticket.id, kind="notified", at=now,
                            detail={"level": level.name, "to": list(level.emails)}))
    session.flush()
    crash_point("after_ticket")
    return TicketInfo(ticket.id, ticket.status, ticket.due_at, False, bool(email))


def add_contact(conversation_id: str, email: str, *, session: Session) -> list[int]:
    """The customer agreed to get their answers by email too: every open ticket of the
    conversation without a contact gets this address. Returns their ids."""
    address = valid_email(email)
    tickets = [t for t in open_tickets_of(conversation_id, session=session, lock=True)
               if not _has_contact(t)]
    for ticket in tickets:
        ticket.customer_email, ticket.contact_consent = address, True
        # The address itself stays out of the audit trail: one place to erase it.
        session.add(TicketEvent(ticket_id=ticket.id, kind="contact_added", detail={}))
    session.flush()
    return [t.id for t in tickets]


def close_unanswered(ticket_id: int, operator: str, reason: str, *, session: Session,
                     now: datetime | None = None) -> None:
    """An operator closes a question without answering it (a duplicate, not a question),
    saying why; nothing is sent or learned. Only an open ticket can be closed this way."""
    from escalation.timers import cancel_timers

    why = plain(reason, MAX_CLOSE_REASON)
    if not why:
        raise EscalationError("closing without an answer needs a reason")
    now = now or utcnow()
    done = session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.status == TicketStatus.OPEN)
        .values(status=TicketStatus.CLOSED, closed_at=now)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise EscalationError(f"ticket {ticket_id} is not open")
    cancel_timers(ticket_id, session=session)
    session.add(TicketEvent(ticket_id=ticket_id, kind="closed_unanswered", at=now,
                            detail={"by": operator, "reason": why}))
    session.flush()


def contact_of(conversation_id: str, *, session: Session) -> str:
    """The address this conversation's customer agreed to be answered at, or ""."""
    return session.scalars(
        select(Ticket.customer_email)
        .where(Ticket.conversation_id == conversation_id, Ticket.contact_consent.is_(True),
               Ticket.customer_email != "")
        .order_by(Ticket.id.desc()).limit(1)).first() or ""


def _has_contact(ticket: Ticket) -> bool:
    return bool(ticket.contact_consent and ticket.customer_email)


def _key(question: str) -> str:
    return " ".join(question.casefold().split())


def _transcript(turns: tuple[tuple[str, str], ...]) -> list[dict]:
    kept = [(role, text) for role, text in turns[-MAX_TRANSCRIPT_TURNS:]
            if role in ("customer", "bot") and isinstance(text, str)]
    return [{"role": role, "text": plain(text, MAX_TURN_CHARS)} for role, text in kept]


def _considered(considered: tuple[ConsideredEntry, ...]) -> list[dict]:
    """As stored (JSON): the fields the console and the mail read, of the expected types."""
    out = []
    for item in considered[:MAX_CONSIDERED]:
        if not isinstance(item.entry_id, int):
            continue
        score = item.score
        out.append({"entry_id": item.entry_id, "key": plain(str(item.key or ""), 120),
                    "score": float(score) if isinstance(score, int | float) else 0.0,
                    "category": plain(str(item.category or "general"), 20)})
    return out


def open_tickets_of(conversation_id: str, *, session: Session, lock: bool = False
                    ) -> list[Ticket]:
    query = (select(Ticket).where(Ticket.conversation_id == conversation_id,
                                  Ticket.status == TicketStatus.OPEN).order_by(Ticket.id))
    return list(session.scalars(query.with_for_update() if lock else query))


def open_ticket_of(conversation_id: str, *, session: Session) -> Ticket | None:
    """The conversation's oldest open ticket (it may have more: see open_tickets_of)."""
    tickets = open_tickets_of(conversation_id, session=session)
    return tickets[0] if tickets else None


def answered_awaiting_delivery(conversation_id: str, *, session: Session) -> Ticket | None:
    """The oldest answer of the conversation not yet pushed into its chat; it is marked
    as pushed, so with several answers arriving together each is shown once."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.conversation_id == conversation_id,
                             Ticket.status == TicketStatus.ANSWERED,
                             Ticket.delivered_at.is_(None))
        .order_by(Ticket.id).with_for_update())
    for ticket in tickets:
        if not any(e.kind == "pushed_to_chat" for e in ticket.events):
            session.add(TicketEvent(ticket_id=ticket.id, kind="pushed_to_chat", detail={}))
            session.flush()
            return ticket
    return None


def take_undelivered_answers(conversation_id: str, *, session: Session) -> list[Ticket]:
    """Answers that reached neither the live chat nor an inbox: the customer's chat is open
    again on the same device, so they are handed over now and recorded as delivered."""
    tickets = list(session.scalars(
        select(Ticket).where(Ticket.conversation_id == conversation_id, Ticket.answer != "",
                             Ticket.delivered_at.is_(None),
                             Ticket.delivery_channel == DeliveryChannel.NONE)
        .order_by(Ticket.id).with_for_update()))
    now = utcnow()
    for ticket in tickets:
        ticket.delivered_at, ticket.delivery_channel = now, DeliveryChannel.CHAT_LATER
        session.add(TicketEvent(ticket_id=ticket.id, kind="delivered", at=now,
                                detail={"channel": DeliveryChannel.CHAT_LATER.value}))
    session.flush()
    return tickets
