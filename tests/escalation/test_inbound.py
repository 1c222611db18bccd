"""Receiving operator replies on a real database: what is accepted, what is refused and
shown on the ticket, and that a redelivered mail changes nothing."""

import os
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


def fixture(name: str, *, token_issued: datetime | None = ISSUED) -> bytes:
    """A fixture mail whose token is valid for KEY (or left forged with token_issued=None)."""
    raw = (MAIL / name).read_bytes()
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
