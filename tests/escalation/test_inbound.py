"""Receiving operator replies on a real database: what is accepted, what is refused and
shown on the ticket, and that a redelivered mail changes nothing."""

import os
import re
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from core import Settings, session_scope
from escalation import inbound
from escalation.inbound import receive
from escalation.models import InboundMessage, Ticket, TicketEvent
from escalation.tokens import sign

MAIL = Path(__file__).parent / "mail"
FIXTURE_TOKEN = b"t12-toy710-cll2wltt6jc3rjju"  # signed with another key: forged here
KEY = "test-secret-key"
ISSUED = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
NOW = ISSUED + timedelta(minutes=40)
OPERATOR = "operatore@bottega-aurora.example"
GMAIL_IT_ANSWER = (
    "Buongiorno,\n\nsì, il pagamento in 3 rate è disponibile con PayPal e con Klarna per gli "
    "ordini da 60 € in su. Si sceglie al momento del checkout, senza costi aggiuntivi.")


@pytest.fixture
def mail_settings(tmp_path, database_url):
    return Settings(var_dir=tmp_path, database_url=database_url, secret_key=KEY,
                    operators=["Marco Rossi <Operatore@Bottega-Aurora.example>"])


@pytest.fixture
def ticket(database_url):
    """Ticket 12, the one every fixture answers, created directly with the model."""
    def _create(status: str = "open", answer: str = "") -> int:
        with session_scope(database_url) as session:
            session.add(Ticket(id=12, conversation_id="c-12", question="Posso pagare in 3 rate?",
                               language="it", status=status, answer=answer, opened_at=ISSUED,
                               due_at=ISSUED + timedelta(hours=4)))
        return 12
    return _create


def fixture(name: str, *, token_issued: datetime | None = ISSUED,
            envelope: str = "operatore@bottega-aurora.example") -> bytes:
    """A fixture mail whose token is valid for KEY (or left forged with token_issued=None)."""
    # The envelope sender, as the receiver (or the mailbox's server) writes it on top.
    raw = f"Return-Path: <{envelope}>\r\n".encode() + (MAIL / name).read_bytes()
    if token_issued is None:
        return raw
    return raw.replace(FIXTURE_TOKEN, sign(12, key=KEY, now=token_issued).encode())


def deliver(raw: bytes, settings: Settings, *, now: datetime = NOW, source: str = "smtp"):
    with session_scope(settings.resolved_database_url) as session:
        return receive(raw, source=source, session=session, settings=settings, now=now)


def rows(settings: Settings) -> list[InboundMessage]:
    with session_scope(settings.resolved_database_url) as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def refusals(settings: Settings) -> list[dict]:
    with session_scope(settings.resolved_database_url) as session:
        events = session.scalars(select(TicketEvent).where(
            TicketEvent.kind == "reply_quarantined").order_by(TicketEvent.id))
        return [event.detail for event in events]


def test_an_operator_answer_is_accepted_recorded_and_stored(mail_settings, ticket):
    ticket()
    raw = fixture("gmail_it.eml")
    result = deliver(raw, mail_settings)
    assert (result.status, result.reason, result.ticket_id) == ("accepted", "", 12)
    assert result.answer_text == GMAIL_IT_ANSWER and result.operator == OPERATOR
    [row] = rows(mail_settings)
    assert (row.id, row.status, row.ticket_id, row.answer_text) == (
        result.inbound_id, "accepted", 12, GMAIL_IT_ANSWER)
    assert row.source == "smtp" and row.from_addr == OPERATOR and row.size == len(raw)
    assert row.received_at.replace(tzinfo=UTC) == NOW
    inbound_dir = mail_settings.var_dir.resolve() / "mail" / "inbound"
    assert Path(row.raw_path) == inbound_dir / f"{row.id}.eml"
    assert Path(row.raw_path).read_bytes() == raw
    assert refusals(mail_settings) == []


