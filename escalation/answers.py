"""What happens when an operator's answer arrives (by email or from the console):
the ticket is marked answered and its timers stop, the customer gets the answer (in
the chat when the conversation is still live, else by email), and the knowledge base
learns it. Each step is recorded on the ticket, so after a crash `resume_answered`
finishes what was left: nothing is delivered or learned twice.

Recording (`apply_answer`) runs in the caller's transaction: an emailed answer is
recorded in the very transaction that records the mail, so an accepted mail is never
without its answer. Finishing (delivery, learning) happens later, in a worker, under a
short lease on the ticket (`finishing_until`): with several replicas resuming answered
tickets, one finishes a ticket at a time, and a finisher that died is replaced once its
lease has run out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from analytics.queries import last_activity_at
from core import Settings, session_scope, utcnow
from core.faults import crash_point
from escalation.models import DeliveryChannel, Ticket, TicketEvent, TicketStatus
from escalation.tickets import EscalationError
from knowledge import KnowledgeBase
from knowledge.answer_text import answer_body, clean_text
from knowledge.errors import InvalidEntry
from knowledge.learning import learn
from knowledge.privacy import scrub

log = logging.getLogger(__name__)

CHAT_LIVE_FOR = timedelta(minutes=30)  # a chat with activity this recent is still open
# Longer than delivering and learning one answer takes (an embedding, a chat push, a few
# commits); a finisher that died holds the ticket this long at most.
FINISH_LEASE = timedelta(minutes=2)
# Pushes the answer into the live chat; True when the conversation took it.
ChatDelivery = Callable[[Ticket], bool]


@dataclass(frozen=True)
class AnswerOutcome:
    ticket_id: int
    delivered_via: DeliveryChannel  # chat, email, or PENDING ("") when nothing reached them
    learned_entry_id: int | None
    learned_as_variant: bool
    note: str  # for the operator: what happened to their answer


def apply_answer(ticket_id: int, answer: str, operator: str, *, via: str, session: Session,
                 now: datetime, picked_entry_id: int | None = None) -> None:
    """Step 1, in the caller's transaction: the ticket is answered and its timers stop.
    `picked_entry_id`: the answer is that knowledge-base entry's (the operator picked it,
    see `escalation.picks`); the question is then learned as a way of asking it.
    Raises EscalationError when the ticket is missing or no longer open. One conditional
    UPDATE, so two answers racing for a ticket (even on SQLite, where reading first
    and writing later is not atomic) leave exactly one of them recorded."""
    from escalation.timers import cancel_timers

    done = session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.status == TicketStatus.OPEN)
        .values(status=TicketStatus.ANSWERED, answer=answer, answered_by=operator,
                answered_at=now)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        status = session.scalar(select(Ticket.status).where(Ticket.id == ticket_id))
        if status is None:
            raise EscalationError(f"ticket {ticket_id} does not exist")
        raise EscalationError(f"ticket {ticket_id} is already {status}")
    cancel_timers(ticket_id, session=session)
    detail = {"by": operator, "via": via}
    if picked_entry_id is not None:
        detail["picked_entry_id"] = picked_entry_id
    session.add(TicketEvent(ticket_id=ticket_id, kind="answered", at=now, detail=detail))
    session.flush()


def record_answer(ticket_id: int, answer: str, operator: str, *, via: str, settings: Settings,
                  now: datetime | None = None, picked_entry_id: int | None = None) -> None:
    """Step 1 in a transaction of its own (an answer written or picked in the console)."""
    with session_scope(settings.resolved_database_url) as session:
        apply_answer(ticket_id, answer, operator, via=via, session=session,
                     now=now or utcnow(), picked_entry_id=picked_entry_id)


def finish_answer(ticket_id: int, *, settings: Settings, kb: KnowledgeBase,
                  deliver_in_chat: ChatDelivery, now: datetime | None = None) -> AnswerOutcome:
    """Steps 2 and 3: deliver, then learn; each is skipped when already recorded. A ticket
    another finisher holds (its lease runs) is left to it."""
    if not _claim(ticket_id, settings=settings, now=now or utcnow()):
        return AnswerOutcome(ticket_id, "", None, False, "being finished by another worker")
    delivered = _deliver(ticket_id, settings=settings, deliver_in_chat=deliver_in_chat)
    crash_point("after_delivery")
    entry_id, as_variant, note = _learn(ticket_id, settings=settings, kb=kb)
    with session_scope(settings.resolved_database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket.status == TicketStatus.ANSWERED:
            ticket.status, ticket.closed_at = TicketStatus.CLOSED, utcnow()
            session.add(TicketEvent(ticket_id=ticket_id, kind="closed"))
        ticket.finishing_until = None
    return AnswerOutcome(ticket_id, delivered, entry_id, as_variant, note)


def _free(now: datetime):
    return or_(Ticket.finishing_until.is_(None), Ticket.finishing_until <= now)


def _claim(ticket_id: int, *, settings: Settings, now: datetime) -> bool:
    """Take the ticket's lease (a conditional UPDATE: one claimant wins, on any database)."""
    now = now.astimezone(UTC)  # SQLite compares stored UTC text
    with session_scope(settings.resolved_database_url) as session:
        done = session.execute(
            update(Ticket).where(Ticket.id == ticket_id,
                                 Ticket.status == TicketStatus.ANSWERED, _free(now))
            .values(finishing_until=now + FINISH_LEASE)
            .execution_options(synchronize_session=False))
        return done.rowcount == 1


