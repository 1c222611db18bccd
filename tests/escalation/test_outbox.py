"""The sender against a real SMTP server (aiosmtpd on a free port) and real databases."""

import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from bot.stack import free_port
from core import Settings, session_scope
from escalation import Ticket, outbox
from escalation.mail_out import enqueue_ticket_mail
from escalation.models import OutboxMessage
from escalation.outbox import send_due

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BASE_S = 30.0


def make_settings(tmp_path, url, port, **fields) -> Settings:
    return Settings(var_dir=tmp_path, database_url=url, secret_key="test-secret",
                    smtp_host="127.0.0.1", smtp_port=port, outbox_retry_base_s=BASE_S,
                    **fields)


def queue(url, settings, *, levels=(0,), to=("operatore@bottega-aurora.example",)) -> int:
    """Add a ticket and queue one escalation mail per level; returns the ticket id."""
    with session_scope(url) as session:
        ticket = add_ticket(session, "Posso pagare a rate?")
        for level in levels:
            enqueue_ticket_mail(ticket, "escalation", list(to), session=session,
                                settings=settings, now=NOW, level=level)
        return ticket.id


def add_ticket(session, question: str) -> Ticket:
    ticket = Ticket(conversation_id="c1", question=question, language="it",
                    reason="kb_escalate", opened_at=NOW, due_at=NOW + timedelta(hours=4))
    session.add(ticket)
    session.flush()
    return ticket


def rows(url) -> list[OutboxMessage]:
    with session_scope(url) as session:
        return list(session.query(OutboxMessage).order_by(OutboxMessage.id))


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite gives naive


def test_a_due_mail_is_sent_once(database_url, tmp_path, smtp_server):
    capture, port = smtp_server
    settings = make_settings(tmp_path, database_url, port)
    ticket_id = queue(database_url, settings)
    assert send_due(database_url, settings, now=NOW) == 1
    assert send_due(database_url, settings, now=NOW + timedelta(hours=1)) == 0
    [row] = rows(database_url)
    assert row.status == "sent" and aware(row.sent_at) == NOW and row.attempts == 1
    [mail] = capture.messages
    assert mail["Message-ID"] == row.message_id
    assert mail["Subject"].startswith(f"[#T{ticket_id}]")
    assert mail["Reply-To"] == row.headers["Reply-To"]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["To"] == "operatore@bottega-aurora.example"
    assert mail.get_body(("plain",)).get_content().count("Posso pagare a rate?") >= 1
    assert "Posso pagare a rate?" in mail.get_body(("html",)).get_content()


def test_a_down_server_means_retries_with_backoff_then_success(database_url, tmp_path,
                                                               smtp_server):
    capture, port = smtp_server
    down = make_settings(tmp_path, database_url, free_port())  # nothing listens there
    queue(database_url, down)
    assert send_due(database_url, down, now=NOW) == 0
    [row] = rows(database_url)
    assert row.status == "pending" and row.attempts == 1 and "Connection" in row.last_error
    first_wait = aware(row.next_attempt_at) - NOW
    assert timedelta(seconds=BASE_S) <= first_wait <= timedelta(seconds=BASE_S * 1.25)
    assert send_due(database_url, down, now=NOW + timedelta(seconds=10)) == 0  # not due yet
    assert rows(database_url)[0].attempts == 1

    later = aware(row.next_attempt_at)
    assert send_due(database_url, down, now=later) == 0
    row = rows(database_url)[0]
    assert row.attempts == 2
    assert timedelta(seconds=2 * BASE_S) <= aware(row.next_attempt_at) - later \
        <= timedelta(seconds=2.5 * BASE_S)

    up = make_settings(tmp_path, database_url, port)
    assert send_due(database_url, up, now=aware(row.next_attempt_at)) == 1
    assert rows(database_url)[0].status == "sent" and len(capture.messages) == 1


