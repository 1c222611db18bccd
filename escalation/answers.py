"""What happens when an operator's answer arrives (by email or from the console):
the ticket is marked answered and its timers stop, the customer gets the answer (in
the chat when the conversation is still live, else by email), and the knowledge base
learns it. Each step is recorded on the ticket, so after a crash `resume_answered`
finishes what was left: nothing is delivered or learned twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from analytics import InteractionEvent
from core import Settings, as_utc, session_scope, utcnow
from core.faults import crash_point
from escalation.models import Ticket, TicketEvent, TicketStatus
from escalation.tickets import EscalationError
from knowledge import KnowledgeBase
from knowledge.errors import InvalidEntry
from knowledge.learning import learn

log = logging.getLogger(__name__)

CHAT_LIVE_FOR = timedelta(minutes=30)  # a chat with activity this recent is still open
# Pushes the answer into the live chat; True when the conversation took it.
ChatDelivery = Callable[[Ticket], bool]


@dataclass(frozen=True)
class AnswerOutcome:
    ticket_id: int
    delivered_via: str  # chat, email, or "" when the customer left no way to reach them
    learned_entry_id: int | None
    learned_as_variant: bool
    note: str  # for the operator: what happened to their answer


def record_answer(ticket_id: int, answer: str, operator: str, *, via: str, settings: Settings,
                  now: datetime | None = None) -> None:
    """Step 1, its own transaction: the ticket is answered and its timers stop."""
    from escalation.timers import cancel_timers

    now = now or utcnow()
    with session_scope(settings.resolved_database_url) as session:
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None:
            raise EscalationError(f"ticket {ticket_id} does not exist")
        if ticket.status != TicketStatus.OPEN.value:
            raise EscalationError(f"ticket {ticket_id} is already {ticket.status}")
        ticket.status, ticket.answer = TicketStatus.ANSWERED.value, answer
        ticket.answered_by, ticket.answered_at = operator, now
        cancel_timers(ticket_id, session=session)
        session.add(TicketEvent(ticket_id=ticket_id, kind="answered", at=now,
                                detail={"by": operator, "via": via}))


def finish_answer(ticket_id: int, *, settings: Settings, kb: KnowledgeBase,
                  deliver_in_chat: ChatDelivery) -> AnswerOutcome:
    """Steps 2 and 3: deliver, then learn; each is skipped when already recorded."""
    delivered = _deliver(ticket_id, settings=settings, deliver_in_chat=deliver_in_chat)
    crash_point("after_delivery")
    entry_id, as_variant, note = _learn(ticket_id, settings=settings, kb=kb)
    with session_scope(settings.resolved_database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket.status == TicketStatus.ANSWERED.value:
            ticket.status, ticket.closed_at = TicketStatus.CLOSED.value, utcnow()
            session.add(TicketEvent(ticket_id=ticket_id, kind="closed"))
    return AnswerOutcome(ticket_id, delivered, entry_id, as_variant, note)


def _deliver(ticket_id: int, *, settings: Settings, deliver_in_chat: ChatDelivery) -> str:
    from escalation.mail_out import enqueue_customer_answer

    url = settings.resolved_database_url
    with session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket.delivered_at is not None or ticket.delivery_channel:
            return ticket.delivery_channel
        live = _chat_is_live(ticket.conversation_id, session=session)
    channel = "chat" if live and _try(deliver_in_chat, ticket) else ""
    with session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        if not channel and ticket.customer_email and ticket.contact_consent:
            enqueue_customer_answer(ticket, ticket.answer, session=session, settings=settings,
                                    now=utcnow())
            channel = "email"
        ticket.delivery_channel = channel or "none"
        ticket.delivered_at = utcnow() if channel else None
        session.add(TicketEvent(ticket_id=ticket_id, kind="delivered" if channel else "undeliverable",
                                detail={"channel": channel or "none"}))
    return channel


def _try(deliver_in_chat: ChatDelivery, ticket: Ticket) -> bool:
    try:
        return deliver_in_chat(ticket)
    except Exception:  # the chat is best effort; email is the fallback
        log.exception("ticket %s: pushing the answer into the chat failed", ticket.id)
        return False


def _chat_is_live(conversation_id: str, *, session) -> bool:
    last = session.scalars(
        select(InteractionEvent.occurred_at)
        .where(InteractionEvent.conversation_id == conversation_id)
        .order_by(InteractionEvent.id.desc()).limit(1)).first()
    if last is None:
        return False
    return utcnow() - as_utc(last) <= CHAT_LIVE_FOR


def _learn(ticket_id: int, *, settings: Settings, kb: KnowledgeBase) -> tuple[int | None, bool, str]:
    url = settings.resolved_database_url
    with session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket.learned_entry_id is not None or any(e.kind in ("learned", "not_learned")
                                                      for e in ticket.events):
            return ticket.learned_entry_id, False, "already learned"
        question, answer, language = ticket.question, ticket.answer, ticket.language
        operator, category = ticket.answered_by, ticket.category
    try:
        learned = learn(kb, question=question, answer=answer, language=language,
                        ticket_id=ticket_id, operator=operator, category=category,
                        review=settings.review_learned_answers)
    except InvalidEntry as exc:
        with session_scope(url) as session:
            session.add(TicketEvent(ticket_id=ticket_id, kind="not_learned",
                                    detail={"reason": str(exc)}))
        return None, False, f"not learned: {exc}"
    if learned.as_variant:
        note = f"added as a new way of asking entry {learned.key}"
    elif learned.status == "draft":
        note = f"saved as draft entry {learned.key}, waiting for approval"
    else:
        note = f"published as entry {learned.key}"
    with session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id)
        ticket.learned_entry_id = learned.entry_id
        session.add(TicketEvent(ticket_id=ticket_id, kind="learned", detail={
            "entry_id": learned.entry_id, "as_variant": learned.as_variant,
            "status": learned.status, "note": note}))
    return learned.entry_id, learned.as_variant, note


def resume_answered(*, settings: Settings, kb: KnowledgeBase, deliver_in_chat: ChatDelivery
                    ) -> list[AnswerOutcome]:
    """After a restart: finish every ticket that was answered but not closed."""
    with session_scope(settings.resolved_database_url) as session:
        ids = list(session.scalars(select(Ticket.id).where(
            Ticket.status == TicketStatus.ANSWERED.value)))
    return [finish_answer(i, settings=settings, kb=kb, deliver_in_chat=deliver_in_chat) for i in ids]


__all__ = ["AnswerOutcome", "ChatDelivery", "finish_answer", "record_answer",
           "resume_answered"]
