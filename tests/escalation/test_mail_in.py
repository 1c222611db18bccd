"""Mail in: a real aiosmtpd receiver on a free port, fed by smtplib; the IMAP poller
against a small in-memory stand-in for an IMAP server (no IMAP server runs here)."""

import smtplib
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.stack import free_port
from core import Settings, session_scope, utcnow
from escalation.inbound import receive
from escalation.mail_in import poll_imap, run_imap_poller, start_receiver
from escalation.models import InboundMessage, Ticket
from escalation.tokens import sign

MAIL = Path(__file__).parent / "mail"
REPLY_TO = "assistenza+t12-toy710-cll2wltt6jc3rjju@bottega-aurora.example"
OPERATOR = "operatore@bottega-aurora.example"


def wire(name: str) -> bytes:
    """A fixture as an MTA sends it: CRLF line ends."""
    return (MAIL / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def receiver(tmp_path):
    controllers = []

    def start(on_message, **fields) -> Settings:
        settings = Settings(var_dir=tmp_path, inbound_smtp_host="127.0.0.1",
                            inbound_smtp_port=free_port(), **fields)
        controllers.append(start_receiver(settings, on_message))
        return settings

    yield start
    for controller in controllers:
        controller.stop()


def send(settings: Settings, raw: bytes, rcpt: str = REPLY_TO) -> None:
    with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port, timeout=30) as smtp:
        smtp.sendmail(OPERATOR, [rcpt], raw)


@pytest.mark.parametrize("name", ["gmail_it.eml", "outlook_it.eml", "unknown_charset.eml",
                                  "vedi_allegato.eml", "broken_mime.eml"])
def test_the_callback_gets_the_bytes_and_the_envelope_recipient(receiver, name):
    received = []
    settings = receiver(lambda raw, source: received.append((raw, source)))
    send(settings, wire(name))
    [(raw, source)] = received
    assert source == "smtp"
    assert raw == (f"Return-Path: <{OPERATOR}>\r\nDelivered-To: {REPLY_TO}\r\n".encode()
                   + wire(name))


def test_the_envelope_sender_is_the_receivers_own_return_path(receiver):
    """A sender cannot state its own envelope: its Return-Path headers are dropped, the
    receiver's (from MAIL FROM) is the only one and on top."""
    received = []
    settings = receiver(lambda raw, source: received.append(raw))
    forged = (b"Return-Path: <operatore@bottega-aurora.example>\r\n"
              + wire("gmail_it.eml").replace(b"\r\nFrom:", b"\r\nreturn-path:\r\n"
                                             b" <operatore@bottega-aurora.example>\r\nFrom:", 1))
    with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port) as smtp:
        smtp.sendmail("attacker@evil.example", [REPLY_TO], forged)
    [raw] = received
    header_block = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert header_block.count(b"return-path") == 1
    assert raw.startswith(b"Return-Path: <attacker@evil.example>\r\n")


def test_an_answer_sent_over_smtp_is_recorded(receiver, tmp_path, database_url):
    key = "smtp-test-key"

    def on_message(raw: bytes, source: str) -> None:
        with session_scope(database_url) as session:
            receive(raw, source=source, session=session, settings=settings,
                    now=utcnow())

    with session_scope(database_url) as session:
        session.add(Ticket(id=12, conversation_id="c-12", question="Rate?",
                           due_at=utcnow()))
    settings = receiver(on_message, database_url=database_url, secret_key=key,
                        operators=[OPERATOR])
    token = sign(12, key=key, now=utcnow())
    send(settings, wire("gmail_it.eml").replace(b"t12-toy710-cll2wltt6jc3rjju", token.encode()))
    with session_scope(database_url) as session:
        [row] = session.scalars(select(InboundMessage))
        assert (row.status, row.ticket_id, row.source) == ("accepted", 12, "smtp")
        assert row.answer_text.startswith("Buongiorno,\n\nsì, il pagamento in 3 rate")


def test_an_oversized_mail_gets_552(receiver):
    received = []
    settings = receiver(lambda raw, source: received.append(raw), max_inbound_bytes=20_000)
    big = wire("gmail_en.eml") + (b"x" * 76 + b"\r\n") * 400  # 31 kB in short lines
    # smtplib declares the size (ESMTP SIZE): refused before the data is sent.
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(settings, big)
    assert refused.value.smtp_code == 552
    # A client that does not declare it is refused after the data.
    with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port) as smtp:
        smtp.ehlo()
        smtp.mail(OPERATOR)
        smtp.rcpt(REPLY_TO)
        code, _ = smtp.data(big)
    assert code == 552 and received == []


def test_a_callback_failure_gets_451_and_the_retry_gets_through(receiver):
    attempts = []

    def flaky(raw: bytes, source: str) -> None:
        attempts.append(raw)
        if len(attempts) == 1:
            raise RuntimeError("database is down")

    settings = receiver(flaky)
    with pytest.raises(smtplib.SMTPDataError) as failed:
        send(settings, wire("gmail_it.eml"))
    assert failed.value.smtp_code == 451
    send(settings, wire("gmail_it.eml"))  # the sender's MTA retries: nothing is lost
    assert len(attempts) == 2 and attempts[0] == attempts[1]