def test_the_sender_gives_up_after_max_attempts(database_url, tmp_path, smtp_server):
    capture, port = smtp_server
    down = make_settings(tmp_path, database_url, free_port(), outbox_max_attempts=3)
    queue(database_url, down)
    for day in range(5):
        send_due(database_url, down, now=NOW + timedelta(days=day))
    [row] = rows(database_url)
    assert row.status == "failed" and row.attempts == 3 and row.last_error
    up = make_settings(tmp_path, database_url, port)
    assert send_due(database_url, up, now=NOW + timedelta(days=30)) == 0
    assert capture.messages == []


def test_a_permanent_refusal_fails_at_once(database_url, tmp_path, smtp_server):
    capture, port = smtp_server
    capture.refuse.add("nobody@bottega-aurora.example")
    settings = make_settings(tmp_path, database_url, port)
    queue(database_url, settings, to=("nobody@bottega-aurora.example",))
    assert send_due(database_url, settings, now=NOW) == 0
    [row] = rows(database_url)
    assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error


class Crash(BaseException):
    """The process dying between the server's 250 and our commit."""


def test_a_crash_after_sending_resends_with_the_same_message_id(database_url, tmp_path,
                                                                smtp_server, monkeypatch):
    capture, port = smtp_server
    settings = make_settings(tmp_path, database_url, port)
    queue(database_url, settings)

    def crash(*args, **kwargs):
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "_mark_sent", crash)
        with pytest.raises(Crash):
            send_due(database_url, settings, now=NOW)
    [row] = rows(database_url)
    assert row.status == "sending" and len(capture.messages) == 1
    # While the claim's lease runs, another sender leaves the row alone...
    assert send_due(database_url, settings, now=NOW + timedelta(minutes=1)) == 0
    # ...after it, the row is sent again: at-least-once, and the copy is recognisable.
    assert send_due(database_url, settings, now=NOW + outbox.SENDING_LEASE) == 1
    assert rows(database_url)[0].status == "sent"
    assert capture.ids() == [row.message_id, row.message_id]
    assert capture.messages[0]["Date"] == capture.messages[1]["Date"]


def test_concurrent_senders_never_send_a_row_twice(database_url, tmp_path, smtp_server):
    # PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the claim's conditional UPDATE.
    capture, port = smtp_server
    settings = make_settings(tmp_path, database_url, port)
    queue(database_url, settings, levels=range(40))
    start = threading.Barrier(4)
    errors = []

    def sender():
        try:
            start.wait()
            while send_due(database_url, settings, now=NOW, limit=3):
                pass
        except Exception as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    ids = capture.ids()
    assert len(ids) == 40 and len(set(ids)) == 40
    assert {row.status for row in rows(database_url)} == {"sent"}


@contextmanager
def running_sender(database_url, settings, capture, **options):
    """`run_sender` in a thread, stopped on leaving; `until_mail()` waits (up to 10 s) for
    the first mail to reach the server."""
    stop = threading.Event()
    thread = threading.Thread(target=outbox.run_sender, args=(database_url, settings, stop),
                              kwargs={"interval_s": 0.05, **options})

    def until_mail() -> None:
        for _ in range(200):
            if capture.messages:
                break
            stop.wait(0.05)

    thread.start()
    try:
        yield thread, until_mail
    finally:
        stop.set()
        thread.join(timeout=10)


def test_run_sender_sends_until_stopped(database_url, tmp_path, smtp_server):
    capture, port = smtp_server
    settings = make_settings(tmp_path, database_url, port)
    with session_scope(database_url) as session:  # due now by the real clock
        enqueue_ticket_mail(add_ticket(session, "Spedite in Svizzera?"), "escalation",
                            ["op@example.com"], session=session, settings=settings,
                            now=datetime.now(UTC) - timedelta(seconds=1))
    with running_sender(database_url, settings, capture) as (thread, until_mail):
        until_mail()
    assert not thread.is_alive() and len(capture.messages) == 1


# -- a row that can never be a mail fails alone (issue 10, point 2) -------------------------
CRLF = "crlf@example.com\r\nBcc: attacker@x.example"


