"""A bounded fuzz of inbound mail: thousands of mangled operator replies, sent over real
SMTP to the product's own receiver while the escalation services run. Every mail gets a
final answer from the receiver (250, or a permanent refusal such as "too big"), never a
temporary failure (451: the product could not record it) or a dropped connection; every
accepted mail is recorded; nothing is logged as an error; and afterwards a normal reply
still closes its ticket, reaches the customer and is learned.

The mutations are seeded: byte flips and cuts, broken MIME (missing boundaries, bogus
encodings and charsets, deep nesting), header floods and overlong lines, NULs, bare CRs,
non-UTF-8 bytes, strangers and operators as senders, real tokens and forged ones.
"""

from __future__ import annotations

import logging
import random
import re
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.conversation.assistant import Assistant
from bot.jobs.services import EscalationServices
from bot.stack import free_port
from core import Settings, session_scope
from escalation import TicketRequest, open_ticket
from escalation.models import InboundMessage, OutboxMessage, Ticket
from knowledge.embedders import HashingEmbedder
from knowledge.models import Entry
from knowledge.service import KnowledgeBase
from tests.bot.test_learning_loop_e2e import gmail_reply_it
from tests.escalation.crash_driver import SLA

pytestmark = pytest.mark.slow

MAILS = 2000
SEED = 20261130
OPERATOR = "operatore@bottega-aurora.example"
MAX_BYTES = 300_000
FIXTURES = Path(__file__).resolve().parents[1] / "escalation" / "mail"
FIXTURE_TOKEN = b"t12-toy710-cll2wltt6jc3rjju"
ANSWER = "Sì, spediamo anche in Svizzera: 12 € e 3-5 giorni lavorativi, dogana inclusa."
AFTER = "Le incisioni sui portafogli si fanno in negozio a Firenze, in circa venti minuti."


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@pytest.fixture
def product(tmp_path, database_url, smtp_server):
    capture, smtp_port = smtp_server
    settings = Settings(var_dir=tmp_path, database_url=database_url, embedder="hashing",
                        secret_key="fuzz-secret", smtp_host="127.0.0.1", smtp_port=smtp_port,
                        run_mail_sink=False, inbound_smtp_host="127.0.0.1",
                        inbound_smtp_port=free_port(), index_sync_interval_s=0,
                        max_inbound_bytes=MAX_BYTES, operators=[OPERATOR])
    kb = KnowledgeBase(settings, HashingEmbedder())
    assistant = Assistant(settings, kb, sla=SLA)
    services = EscalationServices(assistant, deliver_in_chat=lambda ticket: False)
    services.start()
    yield settings, assistant, capture
    services.stop()
    kb.close()


def open_tickets(settings: Settings, assistant: Assistant, capture, questions: list[str]
                 ) -> dict[int, object]:
    """A ticket with a customer address per question; their escalation mails, by ticket id."""
    ids = []
    for number, question in enumerate(questions):
        request = TicketRequest(conversation_id=f"fuzz-{number}-{time.monotonic_ns()}",
                                question=question, language="it",
                                reason="kb_escalate", customer_email=f"cliente{number}@example.com",
                                contact_consent=True)
        with session_scope(settings.resolved_database_url) as session:
            ids.append(open_ticket(request, session=session, sla=assistant.sla,
                                   notify=assistant.notify).id)

    def escalations():
        found = {int(m["X-Supportbot-Ticket"]): m for m in capture.messages
                 if m["X-Supportbot-Ticket"] and "[#T" in str(m["Subject"])}
        return found if set(ids) <= set(found) else None

    found = wait_for(escalations)
    return {ticket_id: found[ticket_id] for ticket_id in ids}