def test_a_slow_callback_does_not_stall_other_connections(receiver):
    release, order = threading.Event(), []

    def on_message(raw: bytes, source: str) -> None:
        if b"CAJ3kq8Zb0nR9" in raw:  # gmail_it.eml's Message-ID
            release.wait(10)
        order.append(raw)

    settings = receiver(on_message)
    slow = threading.Thread(target=send, args=(settings, wire("gmail_it.eml")))
    slow.start()
    time.sleep(0.2)
    send(settings, wire("gmail_en.eml"))  # returns while the first is still being handled
    assert len(order) == 1
    release.set()
    slow.join(10)
    assert len(order) == 2


class FakeImap:
    """Just the IMAP4 calls the poller makes, over an in-memory folder."""

    def __init__(self, messages: dict[bytes, bytes], seen: set[bytes] = frozenset()):
        self.messages, self.seen, self.log = messages, set(seen), []

    def login(self, user, password):
        self.log.append(("login", user))
        return "OK", [b"Logged in"]

    def select(self, folder):
        self.log.append(("select", folder))
        return "OK", [str(len(self.messages)).encode()]

    def uid(self, command, *args):
        if command == "SEARCH":
            return "OK", [b" ".join(u for u in self.messages if u not in self.seen)]
        if command == "FETCH":
            uid, what = args
            assert what == "(BODY.PEEK[])"  # RFC822 would set \Seen before we are done
            return "OK", [(uid + b" (UID " + uid + b" BODY[] {n}", self.messages[uid]), b")"]
        if command == "STORE":
            uid, _, flags = args
            assert flags == "(\\Seen)"
            self.seen.add(uid)
            return "OK", []
        raise AssertionError(command)

    def logout(self):
        self.log.append(("logout",))
        return "BYE", []


def imap_settings(tmp_path, **fields) -> Settings:
    return Settings(var_dir=tmp_path, imap_host="imap.example", imap_user="assistenza",
                    imap_password="secret", imap_folder="Posta in arrivo", **fields)


def test_the_poller_hands_over_unseen_mail_and_marks_it_seen_afterwards(tmp_path):
    server = FakeImap({b"7": wire("gmail_it.eml"), b"8": wire("gmail_en.eml"),
                       b"9": wire("ooo_it.eml")}, seen={b"9"})
    handed = []

    def on_message(raw: bytes, source: str) -> None:
        uid = next(u for u, m in server.messages.items() if m == raw)
        assert uid not in server.seen  # not yet marked while being handled
        handed.append((uid, source))

    count = poll_imap(imap_settings(tmp_path), on_message, connect=lambda _: server)
    assert count == 2 and handed == [(b"7", "imap"), (b"8", "imap")]
    assert server.seen == {b"7", b"8", b"9"}
    assert server.log == [("login", "assistenza"), ("select", '"Posta in arrivo"'), ("logout",)]


def test_a_mail_whose_callback_fails_stays_unseen_for_the_next_poll(tmp_path):
    server = FakeImap({b"1": wire("gmail_it.eml"), b"2": wire("gmail_en.eml")})

    def on_message(raw: bytes, source: str) -> None:
        if raw == server.messages[b"1"]:
            raise RuntimeError("database is down")

    assert poll_imap(imap_settings(tmp_path), on_message, connect=lambda _: server) == 1
    assert server.seen == {b"2"}


def test_without_an_imap_host_nothing_is_polled(tmp_path):
    def connect(_):
        raise AssertionError("must not connect")

    settings = Settings(var_dir=tmp_path, imap_host="")
    assert poll_imap(settings, lambda raw, source: None, connect=connect) == 0
    run_imap_poller(settings, lambda raw, source: None, threading.Event())  # returns at once


def test_a_forged_answer_over_smtp_is_quarantined_by_its_envelope(receiver, database_url):
    """The issue's attack over the wire: the operator's From, a valid token, the
    operator's Return-Path written into the mail, and the attacker's own MAIL FROM."""
    key = "smtp-test-key"

    def on_message(raw: bytes, source: str) -> None:
        with session_scope(database_url) as session:
            receive(raw, source=source, session=session, settings=settings, now=utcnow())

    with session_scope(database_url) as session:
        session.add(Ticket(id=12, conversation_id="c-12", question="Rate?", due_at=utcnow()))
    settings = receiver(on_message, database_url=database_url, secret_key=key,
                        operators=[OPERATOR])
    token = sign(12, key=key, now=utcnow())
    forged = (f"Return-Path: <{OPERATOR}>\r\n".encode()
              + wire("gmail_it.eml").replace(b"t12-toy710-cll2wltt6jc3rjju", token.encode()))
    with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port) as smtp:
        smtp.sendmail("attacker@evil.example", [REPLY_TO], forged)
    with session_scope(database_url) as session:
        [row] = session.scalars(select(InboundMessage))
        assert (row.status, row.reason, row.ticket_id) == ("quarantined", "envelope_mismatch", 12)
        assert row.envelope_from == "attacker@evil.example"
        assert session.get(Ticket, 12).status == "open"
