"""An operator answers with a code: the candidate's answer reaches the customer and the
question joins that entry, never a duplicate; anything unclear is quarantined."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from core import session_scope
from escalation.answers import finish_answer
from escalation.inbound import receive
from escalation.mail_out import enqueue_ticket_mail
from escalation.models import OutboxMessage, Ticket, TicketEvent
from escalation.picks import read_pick
from escalation.tokens import sign
from knowledge import repository as repo
from knowledge.models import Entry

KEY = "test-secret-key"
ISSUED = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
OPERATOR = "operatore@bottega-aurora.example"
CONSIDERED = [{"entry_id": 5, "key": "a"}, {"entry_id": 7, "key": "b"}]


@pytest.mark.parametrize("reply, kind, entry", [
    ("B", "pick", 7), ("b.", "pick", 7), ("[B]", "pick", 7), ("Risposta B", "pick", 7),
    ("a\n\n--\nMarco Rossi\nBottega Aurora", "pick", 5),  # the signature is not text
    ("A o B", "ambiguous_code", None), ("A, B", "ambiguous_code", None),
    ("C", "unknown_code", None), ("D", "unknown_code", None),
    ("B, ma aggiungi che il reso è gratuito", "text", None),  # new text wins
    ("Sì, B", "text", None), ("Ok", "text", None), ("a casa tua in 2 giorni", "text", None),
])
def test_the_reply_rule(reply, kind, entry):
    pick = read_pick(reply, CONSIDERED, names=("Bottega Aurora", "Marco Rossi"))
    assert (pick.kind, pick.entry_id) == (kind, entry)


def test_no_candidates_means_every_code_is_unknown():
    assert read_pick("A", []).kind == "unknown_code"
    assert read_pick("A", None).kind == "unknown_code"


@pytest.fixture
def shop(settings, kb, add_entry):
    """Ticket 12 about an Italian question the bot was unsure of; it considered two entries."""
    shipping = add_entry("La spedizione costa 5,90 €, gratis da 59 €.",
                         "Quanto costa la spedizione?",
                         language="it")
    returns = add_entry("Hai 30 giorni per il reso.", "Come faccio un reso?", language="it")
    kb.sync(force=True)
    settings = settings.model_copy(update={"secret_key": KEY, "operators": [OPERATOR]})
    with session_scope(settings.resolved_database_url) as session:
        session.add(Ticket(id=12, conversation_id="c-12", question="quanto pago x mandare un pacco",
                           language="it", status="open", opened_at=ISSUED,
                           due_at=ISSUED + timedelta(hours=4),
                           considered=[{"entry_id": shipping, "key": "spedizione", "score": 0.7},
                                       {"entry_id": returns, "key": "reso", "score": 0.5}]))
    return settings, kb, shipping, returns


def _reply(settings, body: str, message_id: str) -> str:
    message = EmailMessage()
    message["Return-Path"] = f"<{OPERATOR}>"
    message["From"] = f"Marco Rossi <{OPERATOR}>"
    message["To"] = f"assistenza+{sign(12, key=KEY, now=ISSUED)}@bottega-aurora.example"
    message["Subject"], message["Message-ID"] = "Re: [#T12] spedizione", message_id
    message.set_content(body)
    with session_scope(settings.resolved_database_url) as session:
        result = receive(bytes(message), source="smtp", session=session, settings=settings,
                         now=ISSUED + timedelta(minutes=5))
    return result.status, result.reason


def test_the_escalation_mail_lists_each_candidate_with_its_code_and_answer(shop):
    settings, _, _, _ = shop
    with session_scope(settings.resolved_database_url) as session:
        ticket = session.get(Ticket, 12)
        enqueue_ticket_mail(ticket, "escalation", [OPERATOR], session=session, settings=settings,
                            now=ISSUED)
    with session_scope(settings.resolved_database_url) as session:
        mail = session.scalars(select(OutboxMessage)).one()
        text, html = mail.text_body, mail.html_body
    assert "[A] Quanto costa la spedizione?" in text and "5,90 €, gratis da 59 €" in text
    assert "[B] Come faccio un reso?" in text and "30 giorni" in text
    assert "rispondi solo con la sua lettera" in text and "[A]</strong>" in html


def test_a_code_sends_that_answer_and_the_question_joins_its_entry(shop):
    settings, kb, shipping, _ = shop
    entries_before = _count(settings, Entry)
    assert _reply(settings, "A\n\nMarco Rossi", "<pick-1@example.com>") == ("accepted", "")
    with session_scope(settings.resolved_database_url) as session:
        assert session.get(Ticket, 12).answer == "La spedizione costa 5,90 €, gratis da 59 €."
    outcome = finish_answer(12, settings=settings, kb=kb, deliver_in_chat=lambda _t: False)
    assert outcome.learned_entry_id == shipping and outcome.learned_as_variant
    assert _count(settings, Entry) == entries_before  # no duplicate entry
    with session_scope(settings.resolved_database_url) as session:
        questions = [q.text for q in repo.get_entry(shipping, session=session).questions]
    assert "quanto pago x mandare un pacco" in questions
    decision = kb.search("quanto pago x mandare un pacco", language="it")
    assert decision.candidates[0].entry_id == shipping  # taught: a copy is answered


@pytest.mark.parametrize("body, reason", [("C", "unknown_code"), ("A o B", "ambiguous_code")])
def test_an_unclear_code_is_quarantined_and_the_ticket_stays_open(shop, body, reason):
    settings = shop[0]
    assert _reply(settings, body, f"<bad-{reason}@example.com>") == ("quarantined", reason)
    with session_scope(settings.resolved_database_url) as session:
        ticket = session.get(Ticket, 12)
        assert (ticket.status, ticket.answer) == ("open", "")
        notes = session.scalars(select(TicketEvent.detail).where(
            TicketEvent.kind == "reply_quarantined")).all()
    assert [n["reason"] for n in notes] == [reason]
    # The operator replies again with a letter of the list: accepted.
    assert _reply(settings, "B", "<again@example.com>") == ("accepted", "")


def test_a_code_with_new_text_is_sent_as_written(shop):
    settings, kb, shipping, _ = shop
    body = "A, ma per le isole aggiungi 3 €."
    assert _reply(settings, body, "<text-1@example.com>") == ("accepted", "")
    with session_scope(settings.resolved_database_url) as session:
        assert session.get(Ticket, 12).answer == body


def test_a_picked_entry_deleted_before_the_reply_is_refused(shop):
    settings, _, shipping, _ = shop
    with session_scope(settings.resolved_database_url) as session:
        session.delete(session.get(Entry, shipping))
    assert _reply(settings, "A", "<gone@example.com>") == ("quarantined", "unknown_code")


def _count(settings, model) -> int:
    with session_scope(settings.resolved_database_url) as session:
        return len(session.scalars(select(model.id)).all())
