import re
from datetime import UTC, datetime, timedelta

import pytest

from core import Settings, session_scope
from escalation import Ticket
from escalation.mail_out import enqueue_customer_answer, enqueue_ticket_mail
from escalation.models import OutboxMessage
from escalation.tokens import find_token, verify

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)  # 14:30 in Rome (CET)
OPERATORS = ["operatore@bottega-aurora.example"]


@pytest.fixture
def mail_settings(tmp_path, database_url):
    return Settings(var_dir=tmp_path, database_url=database_url, secret_key="test-secret")


def make_ticket(url: str, *, language: str = "it", question: str = "Posso pagare a rate?",
                email: str = "ann@example.com") -> int:
    with session_scope(url) as session:
        ticket = Ticket(
            conversation_id="c1", question=question, language=language, reason="kb_escalate",
            transcript=[{"role": "customer", "text": "Buongiorno"},
                        {"role": "bot", "text": "Buongiorno! Come posso aiutarla?"},
                        {"role": "customer", "text": question}],
            customer_email=email, contact_consent=bool(email),
            considered=[{"entry_id": 3, "key": "it-pagamenti", "score": 0.6123},
                        {"entry_id": 5, "key": "it-spedizioni", "score": 0.41}],
            opened_at=NOW, due_at=DUE)
        session.add(ticket)
        session.flush()
        return ticket.id


def enqueue(url, settings, ticket_id, kind="escalation", **kwargs) -> OutboxMessage:
    with session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id)
        return enqueue_ticket_mail(ticket, kind, OPERATORS, session=session, settings=settings,
                                   now=NOW, **kwargs)


def test_escalation_mail_for_an_italian_ticket(database_url, mail_settings):
    ticket_id = make_ticket(database_url)
    row = enqueue(database_url, mail_settings, ticket_id)
    assert row.subject.startswith(f"[#T{ticket_id}] ") and "Posso pagare a rate?" in row.subject
    assert row.to_addrs == OPERATORS and row.status == "pending" and row.kind == "escalation"
    for body in (row.text_body, row.html_body):
        assert "Posso pagare a rate?" in body
        assert "Buongiorno! Come posso aiutarla?" in body  # the transcript
        assert "24/11/2026 14:30 CET" in body  # the SLA deadline in Rome time
        assert "it-pagamenti" in body and "0.61" in body and "it-spedizioni" in body
        assert "Rispondi a questa email" in body and "il testo sopra la citazione" in body
        assert "Reply to this email" in body and "text above your quote" in body
        assert "Scrivi in italiano." in body
    assert row.html_body.lstrip().startswith("<!DOCTYPE html>")


def test_escalation_mail_for_an_english_ticket_asks_for_an_english_answer(
        database_url, mail_settings):
    ticket_id = make_ticket(database_url, language="en", question="Can I pay in instalments?")
    row = enqueue(database_url, mail_settings, ticket_id)
    assert "(EN)" in row.subject and "Can I pay in instalments?" in row.subject
    for body in (row.text_body, row.html_body):
        assert "Can I pay in instalments?" in body
        assert "Write in English." in body and "Scrivi in inglese." in body


def test_html_escapes_what_the_customer_wrote(database_url, mail_settings):
    ticket_id = make_ticket(database_url, question="<script>alert('x')</script> & co?")
    row = enqueue(database_url, mail_settings, ticket_id)
    assert "<script>" not in row.html_body
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co?" in row.html_body
    assert "<script>alert('x')</script> & co?" in row.text_body  # plain text stays verbatim


def test_headers_carry_the_signed_token(database_url, mail_settings):
    ticket_id = make_ticket(database_url)
    row = enqueue(database_url, mail_settings, ticket_id)
    key = mail_settings.resolved_secret_key
    reply_to = row.headers["Reply-To"]
    assert re.fullmatch(rf"assistenza\+t{ticket_id}-[0-9a-z]+-[a-z2-7]{{16}}"
                        r"@bottega-aurora\.example", reply_to)
    token = find_token(reply_to)
    assert verify(token, key=key, now=NOW) == ticket_id
    assert row.message_id == f"<t{ticket_id}.escalation.0.{token}@bottega-aurora.example>"
    assert row.headers["Auto-Submitted"] == "auto-generated"
    assert row.headers["From"] == mail_settings.mail_from
    assert "In-Reply-To" not in row.headers