def test_nul_and_control_bytes_in_a_reply_never_stop_it_being_recorded(mail_settings, ticket):
    """PostgreSQL refuses NUL in text: the mail fuzz found replies answered 451 forever."""
    ticket()
    raw = (fixture("gmail_it.eml")
           .replace(b"Subject: Re:", b"Subject: Re:\x00\x07", 1)
           .replace(b"Message-ID: <CAJ3kq8Z", b"Message-ID: <CAJ3\x00kq8Z", 1)
           .replace(b"Buongiorno,", b"Buon\x00giorno,\x1b", 1))
    result = deliver(raw, mail_settings)
    assert (result.status, result.ticket_id) == ("accepted", 12)
    assert result.answer_text == GMAIL_IT_ANSWER
    [row] = rows(mail_settings)
    assert "\x00" not in row.subject + row.message_id and row.subject.startswith("Re: [#T12]")
    assert deliver(raw, mail_settings).status == "duplicate"  # and known again by its id


@pytest.mark.parametrize("name", ["outlook_it.eml", "outlook_en.eml", "thunderbird_it.eml",
                                  "html_only.eml", "outlook_ios_base64.eml"])
def test_answers_from_every_client_are_accepted(mail_settings, ticket, name):
    ticket()
    result = deliver(fixture(name), mail_settings)
    assert result.status == "accepted" and result.answer_text


def test_the_same_mail_delivered_twice_is_processed_once(mail_settings, ticket):
    ticket()
    raw = fixture("gmail_it.eml")
    first = deliver(raw, mail_settings)
    again = deliver(raw, mail_settings, source="imap")
    assert (again.status, again.reason, again.inbound_id) == ("duplicate", "accepted",
                                                              first.inbound_id)
    assert again.answer_text == "" and len(rows(mail_settings)) == 1
    assert len(list((mail_settings.var_dir / "mail" / "inbound").iterdir())) == 1


def test_a_mail_without_message_id_is_known_by_its_bytes(mail_settings, ticket):
    ticket()
    raw = b"".join(line for line in fixture("gmail_en.eml").splitlines(keepends=True)
                   if not line.startswith(b"Message-ID:"))
    assert deliver(raw, mail_settings).status == "accepted"
    assert deliver(raw, mail_settings).status == "duplicate"
    [row] = rows(mail_settings)
    assert row.message_id.startswith("sha256:")


def test_concurrent_deliveries_of_one_mail_record_it_once(mail_settings, ticket):
    ticket()
    raw, results = fixture("gmail_it.eml"), []
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        results.append(deliver(raw, mail_settings).status)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["accepted", "duplicate"] and len(rows(mail_settings)) == 1


def test_someone_else_answering_is_quarantined_and_shown_on_the_ticket(mail_settings, ticket):
    ticket()
    raw = fixture("gmail_it.eml").replace(b"Marco Rossi <operatore@", b"Marco Rossi <cliente@")
    result = deliver(raw, mail_settings)
    assert (result.status, result.reason, result.ticket_id) == (
        "quarantined", "unauthorised_sender", 12)
    assert result.answer_text == "" and result.operator == ""
    [event] = refusals(mail_settings)
    assert event["reason"] == "unauthorised_sender" and event["inbound_id"] == result.inbound_id


def test_a_forged_token_is_refused(mail_settings, ticket):
    ticket()
    result = deliver(fixture("gmail_it.eml", token_issued=None), mail_settings)
    assert (result.status, result.reason, result.ticket_id) == ("quarantined", "bad_token", 12)
    assert [event["reason"] for event in refusals(mail_settings)] == ["bad_token"]


def test_an_expired_token_is_refused(mail_settings, ticket):
    ticket()
    result = deliver(fixture("gmail_it.eml"), mail_settings, now=ISSUED + timedelta(days=61))
    assert (result.status, result.reason) == ("quarantined", "bad_token")


