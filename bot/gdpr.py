"""Everything the product keeps about one customer, across the interaction log, tickets,
the outbox and learned entries' provenance: exported on request, or erased.

A customer is named by the anonymous conversation id the chat gave them, or by the
email address they left on a ticket (which leads to their conversations). Erasing
deletes their interaction events (the one sanctioned exception to the log being
append-only), blanks their questions, the answers to them and their contact on tickets (the ticket
stays, so SLA figures stay true), deletes mail queued to them, and unlinks learned entries from
their tickets (the entries' text was scrubbed of personal data when learned). Mail is erased
everywhere the product keeps it: outbox rows about their tickets or to
their address (operator notifications carry their question, name, phone and email),
inbound replies to their tickets (answer text, subject, the raw .eml) and the local mail
sink's copies (`bot.gdpr_files`). On SQLite, deleted rows are overwritten on disk
(secure_delete) and `wipe_deleted` folds the write-ahead log back, so no copy lingers in
free pages; on PostgreSQL, (auto)vacuum reclaims dead rows. `PERSONAL_TABLES` and
`OTHER_TABLES` classify every table; the tests fail when a new one is neither.

Rasa keeps its own copy of each conversation in its tracker store (`bot.conversation.rasa_tracker`):
export includes those events and erasure deletes them first, so a failure there leaves
everything in place to try again (our tables are one transaction; the tracker is another
database). The customer's browser keeps the chat transcript in its localStorage: that
copy is on their device, not ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import String, cast, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent, QuestionInsight, QuestionTopic
from analytics.purchase_stage import clean_for_model
from bot.conversation.rasa_tracker import TrackerStore
from bot.gdpr_files import MailTraces, erase_mail_files
from catalogue.models import ProductNote
from core import SupportBotError, get_engine
from escalation.models import InboundMessage, OutboxMessage, Ticket, TicketEvent
from knowledge.models import CandidateStatus, CandidateVariant, CandidateVote, Entry
from knowledge.privacy import scrub

ERASED = "[erased]"
# What erasure does to each table that can hold a customer's words or contact.
PERSONAL_TABLES = {
    "interaction_events": "their events deleted",
    "question_insights": "the dashboard's labels of their questions deleted",
    "question_topics": "their questions removed from the topics' examples",
    "tickets": "question, transcript, answer and contact blanked (the ticket stays for SLA)",
    "ticket_events": "details that may quote a mail (subject, sender) dropped",
    "outbox": "mail about their tickets or to their address deleted",
    "inbound_messages": "replies to their tickets or mail from them: text blanked, .eml deleted",
    "kb_entries": "unlinked from their tickets (the text was scrubbed when learned)",
    "catalogue_notes": "product notes unlinked from their tickets (scrubbed when learned)",
    "kb_candidate_votes": "their conversations' votes on candidate questions deleted",
    "kb_candidate_variants": "pending candidate questions no other conversation voted for deleted",
}
# Tables with text that is not a customer's: why each may stay.
OTHER_TABLES = {
    "kb_entry_versions": "KB history; learned text was scrubbed before it was stored",
    "kb_questions": "KB question variants; learned ones scrubbed before they were stored",
    "kb_settings": "configuration",
    "kb_changes": "KB change counter",
    "topic_overrides": "topic names and merges made by marketing: centres and names typed by staff",
    "daily_figures": "counts per day, language and channel",
    "rolled_up_days": "which days are summed",
    "ticket_timers": "SLA timers: kinds and times",
    "catalogue_products": "the shop's product data, from its feed",
    "catalogue_variants": "the shop's product variants, from its feed",
    "catalogue_imports": "catalogue imports: when, which file, how many changes",
}
# What lives under the var dir, and what erasure does there.
VAR_STORES = {
    "supportbot.db": "the database (-wal, -shm beside it): the tables above",
    "rasa-tracker.db": "Rasa's copy of each conversation: the customer's events deleted",
    "mail/inbound": "raw received mail: replies to their tickets and mail naming them deleted",
    "mail/sink": "the local sink's copies of sent mail: theirs deleted",
    "index": "KB vectors by entry id, no text",
    "models": "cached embedding models",
    "rasa-models": "trained Rasa models, from the project's NLU data only",
    "rasa.log": "Rasa's log at INFO level: no message text",
    "console_users.json": "staff accounts",
    "secret.key": "the product's signing key",
}
# Ticket event details that say nothing about the customer (the rest may quote mail).
_SAFE_DETAIL = {"reason", "status", "level", "name", "to", "by", "via", "channel", "policy",
                "inbound_id", "entry_id", "error"}


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


def erase_customer(customer: Customer, *, session: Session, by: str, tracker: TrackerStore,
                   var_dir: Path | None = None) -> dict:
    """Erase the customer everywhere; stores outside this transaction (Rasa's tracker, mail
    files under `var_dir`) go first, so a failure leaves the customer findable to retry."""
    note = _tracker_note(tracker)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))  # overwrite, don't just unlink
    rasa_events = tracker.erase(customer.conversations)  # first: see the module's doc
    emails = _emails(session, customer)
    outbox, inbound = _mail_rows(session, customer, emails)
    files = erase_mail_files(var_dir, MailTraces(
        frozenset(emails), frozenset(m.message_id for m in outbox),
        frozenset(m.raw_path for m in inbound))) if var_dir else {}
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
    for event in session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id.in_(customer.ticket_ids))):
        event.detail = {k: v for k, v in (event.detail or {}).items() if k in _SAFE_DETAIL}
    session.add_all(TicketEvent(ticket_id=i, kind="customer_erased", detail={"by": by})
                    for i in customer.ticket_ids)
    for row in outbox:
        session.delete(row)
    for row in inbound:
        row.answer_text, row.subject, row.raw_path = "", ERASED, ""
        if row.from_addr.lower() in emails or row.envelope_from.lower() in emails:
            row.from_addr, row.envelope_from = ERASED, ""  # they wrote it; operators stay
    entries = session.execute(update(Entry).where(Entry.ticket_id.in_(customer.ticket_ids))
                              .values(ticket_id=None, source_ref=ERASED)).rowcount
    session.execute(update(ProductNote).where(ProductNote.ticket_id.in_(customer.ticket_ids))
                    .values(ticket_id=None))
    candidates = _forget_candidate_votes(session, customer)
    session.flush()
    return {"interactions_deleted": events, "question_labels_deleted": labels,
            "topic_examples_removed": examples,
            "tickets_blanked": len(customer.ticket_ids),
            "mails_deleted": len(outbox), "inbound_mails_blanked": len(inbound), **files,
            "entries_unlinked": entries, "candidate_questions_deleted": candidates,
            "rasa_tracker_events_deleted": rasa_events, **note}


def wipe_deleted(url: str) -> None:
    """After an erasure has committed: on SQLite, fold the write-ahead log into the file
    and empty it, so old copies of erased rows are not left in the log."""
    if url.startswith("sqlite"):
        with get_engine(url).connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _emails(session: Session, customer: Customer) -> set[str]:
    return {email.strip().lower() for email in session.scalars(select(Ticket.customer_email)
            .where(Ticket.id.in_(customer.ticket_ids))) if email and email.strip()}


def _mail_rows(session: Session, customer: Customer, emails: set[str]
               ) -> tuple[list[OutboxMessage], list[InboundMessage]]:
    """Outbox rows about their tickets or naming their address; inbound mail answering
    their tickets or sent from their address."""
    mentions = [func.lower(cast(column, String)).contains(email, autoescape=True)
                for email in emails
                for column in (OutboxMessage.to_addrs, OutboxMessage.subject,
                               OutboxMessage.text_body, OutboxMessage.html_body)]
    outbox = list(session.scalars(select(OutboxMessage).where(or_(
        OutboxMessage.ticket_id.in_(customer.ticket_ids), *mentions))))
    senders = [func.lower(column) == email for email in emails
               for column in (InboundMessage.from_addr, InboundMessage.envelope_from)]
    inbound = list(session.scalars(select(InboundMessage).where(or_(
        InboundMessage.ticket_id.in_(customer.ticket_ids), *senders))))
    return outbox, inbound


def _forget_topic_examples(session: Session, customer: Customer) -> int:
    """Topics keep a few example questions (cleaned and scrubbed as they were kept): drop
    the customer's from them."""
    asked = {scrub(clean_for_model(text))
             for text in session.scalars(select(InteractionEvent.text).where(
        InteractionEvent.kind == EventKind.MESSAGE.value,
        InteractionEvent.conversation_id.in_(customer.conversations)))}
    removed = 0
    for topic in session.scalars(select(QuestionTopic)):
        kept = [example for example in topic.examples if example not in asked]
        if topic.name in asked:  # a topic is named by its most central question
            topic.name = ""
        if len(kept) < len(topic.examples):
            removed += len(topic.examples) - len(kept)
            topic.examples = kept
    return removed


def _forget_candidate_votes(session: Session, customer: Customer) -> int:
    """Their votes go; a pending candidate question only they voted for is their words
    alone, so it goes too (a published one is a scrubbed KB question, like learned ones)."""
    session.execute(delete(CandidateVote).where(
        CandidateVote.conversation_id.in_(customer.conversations)))
    voted = select(CandidateVote.candidate_id)
    return session.execute(delete(CandidateVariant).where(
        CandidateVariant.status == CandidateStatus.PENDING,
        CandidateVariant.id.not_in(voted))).rowcount


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