def test_reminders_and_breaches_thread_under_the_escalation(database_url, mail_settings):
    ticket_id = make_ticket(database_url)
    first = enqueue(database_url, mail_settings, ticket_id)
    reminder = enqueue(database_url, mail_settings, ticket_id, "reminder")
    breach = enqueue(database_url, mail_settings, ticket_id, "breach", level=1)
    next_level = enqueue(database_url, mail_settings, ticket_id, "escalation", level=1)
    assert reminder.headers["In-Reply-To"] == first.message_id
    assert next_level.headers["In-Reply-To"] == first.message_id != next_level.message_id
    assert breach.headers["References"] == first.message_id
    assert breach.dedupe_key == f"ticket:{ticket_id}:breach:level1"
    assert ".breach.1." in breach.message_id
    assert "SLA superato" in breach.text_body and "Promemoria" in reminder.subject


def test_the_same_decision_is_queued_once(database_url, mail_settings):
    ticket_id = make_ticket(database_url)
    first = enqueue(database_url, mail_settings, ticket_id)
    with session_scope(database_url) as session:  # twice in one transaction, too
        ticket = session.get(Ticket, ticket_id)
        again = [enqueue_ticket_mail(ticket, "escalation", OPERATORS, session=session,
                                     settings=mail_settings, now=NOW + timedelta(minutes=m))
                 for m in (1, 2)]
    assert {r.id for r in again} == {first.id}
    assert first.dedupe_key == f"ticket:{ticket_id}:escalation:level0"
    with session_scope(database_url) as session:
        assert session.query(OutboxMessage).count() == 1


def test_a_rolled_back_decision_queues_nothing(database_url, mail_settings):
    ticket_id = make_ticket(database_url)
    with pytest.raises(RuntimeError):
        with session_scope(database_url) as session:
            enqueue_ticket_mail(session.get(Ticket, ticket_id), "escalation", OPERATORS,
                                session=session, settings=mail_settings, now=NOW)
            raise RuntimeError("the caller failed after queueing")
    with session_scope(database_url) as session:
        assert session.query(OutboxMessage).count() == 0


def test_bad_kinds_and_empty_recipients_are_refused(database_url, mail_settings):
    ticket_id = make_ticket(database_url)
    with session_scope(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        with pytest.raises(ValueError):
            enqueue_ticket_mail(ticket, "spam", OPERATORS, session=session,
                                settings=mail_settings, now=NOW)
        with pytest.raises(ValueError):
            enqueue_ticket_mail(ticket, "escalation", [], session=session,
                                settings=mail_settings, now=NOW)


@pytest.mark.parametrize(("language", "greeting"), [("it", "Gentile cliente"), ("en", "Hello")])
def test_the_customer_gets_the_answer_in_their_language(database_url, mail_settings,
                                                        language, greeting):
    ticket_id = make_ticket(database_url, language=language, question="Posso pagare <a> rate?")
    with session_scope(database_url) as session:
        row = enqueue_customer_answer(session.get(Ticket, ticket_id), "Sì, con Klarna.\nGrazie",
                                      session=session, settings=mail_settings, now=NOW)
    assert row.to_addrs == ["ann@example.com"] and row.kind == "answer"
    assert row.subject == "Re: Posso pagare <a> rate?"
    assert row.headers["From"] == mail_settings.mail_from
    assert greeting in row.text_body and "Sì, con Klarna.\nGrazie" in row.text_body
    assert greeting in row.html_body and "Posso pagare &lt;a&gt; rate?" in row.html_body
    # The token admits replies into the learning loop: customers never see it.
    everything = " ".join([row.message_id, *row.headers.values(), row.text_body, row.html_body])
    assert find_token(everything) is None
    assert "Auto-Submitted" not in row.headers


def test_no_email_to_a_customer_who_gave_none(database_url, mail_settings):
    ticket_id = make_ticket(database_url, email="")
    with session_scope(database_url) as session:
        assert enqueue_customer_answer(session.get(Ticket, ticket_id), "Sì", session=session,
                                       settings=mail_settings, now=NOW) is None
        assert session.query(OutboxMessage).count() == 0


def test_the_same_answer_is_mailed_once_a_corrected_one_again(database_url, mail_settings):
    ticket_id = make_ticket(database_url)
    with session_scope(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        rows = [enqueue_customer_answer(ticket, text, session=session, settings=mail_settings,
                                        now=NOW) for text in ("Sì.", "Sì.", "Sì, anche PayPal.")]
    assert rows[0].id == rows[1].id != rows[2].id