def test_the_subject_tag_alone_does_not_authenticate(mail_settings, ticket):
    ticket()
    raw = fixture("gmail_it.eml", token_issued=None).replace(FIXTURE_TOKEN, b"nothing")
    result = deliver(raw, mail_settings)
    assert (result.status, result.reason, result.ticket_id) == ("quarantined", "no_token", 12)


@pytest.mark.parametrize(("status", "answer"), [("closed", "Sì."), ("answered", "Sì.")])
def test_a_reply_to_a_closed_or_answered_ticket_is_refused(mail_settings, ticket, status,
                                                           answer):
    ticket(status=status, answer=answer)
    result = deliver(fixture("gmail_it.eml"), mail_settings)
    assert (result.status, result.reason, result.ticket_id) == (
        "quarantined", "ticket_closed", 12)


def test_a_valid_token_for_a_ticket_that_does_not_exist(mail_settings):
    result = deliver(fixture("gmail_it.eml"), mail_settings)
    assert (result.status, result.reason, result.ticket_id) == (
        "quarantined", "unknown_ticket", None)
    assert rows(mail_settings)[0].status == "quarantined"


@pytest.mark.parametrize(("name", "status", "reason"), [
    ("ooo_it.eml", "ignored", "auto_reply"), ("ooo_en.eml", "ignored", "auto_reply"),
    ("bounce.eml", "ignored", "bounce"), ("empty_reply.eml", "quarantined", "empty"),
    ("vedi_allegato.eml", "quarantined", "attachment_only"),
    ("broken_mime.eml", "quarantined", "unparseable"),
])
def test_what_is_not_an_answer(mail_settings, ticket, name, status, reason):
    ticket()
    result = deliver(fixture(name), mail_settings)
    assert (result.status, result.reason, result.ticket_id) == (status, reason, 12)
    assert result.answer_text == ""
    [row] = rows(mail_settings)
    assert (row.status, row.reason, row.answer_text) == (status, reason, "")
    assert Path(row.raw_path).exists()
    assert [(e["status"], e["reason"]) for e in refusals(mail_settings)] == [(status, reason)]


def test_a_25_mb_attachment_is_quarantined_without_parsing_the_body(mail_settings, ticket,
                                                                  monkeypatch):
    ticket()
    message = EmailMessage()
    message["From"] = f"Marco Rossi <{OPERATOR}>"
    message["To"] = f"assistenza+{sign(12, key=KEY, now=ISSUED)}@bottega-aurora.example"
    message["Subject"], message["Message-ID"] = "Re: [#T12] Catalogo", "<big-1@example.com>"
    message.set_content("Ecco il catalogo completo.")
    message.add_attachment(os.urandom(25 * 1024 * 1024), maintype="application",
                           subtype="pdf", filename="catalogo.pdf")
    raw = bytes(message)
    assert len(raw) > mail_settings.max_inbound_bytes  # base64 makes 25 MB about 34 MB
    parsed_sizes = []
    real_parse = inbound.parse_reply
    monkeypatch.setattr(inbound, "parse_reply",
                        lambda data: parsed_sizes.append(len(data)) or real_parse(data))
    result = deliver(raw, mail_settings)
    assert (result.status, result.reason, result.ticket_id) == ("quarantined", "too_large", 12)
    assert max(parsed_sizes) < 10_000
    [row] = rows(mail_settings)
    assert row.size == len(raw) and row.raw_path == "" and row.message_id == "<big-1@example.com>"
    assert row.from_addr == OPERATOR
    assert deliver(raw, mail_settings).status == "duplicate"


# -- the answer is recorded with the mail (issue 10, point 4) --------------------------------
def ticket_row(settings: Settings) -> Ticket:
    with session_scope(settings.resolved_database_url) as session:
        ticket = session.get(Ticket, 12)
        _ = ticket.events
        return ticket


