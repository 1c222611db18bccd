"""Everything the product keeps about one customer, across the interaction log, tickets,
the outbox and learned entries' provenance: exported on request, or erased.

A customer is named by the anonymous conversation id the chat gave them, or by the
email address they left on a ticket (which leads to their conversations). Erasing
deletes their interaction events (the one sanctioned exception to the log being
append-only), blanks their questions, the answers to them and their contact on tickets (the ticket stays, so SLA
figures stay true), deletes mail queued to them, and unlinks learned entries from
their tickets (the entries' text was scrubbed of personal data when learned).

Rasa keeps its own copy of each conversation in its tracker store (`bot.rasa_tracker`):
export includes those events and erasure deletes them first, so a failure there leaves
everything in place to try again (our tables are one transaction; the tracker is another
database). The customer's browser keeps the chat transcript in its localStorage: that
copy is on their device, not ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent, QuestionInsight, QuestionTopic
from analytics.purchase_stage import clean
from bot.rasa_tracker import TrackerStore
from core import SupportBotError
from escalation.models import OutboxMessage, Ticket, TicketEvent
from knowledge.models import Entry
from knowledge.privacy import scrub

ERASED = "[erased]"


class UnknownCustomer(SupportBotError):
    """Nothing is stored about the customer named."""


@dataclass(frozen=True)
class Customer:
    conversations: tuple[str, ...]
    ticket_ids: tuple[int, ...]


def find_customer(ref: str, *, session: Session, tracker: TrackerStore | None = None) -> Customer:
    """The customer named by a conversation id or an email; a conversation id known only to
    Rasa's tracker store (the log purged, say) is found there."""
    ref = ref.strip()
    if not ref or len(ref) > 320:
        raise UnknownCustomer("give a conversation id or an email address")
    by_email = "@" in ref
    tickets = list(session.scalars(select(Ticket).where(
        Ticket.customer_email.ilike(ref) if by_email else Ticket.conversation_id == ref)))
    conversations = {t.conversation_id for t in tickets} | (set() if by_email else {ref})
    logged = set(session.scalars(select(InteractionEvent.conversation_id).distinct().where(
        InteractionEvent.conversation_id.in_(conversations))))
    tickets += list(session.scalars(select(Ticket).where(
        Ticket.conversation_id.in_(conversations), Ticket.id.not_in([t.id for t in tickets]))))
    if not by_email and not logged and tracker is not None and tracker.has_sender(ref):
        logged = {ref}
    if not tickets and not logged:
        raise UnknownCustomer(f"nothing is stored about {ref!r}")
    return Customer(tuple(sorted(logged | {t.conversation_id for t in tickets})),
                    tuple(sorted(t.id for t in tickets)))


def export_customer(customer: Customer, *, session: Session, tracker: TrackerStore) -> dict:
    events = session.scalars(select(InteractionEvent).where(
        InteractionEvent.conversation_id.in_(customer.conversations)).order_by(InteractionEvent.id))
    tickets = session.scalars(select(Ticket).where(Ticket.id.in_(customer.ticket_ids)))
    return {
        "conversations": list(customer.conversations),
        "interactions": [{"at": _iso(e.occurred_at), "conversation": e.conversation_id,
                          "kind": e.kind, "text": e.text, "decision": e.decision,
                          "language": e.language, "channel": e.channel, "page": e.page,
                          "data": e.data} for e in events],
        "tickets": [{"id": t.id, "opened_at": _iso(t.opened_at), "question": t.question,
                     "transcript": t.transcript, "email": t.customer_email,
                     "consent": t.contact_consent, "status": t.status, "answer": t.answer,
                     "learned_entry_id": t.learned_entry_id} for t in tickets],
        "rasa_tracker_events": tracker.events_of(customer.conversations),
        **_tracker_note(tracker),
    }


def erase_customer(customer: Customer, *, session: Session, by: str, tracker: TrackerStore
                   ) -> dict:
    note = _tracker_note(tracker)
    rasa_events = tracker.erase(customer.conversations)  # first: see the module's doc
    theirs = select(InteractionEvent.id).where(
        InteractionEvent.conversation_id.in_(customer.conversations))
    labels = session.execute(delete(QuestionInsight).where(
        QuestionInsight.event_id.in_(theirs))).rowcount  # derived from the events below
    examples = _forget_topic_examples(session, customer)
    events = session.execute(delete(InteractionEvent).where(
        InteractionEvent.conversation_id.in_(customer.conversations))).rowcount
    session.execute(update(Ticket).where(Ticket.id.in_(customer.ticket_ids)).values(
        question=ERASED, transcript=[], answer=ERASED,  # the answer may greet them by name
        customer_email="", contact_consent=False))
    session.add_all(TicketEvent(ticket_id=i, kind="customer_erased", detail={"by": by})
                    for i in customer.ticket_ids)
    mails = session.execute(delete(OutboxMessage).where(
        OutboxMessage.kind == "answer", OutboxMessage.ticket_id.in_(customer.ticket_ids))).rowcount
    entries = session.execute(update(Entry).where(Entry.ticket_id.in_(customer.ticket_ids))
                              .values(ticket_id=None, source_ref=ERASED)).rowcount
    return {"interactions_deleted": events, "question_labels_deleted": labels,
            "topic_examples_removed": examples,
            "tickets_blanked": len(customer.ticket_ids),
            "customer_mails_deleted": mails, "entries_unlinked": entries,
            "rasa_tracker_events_deleted": rasa_events, **note}


def _forget_topic_examples(session: Session, customer: Customer) -> int:
    """Topics keep a few example questions (cleaned and scrubbed as they were kept): drop
    the customer's from them."""
    asked = {scrub(clean(text)) for text in session.scalars(select(InteractionEvent.text).where(
        InteractionEvent.kind == EventKind.MESSAGE.value,
        InteractionEvent.conversation_id.in_(customer.conversations)))}
    removed = 0
    for topic in session.scalars(select(QuestionTopic)):
        kept = [example for example in topic.examples if example not in asked]
        if len(kept) < len(topic.examples):
            removed += len(topic.examples) - len(kept)
            topic.examples = kept
    return removed


def purge_before(cutoff: datetime, *, session: Session) -> int:
    """Retention: interaction events older than `cutoff` are deleted, with the dashboard's
    labels of those questions (they carry the event's time)."""
    session.execute(delete(QuestionInsight).where(QuestionInsight.occurred_at < cutoff))
    return session.execute(delete(InteractionEvent).where(
        InteractionEvent.occurred_at < cutoff)).rowcount


def _tracker_note(tracker: TrackerStore) -> dict:
    """{"rasa_tracker": why there is nothing} when the tracker store is not there."""
    missing = tracker.missing
    return {"rasa_tracker": missing} if missing else {}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None

