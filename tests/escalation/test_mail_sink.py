"""The local sink: a real SMTP conversation in, a Maildir out."""

import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from bot.stack import free_port
from core import Settings, session_scope
from escalation import Ticket
from escalation.mail_out import enqueue_ticket_mail
from escalation.mail_sink import list_messages, read_message, sink_dir, start_sink
from escalation.outbox import send_due


@pytest.fixture
def sink_settings(tmp_path):
    return Settings(var_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=free_port(),
                    secret_key="test-secret")


@pytest.fixture
def sink(sink_settings):
    controller = start_sink(sink_settings)
    yield sink_settings
    controller.stop()


def mail(subject: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "bot@bottega-aurora.example"
    message["To"] = "operatore@bottega-aurora.example"
    message["Subject"] = subject
    message["Date"] = "Tue, 24 Nov 2026 13:30:00 +0100"
    message["Message-ID"] = message_id
    message.set_content("Città: Perugia\nCiao!")
    return message


def test_mail_sent_to_the_sink_lands_in_the_maildir(sink):
    with smtplib.SMTP(sink.smtp_host, sink.smtp_port, timeout=10) as smtp:
        smtp.send_message(mail("Primo", "<one@x.example>"))
        smtp.send_message(mail("Secondo è qui", "<two@x.example>"),
                          to_addrs=["operatore@bottega-aurora.example", "bcc@x.example"])
    assert (sink_dir(sink) / "new").is_dir()
    listed = list_messages(sink)
    assert [m.subject for m in listed] == ["Secondo è qui", "Primo"]  # newest first
    newest = listed[0]
    assert newest.message_id == "<two@x.example>"
    assert newest.from_addr == "bot@bottega-aurora.example"
    assert newest.to == "operatore@bottega-aurora.example"
    assert newest.date == datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
    stored = read_message(sink, newest.key)
    assert stored.get_content() == "Città: Perugia\nCiao!\n"
    assert stored["X-Envelope-To"] == "operatore@bottega-aurora.example, bcc@x.example"
    assert stored["Return-Path"] == "<bot@bottega-aurora.example>"
    assert list_messages(sink, limit=1) == listed[:1]


def test_reading_what_is_not_there(sink_settings):
    assert list_messages(sink_settings) == []  # no sink ever started
    assert read_message(sink_settings, "nope") is None
    sink_dir(sink_settings).mkdir(parents=True)
    assert read_message(sink_settings, "../../etc/passwd") is None


def test_the_outbox_delivers_operator_mail_into_the_sink(database_url, sink):
    settings = sink.model_copy(update={"database_url": database_url})
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    with session_scope(database_url) as session:
        ticket = Ticket(conversation_id="c1", question="Posso pagare a rate?", language="it",
                        reason="kb_escalate", opened_at=now, due_at=now + timedelta(hours=4))
        session.add(ticket)
        session.flush()
        row = enqueue_ticket_mail(ticket, "escalation",
                                  ["operatore@bottega-aurora.example"], session=session,
                                  settings=settings, now=now)
        message_id = row.message_id
    assert send_due(database_url, settings, now=now) == 1
    [stored] = list_messages(settings)
    assert stored.message_id == message_id and stored.subject.startswith(f"[#T{ticket.id}]")
    raw = (next((sink_dir(settings) / "new").iterdir())).read_bytes()
    assert f"\nMessage-ID: {message_id}\n".encode() in raw  # on one line, not folded
    message = read_message(settings, stored.key)
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None