def queue_answer(url, settings, email: str) -> int:
    """A customer's answer mail to `email`, as an answered ticket queues it."""
    from escalation.mail_out import enqueue_customer_answer

    with session_scope(url) as session:
        ticket = add_ticket(session, "Spedite in Svizzera?")
        ticket.customer_email, ticket.contact_consent = email, True
        enqueue_customer_answer(ticket, "Sì, in 5 giorni.", session=session, settings=settings,
                                now=NOW)
        return ticket.id


def test_a_line_break_in_an_address_fails_that_row_only(database_url, tmp_path, smtp_server):
    capture, port = smtp_server
    settings = make_settings(tmp_path, database_url, port)
    queue(database_url, settings, levels=(0,))
    queue_answer(database_url, settings, CRLF)  # between the good rows, in the same batch
    queue(database_url, settings, levels=(0, 1))
    assert send_due(database_url, settings, now=NOW) == 3

    by_kind = {}
    for row in rows(database_url):
        by_kind.setdefault(row.kind, []).append(row)
    [bad] = by_kind["answer"]
    assert bad.status == "failed" and bad.attempts == 1
    assert "not a valid address" in bad.last_error
    assert {row.status for row in by_kind["escalation"]} == {"sent"}
    assert len(capture.messages) == 3
    assert all(m["Bcc"] is None for m in capture.messages)
    rcpts = [rcpt for _, tos in capture.envelopes for rcpt in tos]
    assert rcpts == ["operatore@bottega-aurora.example"] * 3
    # Later batches go on, and the failed row is not tried again.
    queue(database_url, settings, levels=(2,))
    assert send_due(database_url, settings, now=NOW + timedelta(days=1)) == 1
    assert len(capture.messages) == 4 and rows(database_url)[1].attempts == 1


@pytest.mark.parametrize("damage", [
    {"headers": {"From": "Shop <shop@example.com>", "X-Note": "a\r\nBcc: attacker@x.example"}},
    {"headers": {"From": "Shop <shop@example.com>", "Bad Name:": "x"}},
    {"subject": "Ciao\nBcc: attacker@x.example"},
    {"to_addrs": "operatore@bottega-aurora.example"},  # a string, not a list
    {"to_addrs": []},
    {"to_addrs": ["Marco <op@example.com>"]},
    {"headers": ["From", "shop@example.com"]},  # a list, not a mapping
])
def test_any_row_that_cannot_be_built_fails_alone(database_url, tmp_path, smtp_server, damage):
    capture, port = smtp_server
    settings = make_settings(tmp_path, database_url, port)
    queue(database_url, settings, levels=(0,))
    with session_scope(database_url) as session:
        session.add(OutboxMessage(**{
            "dedupe_key": "broken", "kind": "notice", "to_addrs": ["op@example.com"],
            "subject": "Guasto", "text_body": "x", "headers": {"From": "shop@example.com"},
            "message_id": "<broken@example.com>", "next_attempt_at": NOW - timedelta(minutes=1),
            "created_at": NOW} | damage))
    assert send_due(database_url, settings, now=NOW) == 1
    broken, good = sorted(rows(database_url), key=lambda row: row.dedupe_key != "broken")
    assert broken.status == "failed" and broken.last_error and good.status == "sent"
    assert [m["Message-ID"] for m in capture.messages] == [good.message_id]
    assert all(m["Bcc"] is None for m in capture.messages)


def test_the_running_sender_keeps_sending_past_a_bad_row(database_url, tmp_path, smtp_server):
    capture, port = smtp_server
    settings = make_settings(tmp_path, database_url, port)
    queue_answer(database_url, settings, CRLF)
    with running_sender(database_url, settings, capture, limit=1) as (_, until_mail):
        with session_scope(database_url) as session:
            enqueue_ticket_mail(add_ticket(session, "Spedite in Svizzera?"), "escalation",
                                ["op@example.com"], session=session, settings=settings,
                                now=datetime.now(UTC) - timedelta(seconds=1))
        until_mail()
    assert len(capture.messages) == 1
    assert [row.status for row in rows(database_url)] == ["failed", "sent"]