def test_an_accepted_mail_records_the_answer_in_the_same_transaction(mail_settings, ticket):
    ticket()
    deliver(fixture("gmail_it.eml"), mail_settings)
    recorded = ticket_row(mail_settings)
    assert (recorded.status, recorded.answer, recorded.answered_by) == (
        "answered", GMAIL_IT_ANSWER, OPERATOR)
    assert [e.kind for e in recorded.events] == ["answered"]
    assert recorded.events[0].detail == {"by": OPERATOR, "via": "smtp"}


class Killed(Exception):
    """The process dying before the transaction commits."""


def test_a_transaction_that_dies_keeps_neither_the_mail_nor_the_answer(mail_settings, ticket):
    """SQLite used to commit the mail as 'received' when a savepoint was released, before
    the answer was recorded: a crash then lost the answer and the retry was a duplicate."""
    ticket()
    raw = fixture("gmail_it.eml")
    with pytest.raises(Killed):
        with session_scope(mail_settings.resolved_database_url) as session:
            receive(raw, source="smtp", session=session, settings=mail_settings, now=NOW)
            raise Killed
    assert rows(mail_settings) == [] and ticket_row(mail_settings).status == "open"
    retry = deliver(raw, mail_settings)  # the sending server never got its 250: it retries
    assert (retry.status, retry.ticket_id) == ("accepted", 12)
    assert ticket_row(mail_settings).answer == GMAIL_IT_ANSWER


# -- forged operator mail (issue 10, point 11) ------------------------------------------------
PLAIN_TO = b"To: Bottega Aurora Assistenza <assistenza@bottega-aurora.example>"


def to_plain_address(raw: bytes) -> bytes:
    """The mail sent to the shop's plain address: the token only in the thread headers."""
    return re.sub(rb"(?m)^To:[^\r\n]*", PLAIN_TO, raw, count=1)


def test_the_issues_forgery_is_quarantined_and_shown_on_the_ticket(mail_settings, ticket):
    """Spoofed From, the token copied from a References header, the attacker's envelope."""
    ticket()
    raw = to_plain_address(fixture("gmail_it.eml", envelope="attacker@evil.example"))
    result = deliver(raw, mail_settings)
    assert (result.status, result.reason, result.ticket_id) == (
        "quarantined", "envelope_mismatch", 12)
    assert ticket_row(mail_settings).status == "open"
    [event] = refusals(mail_settings)
    assert event["envelope_from"] == "attacker@evil.example"
    assert rows(mail_settings)[0].envelope_from == "attacker@evil.example"


@pytest.mark.parametrize(("envelope", "reason"), [
    ("attacker@evil.example", "envelope_mismatch"),
    ("", "no_envelope_sender"),  # the null sender <> of bounces, not an operator
])
def test_the_envelope_sender_must_be_an_operator(mail_settings, ticket, envelope, reason):
    ticket()
    result = deliver(fixture("gmail_it.eml", envelope=envelope), mail_settings)
    assert (result.status, result.reason) == ("quarantined", reason)


def test_a_mail_without_return_path_is_not_an_answer(mail_settings, ticket):
    ticket()
    raw = fixture("gmail_it.eml").split(b"\r\n", 1)[1]
    assert not raw.startswith(b"Return-Path")
    assert deliver(raw, mail_settings).reason == "no_envelope_sender"


def test_a_token_only_in_the_thread_headers_is_not_enough(mail_settings, ticket):
    ticket()
    result = deliver(to_plain_address(fixture("gmail_it.eml")), mail_settings)
    assert (result.status, result.reason, result.ticket_id) == (
        "quarantined", "token_not_in_address", 12)


AR_FAIL = b"Authentication-Results: mx.shop.example; spf=pass smtp.mailfrom=x; dmarc=fail\r\n"
AR_PASS = b"Authentication-Results: mx.shop.example; spf=pass; dkim=pass; dmarc=pass\r\n"


def with_headers(raw: bytes, *headers: bytes) -> bytes:
    """Headers added on top, as the servers on the way add them (the last one first)."""
    return b"".join(headers) + raw


