"""The console alerts operators to mail that will never leave (issue 10, point 2): a
banner on every console page, the list with why, and an acknowledgement that hides the
banner until the next failure."""

from __future__ import annotations

from datetime import timedelta

from aiosmtpd.controller import Controller

from bot.stack import free_port
from core import session_scope, utcnow
from escalation import Ticket
from escalation.mail_out import enqueue_customer_answer
from escalation.outbox import send_due
from tests.bot.console_fixtures import HOSTILE
from tests.escalation.conftest import Capture

CRLF = "crlf@example.com\r\nBcc: attacker@x.example"


def answer_mail_to(signed_in, email: str) -> int:
    ticket_id = signed_in.ticket(f"Gift cards? {HOSTILE}")
    with session_scope(signed_in.url) as session:
        ticket = session.get(Ticket, ticket_id)
        ticket.customer_email, ticket.contact_consent = email, True
        enqueue_customer_answer(ticket, "Yes, from 10 euros.", session=session,
                                settings=signed_in.settings, now=utcnow() - timedelta(seconds=1))
    return ticket_id


def send(signed_in) -> Capture:
    capture = Capture()
    controller = Controller(capture, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = signed_in.settings.model_copy(update={"smtp_port": controller.port})
        send_due(signed_in.url, settings)
    finally:
        controller.stop()
    return capture


def test_a_failed_mail_is_announced_listed_and_acknowledged(signed_in):
    assert 'data-testid="failed-mail"' not in signed_in.client.get("/console").text
    bad = answer_mail_to(signed_in, CRLF)
    answer_mail_to(signed_in, "alice@example.com")
    capture = send(signed_in)
    assert [tos for _, tos in capture.envelopes] == [["alice@example.com"]]

    for path in ("/console", "/console/quarantine", "/console/kb", "/console/mail",
                 f"/console/tickets/{bad}"):
        page = signed_in.client.get(path).text
        assert 'data-testid="failed-mail"' in page and "1 email non è stata inviata" in page
        assert 'href="/console/outbox"' in page
    listing = signed_in.client.get("/console/outbox").text
    assert listing.count('data-testid="failed-row"') == 1
    assert f'href="/console/tickets/{bad}"' in listing
    assert "not a valid address" in listing and "risposta al cliente" in listing
    assert "<script>alert" not in listing

    assert signed_in.post("/console/outbox/seen").status_code == 303
    assert 'data-testid="failed-mail"' not in signed_in.client.get("/console").text
    assert signed_in.client.get("/console/outbox").text.count('data-testid="failed-row"') == 1
    answer_mail_to(signed_in, "Bob <bob@example.com>")  # a new failure brings it back
    send(signed_in)
    assert "1 email non è stata inviata" in signed_in.client.get("/console").text


def test_the_alert_needs_a_signed_in_operator(console):
    assert console.client.get("/console/outbox").status_code in (303, 401, 403)
    assert console.client.post("/console/outbox/seen", data={}).status_code in (303, 400, 403)