def wire(message) -> bytes:
    """A composed mail as a client puts it on the wire: CRLF line ends."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def mutate(raw: bytes, rng: random.Random) -> bytes:
    """One of a dozen ways a mail arrives broken, hostile or just strange."""
    kind = rng.randrange(12)
    data = bytearray(raw)
    if kind == 0:  # flipped bytes
        for _ in range(rng.randrange(1, 40)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 1:  # cut anywhere
        return bytes(data[: rng.randrange(1, len(data))])
    if kind == 2:  # a header flood
        return b"".join(b"X-Flood-%d: %s\r\n" % (i, b"a" * rng.randrange(1, 200))
                        for i in range(rng.randrange(100, 2000))) + raw
    if kind == 3:  # deep nesting of multiparts
        depth = rng.randrange(50, 400)
        head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                        for i in range(depth))
        return raw.split(b"\r\n\r\n", 1)[0] + b"\r\nMIME-Version: 1.0\r\n" + head + b"x\r\n"
    if kind == 4:  # bogus encodings and charsets
        return (raw.replace(b"quoted-printable",
                            rng.choice([b"base64", b"x-uuencode", b"7bit\x00"]))
                .replace(b"UTF-8",
                         rng.choice([b"x-unknown", b"utf-7", b"\xff\xfe", b"iso-2022-jp"])))
    if kind == 5:  # NULs, bare CRs, non-UTF-8 bytes sprinkled in the body
        for _ in range(rng.randrange(1, 60)):
            data.insert(rng.randrange(len(data)), rng.choice([0, 13, 0xFF, 0xC3, 0x80]))
        return bytes(data)
    if kind == 6:  # a stranger, or an operator hidden in a display name
        return re.sub(rb"^From: .*$", rng.choice([b"From: attacker@evil.example",
                                                  b'From: "operatore@bottega-aurora.example" '
                                                  b'<x@evil.example>',
                                                  b"From: <>", b"From: " + b"@" * 500]),
                      raw, count=1, flags=re.MULTILINE)
    if kind == 7:  # encoded words that do not decode
        return re.sub(rb"^Subject: .*$", b"Subject: =?utf-8?b?####?= =?x?q?=ZZ?= " + b"\xe9" * 50,
                      raw, count=1, flags=re.MULTILINE)
    if kind == 8:  # very long lines in the body
        return raw + b"\r\n" + b"x" * rng.randrange(990, 20_000) + b"\r\n"
    if kind == 9:  # the body replaced by hostile text
        return raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + rng.choice([
            b"<script>alert(1)</script>", "\x1b[31m\u202e".encode(), b"{{7*7}}", b"=\r\n" * 5000,
            b"--\r\nMarco\r\n", b"> quoted only\r\n> more\r\n", "Sì\u0000".encode()])
    if kind == 10:  # near and over the size cap
        return raw + b"\r\n" + b"y" * (MAX_BYTES - len(raw) + rng.randrange(-2000, 2000))
    return bytes(data)  # unchanged: a plain, valid reply


def fuzz_corpus(escalations: dict[int, object], rng: random.Random) -> list[bytes]:
    bases = []
    for ticket_id, mail in escalations.items():
        bases.append(wire(gmail_reply_it(mail, f"{ANSWER} ({ticket_id})")))
        token = str(mail["Reply-To"]).split("+", 1)[1].split("@", 1)[0].encode()
        for fixture in sorted(FIXTURES.glob("*.eml")):
            raw = fixture.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            bases.append(raw.replace(FIXTURE_TOKEN, token))
    mails = []
    for number in range(MAILS):
        body = mutate(rng.choice(bases), rng)
        # A unique Message-ID first, so every accepted mail must leave its own row.
        mails.append(b"Message-ID: <fuzz-%d@fuzz.example>\r\n" % number + body)
    return mails


def send(settings: Settings, raw: bytes, rcpt: str) -> int:
    try:
        with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port,
                          timeout=60) as smtp:
            smtp.sendmail(OPERATOR, [rcpt], raw)
        return 250
    except smtplib.SMTPResponseException as exc:
        return exc.smtp_code
    except smtplib.SMTPRecipientsRefused as exc:
        return min(code for code, _ in exc.recipients.values())


def test_a_mail_fuzz_loses_nothing_and_a_normal_reply_works_afterwards(product, caplog):
    settings, assistant, capture = product
    url = settings.resolved_database_url
    rng = random.Random(SEED)
    escalations = open_tickets(settings, assistant, capture,
                               [f"Spedite in Svizzera? Domanda {n}" for n in range(20)])
    mails = fuzz_corpus(escalations, rng)
    recipients = [str(m["Reply-To"]) for m in escalations.values()]
    caplog.set_level(logging.ERROR)
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda raw: send(settings, raw, rng.choice(recipients)), mails))

    temporary = [code for code in codes if 400 <= code < 500]
    assert not temporary, f"{len(temporary)} mails got a temporary failure: {temporary[:5]}"
    assert set(codes) <= {250, 500, 552, 554}, set(codes)
    assert codes.count(250) > MAILS * 0.8
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:5]]
    with session_scope(url) as session:
        # A mail no parser could read is known by its bytes instead of its Message-ID.
        recorded = session.scalar(select(func.count()).select_from(InboundMessage))
    assert recorded == codes.count(250)

    # Afterwards: a clean reply to a fresh ticket is answered, delivered and learned.
    [(ticket_id, escalation)] = open_tickets(
        settings, assistant, capture, ["Fate incisioni sui portafogli?"]).items()
    reply = wire(gmail_reply_it(escalation, AFTER))
    assert send(settings, reply, str(escalation["Reply-To"])) == 250

    def finished():
        with session_scope(url) as session:
            ticket = session.get(Ticket, ticket_id)
            answer_mail = session.scalars(select(OutboxMessage).where(
                OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == "answer")).first()
            learned = ticket.learned_entry_id and session.get(Entry, ticket.learned_entry_id)
            return (ticket.status == "closed" and answer_mail is not None
                    and answer_mail.status == "sent" and learned and AFTER in learned.answer)

    wait_for(finished)