@pytest.mark.parametrize(("headers", "authserv", "reason"), [
    ((AR_FAIL,), "", "auth_failed:dmarc=fail"),
    ((AR_PASS,), "", ""),
    # only the topmost counts when no authserv-id is set: the one below may be the sender's
    ((AR_PASS, AR_FAIL), "", ""),
    # with one set, only that server's verdict, wherever it is
    ((b"Authentication-Results: evil.example; dmarc=pass\r\n", AR_FAIL), "mx.shop.example",
     "auth_failed:dmarc=fail"),
    ((b"Authentication-Results: evil.example; spf=fail\r\n", AR_PASS), "MX.shop.example", ""),
    ((b"Authentication-Results: mx.shop.example (v1); spf=fail (not allowed) smtp.mailfrom=x\r\n",),
     "", "auth_failed:spf=fail"),
    ((b"Authentication-Results: mx.shop.example; dkim=fail header.d=a; dkim=pass header.d=b\r\n",),
     "", ""),
    ((b"Authentication-Results: mx.shop.example;\r\n dkim=fail header.d=a\r\n",), "",
     "auth_failed:dkim=fail"),
])
def test_the_receiving_servers_authentication_results_are_honoured(
        tmp_path, database_url, ticket, headers, authserv, reason):
    ticket()
    settings = Settings(var_dir=tmp_path, database_url=database_url, secret_key=KEY,
                        operators=[OPERATOR], inbound_authserv_id=authserv)
    result = deliver(with_headers(fixture("gmail_it.eml"), *headers), settings)
    assert (result.status, result.reason) == (("quarantined", reason) if reason
                                              else ("accepted", ""))


def test_a_token_answers_its_ticket_once(mail_settings, ticket, database_url):
    ticket()
    raw = fixture("gmail_it.eml")
    assert deliver(raw, mail_settings).status == "accepted"
    with session_scope(database_url) as session:  # reopened, say, to correct the answer
        reopened = session.get(Ticket, 12)
        reopened.status, reopened.answer = "open", ""
    again = raw.replace(b"CAJ3kq8Zb0nR9", b"another-mail-")
    result = deliver(again, mail_settings)
    assert (result.status, result.reason) == ("quarantined", "token_used")
    assert ticket_row(mail_settings).status == "open"


def test_two_answers_racing_for_one_ticket_record_one(mail_settings, ticket):
    ticket()
    first = fixture("gmail_it.eml")
    second = fixture("outlook_it.eml")
    results, barrier = [], threading.Barrier(2)

    def worker(raw):
        barrier.wait()
        results.append(deliver(raw, mail_settings))

    threads = [threading.Thread(target=worker, args=(raw,)) for raw in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status for r in results) == ["accepted", "quarantined"]
    [winner] = [r for r in results if r.status == "accepted"]
    assert ticket_row(mail_settings).answer == winner.answer_text
    assert [e.kind for e in ticket_row(mail_settings).events].count("answered") == 1


def test_a_mail_left_received_by_an_older_version_is_finished_by_its_redelivery(
        mail_settings, ticket, database_url):
    """Before the fix the mail was committed as 'received' ahead of its answer; a crash
    left it so. Its redelivery now finishes it instead of being dropped."""
    ticket()
    raw = fixture("gmail_it.eml")
    with session_scope(database_url) as session:
        session.add(InboundMessage(message_id="<CAJ3kq8Zb0nR9xqTgV+4f2mWQd1HcY0pYx7=uQn8kQm1s4eV3aA"
                                              "@mail.gmail.com>", source="smtp", status="received",
                                   received_at=ISSUED, from_addr=OPERATOR))
    result = deliver(raw, mail_settings)
    assert (result.status, result.ticket_id) == ("accepted", 12)
    [row] = rows(mail_settings)
    assert row.status == "accepted" and Path(row.raw_path).read_bytes() == raw
    assert ticket_row(mail_settings).answer == GMAIL_IT_ANSWER
    assert deliver(raw, mail_settings).status == "duplicate"