def _deliver(ticket_id: int, *, settings: Settings, deliver_in_chat: ChatDelivery
             ) -> DeliveryChannel:
    from escalation.mail_out import enqueue_customer_answer

    url = settings.resolved_database_url
    with session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id)
        if (ticket.delivered_at is not None
                or ticket.delivery_channel != DeliveryChannel.PENDING):
            return ticket.delivery_channel
        live = _chat_is_live(ticket.conversation_id, session=session)
    in_chat = live and _try(deliver_in_chat, ticket)
    channel = DeliveryChannel.CHAT if in_chat else DeliveryChannel.PENDING
    with session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        if (channel == DeliveryChannel.PENDING and ticket.customer_email
                and ticket.contact_consent):
            enqueue_customer_answer(ticket, ticket.answer, session=session, settings=settings,
                                    now=utcnow())
            channel = DeliveryChannel.EMAIL
        delivered = channel != DeliveryChannel.PENDING
        ticket.delivery_channel = channel if delivered else DeliveryChannel.NONE
        ticket.delivered_at = utcnow() if delivered else None
        session.add(TicketEvent(ticket_id=ticket_id, kind="delivered" if delivered
                                else "undeliverable",
                                detail={"channel": ticket.delivery_channel.value}))
    return channel


def _try(deliver_in_chat: ChatDelivery, ticket: Ticket) -> bool:
    try:
        return deliver_in_chat(ticket)
    except Exception:  # the chat is best effort; email is the fallback
        log.exception("ticket %s: pushing the answer into the chat failed", ticket.id)
        return False


def _chat_is_live(conversation_id: str, *, session) -> bool:
    last = last_activity_at(conversation_id, session=session)
    return last is not None and utcnow() - last <= CHAT_LIVE_FOR


def _learn(ticket_id: int, *, settings: Settings,
           kb: KnowledgeBase) -> tuple[int | None, bool, str]:
    url = settings.resolved_database_url
    with session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket.learned_entry_id is not None or any(e.kind in ("learned", "not_learned")
                                                      for e in ticket.events):
            return ticket.learned_entry_id, False, "already learned"
        question, answer, language = ticket.question, ticket.answer, ticket.language
        operator, category = ticket.answered_by, ticket.category
        picked = picked_entry(ticket)
        product = (ticket.product_slug, ticket.product_attribute)
    if product[0]:  # about one product: learned for that product only, never into the KB
        return _learn_note(ticket_id, product, question=question, answer=answer,
                           language=language, operator=operator, settings=settings)
    try:
        learned = learn(kb, question=question, answer=answer, language=language,
                        ticket_id=ticket_id, operator=operator, category=category,
                        review=settings.review_learned_answers, variant_of=picked)
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


def _learn_note(ticket_id: int, product: tuple[str, str], *, question: str, answer: str,
                language: str, operator: str, settings: Settings) -> tuple[None, bool, str]:
    """The answer to a question about one catalogue product becomes a note of that product
    (`catalogue.notes`): a KB entry would answer the same question about any product.
    Cleaned as `knowledge.learning.learn` cleans what it learns."""
    from catalogue.notes import NoteError, add_note

    region = "IT" if language == "it" else "GB"
    clean_question = " ".join(scrub(clean_text(question), region).split())
    clean_answer = answer_body(scrub(answer_body(
        answer, names=(settings.shop_name, operator.partition("@")[0])), region))
    status = "draft" if settings.review_learned_answers else "published"
    with session_scope(settings.resolved_database_url) as session:
        try:
            if not clean_question or not clean_answer:
                raise NoteError("nothing left to learn after removing greetings and personal data")
            note = add_note(session=session, slug=product[0], language=language,
                            attribute=product[1], question=clean_question, answer=clean_answer,
                            ticket_id=ticket_id, status=status)
        except NoteError as exc:
            session.rollback()
            session.add(TicketEvent(ticket_id=ticket_id, kind="not_learned",
                                    detail={"reason": str(exc)}))
            return None, False, f"not learned: {exc}"
        note_text = (f"saved as a draft note of product {note.slug}, waiting for approval"
                     if note.status == "draft" else f"learned as a note of product {note.slug}")
        session.add(TicketEvent(ticket_id=ticket_id, kind="learned", detail={
            "note_id": note.id, "product": note.slug, "attribute": note.attribute,
            "status": note.status, "note": note_text}))
    return None, False, note_text


def picked_entry(ticket: Ticket) -> int | None:
    """The entry whose answer the operator picked for this ticket, if they picked one."""
    for event in ticket.events:
        picked = (event.detail or {}).get("picked_entry_id")
        if event.kind == "answered" and isinstance(picked, int):
            return picked
    return None


def resume_answered(*, settings: Settings, kb: KnowledgeBase, deliver_in_chat: ChatDelivery,
                    now: datetime | None = None, limit: int = 100) -> list[AnswerOutcome]:
    """Finish tickets that were answered but not closed (after a crash, a failed delivery or
    learning) and that nobody is finishing now. Runs periodically; one ticket that fails
    again is logged and left for the next round, the others go on."""
    now = (now or utcnow()).astimezone(UTC)
    with session_scope(settings.resolved_database_url) as session:
        ids = list(session.scalars(
            select(Ticket.id).where(Ticket.status == TicketStatus.ANSWERED, _free(now))
            .order_by(Ticket.answered_at, Ticket.id).limit(limit)))
    outcomes = []
    for ticket_id in ids:
        try:
            outcomes.append(finish_answer(ticket_id, settings=settings, kb=kb,
                                          deliver_in_chat=deliver_in_chat, now=now))
        except Exception:  # its lease keeps it aside until the next round
            log.exception("ticket %s: finishing the answer failed; retried later", ticket_id)
    return outcomes


__all__ = ["AnswerOutcome", "ChatDelivery", "apply_answer", "finish_answer", "record_answer",
           "resume_answered"]
