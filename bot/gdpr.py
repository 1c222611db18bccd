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

Each package owns its part (`analytics.gdpr`, `escalation.gdpr`, `knowledge.gdpr`,
`catalogue.gdpr`): this module only orchestrates them, in the caller's one session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics import gdpr as interaction_log
from bot.conversation.rasa_tracker import TrackerStore
from bot.gdpr_files import MailTraces, erase_mail_files
from catalogue import gdpr as catalogue_notes
from core import SupportBotError, get_engine
from escalation import gdpr as escalation_records
from knowledge import gdpr as knowledge_records
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
    tickets = escalation_records.tickets_named(ref, by_email=by_email, session=session)
    conversations = {t.conversation_id for t in tickets} | (set() if by_email else {ref})
    logged = interaction_log.logged_conversations(conversations, session=session)
    tickets += escalation_records.tickets_in(
        conversations, excluding=[t.id for t in tickets], session=session)
    if not by_email and not logged and tracker is not None and tracker.has_sender(ref):
        logged = {ref}
    if not tickets and not logged:
        raise UnknownCustomer(f"nothing is stored about {ref!r}")
    return Customer(tuple(sorted(logged | {t.conversation_id for t in tickets})),
                    tuple(sorted(t.id for t in tickets)))


def export_customer(customer: Customer, *, session: Session, tracker: TrackerStore) -> dict:
    return {
        "conversations": list(customer.conversations),
        "interactions": interaction_log.interactions_of(customer.conversations, session=session),
        "tickets": escalation_records.tickets_export(customer.ticket_ids, session=session),
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
    mail = escalation_records.customer_mail(customer.ticket_ids, session=session)
    files = erase_mail_files(var_dir, MailTraces(
        mail.emails, mail.message_ids, mail.raw_paths)) if var_dir else {}
    erased = interaction_log.erase_interactions(customer.conversations, scrub=scrub,
                                                session=session)
    escalation_records.erase_tickets(customer.ticket_ids, mail, by=by, placeholder=ERASED,
                                     session=session)
    entries = knowledge_records.unlink_entries(customer.ticket_ids, placeholder=ERASED,
                                               session=session)
    catalogue_notes.unlink_notes(customer.ticket_ids, session=session)
    candidates = knowledge_records.forget_candidate_votes(customer.conversations,
                                                          session=session)
    session.flush()
    return {"interactions_deleted": erased.events, "question_labels_deleted": erased.labels,
            "topic_examples_removed": erased.examples,
            "tickets_blanked": len(customer.ticket_ids),
            "mails_deleted": len(mail.outbox_ids),
            "inbound_mails_blanked": len(mail.inbound_ids), **files,
            "entries_unlinked": entries, "candidate_questions_deleted": candidates,
            "rasa_tracker_events_deleted": rasa_events, **note}


def wipe_deleted(url: str) -> None:
    """After an erasure has committed: on SQLite, fold the write-ahead log into the file
    and empty it, so old copies of erased rows are not left in the log."""
    if url.startswith("sqlite"):
        with get_engine(url).connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass(frozen=True)
class Purged:
    interaction_events: int
    candidate_votes: int
    candidate_questions: int


def purge_before(cutoff: datetime, *, session: Session) -> Purged:
    """Retention: interaction events older than `cutoff` are deleted, with the dashboard's
    labels of those questions (they carry the event's time), and so are older candidate
    votes and candidate questions no customer has asked since (`knowledge.gdpr`)."""
    events = interaction_log.purge_interactions_before(cutoff, session=session)
    candidates = knowledge_records.purge_candidates_before(cutoff, session=session)
    return Purged(events, candidates.votes, candidates.questions)


def _tracker_note(tracker: TrackerStore) -> dict:
    """{"rasa_tracker": why there is nothing} when the tracker store is not there."""
    missing = tracker.missing
    return {"rasa_tracker": missing} if missing else {}

