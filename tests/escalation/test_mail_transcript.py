"""The escalation mail's transcript shows what the customer saw and clicked, the same way
the console's ticket page does (one function renders both), never Rasa's raw payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import Settings, session_scope
from escalation import Ticket
from escalation.mail_out import enqueue_ticket_mail
from escalation.transcript import Shown, shown

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def ticket_with_clicks(database_url, add_entry):
    entry = add_entry("La spedizione è gratuita sopra i 59 euro.", "Quanto costa la spedizione?",
                      "Spedite gratis?", language="it", key="it-spedizione")
    with session_scope(database_url) as session:
        ticket = Ticket(
            conversation_id="c-clicks", question="Spedite anche in Norvegia?", language="it",
            reason="customer_request", opened_at=NOW, due_at=NOW + timedelta(hours=2),
            transcript=[
                {"role": "customer", "text": "Quanto costa la spedizione?"},
                {"role": "bot", "text": "La spedizione è gratuita sopra i 59 euro."},
                {"role": "customer", "text": f'/feedback_helpful{{"entry_id": "{entry:d}"}}'},
                {"role": "customer", "text": "/deny"},
                {"role": "customer", "text": "/affirm"},
                {"role": "customer", "text": '/choose_entry{"entry_id": "999999"}'},
            ])
        session.add(ticket)
        session.flush()
        return ticket.id


def test_the_escalation_mail_shows_clicks_as_the_customer_saw_them(database_url, tmp_path,
                                                                   ticket_with_clicks):
    settings = Settings(var_dir=tmp_path, database_url=database_url, secret_key="test-secret")
    with session_scope(database_url) as session:
        row = enqueue_ticket_mail(session.get(Ticket, ticket_with_clicks), "escalation",
                                  ["operatore@bottega-aurora.example"], session=session,
                                  settings=settings, now=NOW)
        bodies = (row.text_body, row.html_body)
    assert "[cliente/customer] (pulsante / button) 👍 Risposta utile: «Quanto costa la " \
           "spedizione?»" in bodies[0]
    assert "[cliente/customer] (pulsante / button) Sì\n" in bodies[0]
    assert "[cliente/customer] (pulsante / button) No\n" in bodies[0]
    for body in bodies:
        assert "Quanto costa la spedizione?" in body
        assert "/affirm" not in body and "/deny" not in body and "entry_id" not in body
        assert "Ha scelto una delle risposte proposte" in body  # an entry deleted since


@pytest.mark.parametrize("text, expected", [
    ("/affirm", Shown("Sì", clicked=True)),
    ("  /deny ", Shown("No", clicked=True)),
    ('/feedback_unhelpful{"entry_id": "7"}', Shown("👎 Risposta non utile: «Titolo»", True)),
    ('/feedback_unhelpful{"entry_id": 7}', Shown("👎 Risposta non utile: «Titolo»", True)),
    ('/feedback_helpful{"entry_id": "8"}', Shown("👍 Risposta utile", clicked=True)),
    ('/choose_entry{"entry_id": "x"}', Shown("Ha scelto una delle risposte proposte", True)),
    ("/feedback_helpful{not json}", Shown("/feedback_helpful{not json}")),  # as typed
    ("/restart", Shown("/restart")),  # not one of our buttons: as typed
    ("Posso pagare /affirm?", Shown("Posso pagare /affirm?")),
    ("", Shown("")),
])
def test_one_logged_message_as_the_customer_saw_it(text, expected):
    assert shown(text, {7: "Titolo"}) == expected
