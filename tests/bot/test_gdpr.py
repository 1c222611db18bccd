"""Export and erasure of one customer's data, and retention, on real databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import InteractionEvent
from bot.gdpr import ERASED, UnknownCustomer, erase_customer, export_customer, find_customer, purge_before
from core import session_scope, utcnow
from escalation.models import OutboxMessage, Ticket
from knowledge import repository as repo
from tests.bot.test_cli_report import run


def event(session, conversation: str, text: str, at: datetime | None = None) -> None:
    session.add(InteractionEvent(kind="message", conversation_id=conversation, text=text,
                                 occurred_at=at or utcnow()))


@pytest.fixture
def stored(database_url, add_entry):
    now = utcnow()
    with session_scope(database_url) as session:
        for conversation, email in (("conv-anna", "anna@example.com"), ("conv-bob", "")):
            event(session, conversation, f"question of {conversation}")
            ticket = Ticket(conversation_id=conversation, question=f"help {conversation}",
                            transcript=[{"role": "customer", "text": "hi"}], language="it",
                            customer_email=email, contact_consent=bool(email), opened_at=now,
                            due_at=now, answer="an answer")
            session.add(ticket)
            session.flush()
            session.add(OutboxMessage(dedupe_key=f"answer-{ticket.id}", kind="answer",
                                      ticket_id=ticket.id, to_addrs=[email or "x@y.z"],
                                      subject="Re", text_body="an answer",
                                      message_id=f"<{ticket.id}@x>"))
        anna = session.query(Ticket).filter_by(conversation_id="conv-anna").one().id
    add_entry("Learned answer.", "A learned question?", key="learned", source="operator",
              ticket_id=anna)
    return database_url, anna


def test_a_customer_is_found_by_email_or_conversation(stored):
    url, anna = stored
    with session_scope(url) as session:
        by_email = find_customer("ANNA@example.com", session=session)
        assert by_email.conversations == ("conv-anna",) and by_email.ticket_ids == (anna,)
        assert find_customer("conv-anna", session=session) == by_email
        for unknown in ("nobody@example.com", "conv-nobody", "", "x" * 400):
            with pytest.raises(UnknownCustomer):
                find_customer(unknown, session=session)


def test_export_holds_everything_about_the_customer_and_nothing_else(stored):
    url, anna = stored
    with session_scope(url) as session:
        data = export_customer(find_customer("conv-anna", session=session), session=session)
    assert [i["text"] for i in data["interactions"]] == ["question of conv-anna"]
    assert [(t["id"], t["email"]) for t in data["tickets"]] == [(anna, "anna@example.com")]
    assert "conv-bob" not in json.dumps(data)


def test_erase_removes_the_customer_and_keeps_everyone_else(stored):
    url, anna = stored
    with session_scope(url) as session:
        result = erase_customer(find_customer("anna@example.com", session=session), session=session,
                                by="dpo@shop.example")
    assert result == {"interactions_deleted": 1, "tickets_blanked": 1, "customer_mails_deleted": 1,
                      "entries_unlinked": 1}
    with session_scope(url) as session:
        assert [e.conversation_id for e in session.query(InteractionEvent)] == ["conv-bob"]
        ticket = session.get(Ticket, anna)
        assert (ticket.question, ticket.transcript, ticket.customer_email) == (ERASED, [], "")
        assert ticket.events[-1].kind == "customer_erased"
        assert session.query(OutboxMessage).count() == 1
        entry = repo.get_entry("learned", session=session)
        assert entry.ticket_id is None and entry.answer == "Learned answer."
        with pytest.raises(UnknownCustomer):
            find_customer("anna@example.com", session=session)


def test_retention_purges_only_old_events(database_url):
    with session_scope(database_url) as session:
        event(session, "old", "old", datetime(2020, 1, 1, tzinfo=UTC))
        event(session, "new", "new")
    with session_scope(database_url) as session:
        assert purge_before(utcnow() - timedelta(days=730), session=session) == 1
        assert [e.conversation_id for e in session.query(InteractionEvent)] == ["new"]


def test_the_cli_confirms_and_answers_clearly(stored, tmp_path):
    url, _ = stored
    refused = run(tmp_path, url, "gdpr", "erase", "anna@example.com")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    unknown = run(tmp_path, url, "gdpr", "erase", "nobody@example.com", "--yes")
    assert unknown.returncode == 2 and "nothing is stored" in unknown.stderr
    exported = run(tmp_path, url, "gdpr", "export", "conv-anna")
    assert exported.returncode == 0 and json.loads(exported.stdout)["conversations"] == ["conv-anna"]
    erased = run(tmp_path, url, "gdpr", "erase", "anna@example.com", "--yes")
    assert erased.returncode == 0 and json.loads(erased.stdout)["interactions_deleted"] == 1
    purged = run(tmp_path, url, "gdpr", "purge", "--months", "1")
    assert purged.returncode == 0 and "0 interaction events" in purged.stdout
    assert run(tmp_path, url, "gdpr", "purge", "--months", "0").returncode == 2
