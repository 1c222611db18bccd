"""The crash run: the product is killed with SIGKILL at random moments while customers are
being escalated and operators' replies arrive, again and again, then restarted. At the end:

- every conversation the bot promised a person has exactly one ticket, and every ticket
  its operator notification;
- every reply the receiver acknowledged (250) is recorded, delivered to the customer and
  learned exactly once, and its ticket is closed; a reply it never acknowledged is sent
  again by the "MTA" (this test) until it is;
- every outbox row is sent (the same Message-ID if a resend was unavoidable) and nothing
  is stuck half-way.

The product (app with the action endpoint, mail receiver, answer worker, outbox sender)
runs in `product_process.py`; customers call the action endpoint as Rasa would, with a
signed address so answers go by email; operator replies go over real SMTP; the outgoing
mail lands on a real SMTP server here. Kill moments are seeded.
"""

from __future__ import annotations

import random
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.conversation.boundary import ACTION_TOKEN_HEADER, action_endpoint_token
from bot.conversation.identity import sign_email
from bot.conversation.phrases import PHRASES
from bot.stack import free_port
from core import dispose_all, session_scope
from escalation.models import InboundMessage, OutboxMessage, Ticket, TicketEvent
from knowledge.models import Entry
from tests.bot.test_learning_loop_e2e import gmail_reply_it
from tests.faults.product_process import OPERATOR, SHOP_SECRET, settings_for
from tests.faults.test_fuzz_mail import wire

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20
SEED = 20261130
# The sentences that promise a person: the escalation and the ticket confirmation.
PROMISES = tuple(PHRASES[lang][key].split("{")[0][:40] for lang in ("it", "en")
                 for key in ("escalated", "handed_off", "already_open"))


@dataclass
class Run:
    """The customers' and the operators' side of the run, and what the product told them."""

    settings: object
    capture: object
    rng: random.Random
    promised: set[str] = field(default_factory=set)  # conversations told "a person will answer"
    asked: int = 0
    replies: dict[int, bytes] = field(default_factory=dict)  # ticket -> the operator's reply
    acked: set[int] = field(default_factory=set)  # tickets whose reply got a 250
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- customers -----------------------------------------------------------------------
    def word(self) -> str:
        return "".join(self.rng.choice("bcdfglmnprstvz") + self.rng.choice("aeiou")
                       for _ in range(4))

    def ask(self) -> None:
        with self.lock:
            self.asked += 1
            number = self.asked
        conversation = f"crash-{number}"
        # Made-up words: no learned answer fits another customer's question.
        question = " ".join(self.word() for _ in range(5)) + f" numero {number}?"
        email = f"cliente{number}@example.com"
        metadata = {"customer_email": email, "customer_email_sig": sign_email(email, SHOP_SECRET)}
        call = {"next_action": "action_answer_question", "sender_id": conversation,
                "version": "3.6.21", "domain": {"slots": {}, "intents": [], "responses": {},
                                                 "forms": {}},
                "tracker": {"sender_id": conversation, "slots": {"language": "it"},
                            "latest_message": {"text": question, "metadata": metadata,
                                               "intent": {"name": "ask_question"}, "entities": []},
                            "events": [{"event": "user", "text": question}], "paused": False,
                            "followup_action": None, "active_loop": {},
                            "latest_action_name": "action_listen"}}
        token = action_endpoint_token(self.settings)
        response = httpx.post(f"http://127.0.0.1:{self.settings.port}/webhook", json=call,
                              headers={ACTION_TOKEN_HEADER: f"Bearer {token}"}, timeout=30)
        texts = " ".join(m.get("text") or "" for m in response.json().get("responses", []))
        if response.status_code == 200 and any(p in texts for p in PROMISES):
            with self.lock:
                self.promised.add(conversation)

    # -- operators and their mail server -------------------------------------------------------
    def escalation_mails(self) -> dict[int, object]:
        return {int(m["X-Supportbot-Ticket"]): m for m in list(self.capture.messages)
                if ".escalation." in str(m["Message-ID"])}

    def reply_all(self) -> None:
        """Answer every escalation mail; resend what was never acknowledged, as an MTA does."""
        for ticket_id, mail in self.escalation_mails().items():
            if ticket_id in self.acked:
                continue
            raw = self.replies.setdefault(ticket_id, wire(gmail_reply_it(
                mail, f"Per la richiesta {ticket_id} la risposta è sì, entro tre giorni.")))
            with smtplib.SMTP("127.0.0.1", self.settings.inbound_smtp_port, timeout=30) as smtp:
                smtp.sendmail(OPERATOR, [str(mail["Reply-To"])], raw)
            self.acked.add(ticket_id)


def keep_doing(action, stop: threading.Event) -> None:
    """Until stopped; a dead product refuses connections, which the next round retries."""
    while not stop.is_set():
        try:
            action()
        except (httpx.HTTPError, OSError, smtplib.SMTPException, ValueError):
            time.sleep(0.05)


def start(tmp_path: Path, database_url: str, settings) -> subprocess.Popen:
    dispose_all()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.product_process", "--var", str(tmp_path),
         "--db", database_url, "--port", str(settings.port),
         "--inbound-port", str(settings.inbound_smtp_port), "--smtp-port", str(settings.smtp_port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "product.log", "ab"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "product.log").read_text()[-3000:]
        try:
            with socket.create_connection(("127.0.0.1", settings.port), timeout=1), \
                    socket.create_connection(("127.0.0.1", settings.inbound_smtp_port), timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the product did not start")


def count(url: str, model, *where) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def drained(url: str, run: Run) -> bool:
    with session_scope(url) as session:
        unfinished = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status.in_(("pending", "sending"))))
        closed = set(session.scalars(select(Ticket.id).where(Ticket.status == "closed")))
    return not unfinished and run.acked <= closed


def test_killing_the_product_again_and_again_loses_and_duplicates_nothing(
        tmp_path, database_url, smtp_server):
    capture, smtp_port = smtp_server
    settings = settings_for(tmp_path, database_url, port=free_port(), inbound_port=free_port(),
                            smtp_port=smtp_port)
    run = Run(settings, capture, random.Random(SEED))
    for _ in range(KILLS):
        process = start(tmp_path, database_url, settings)
        stop = threading.Event()
        workers = [threading.Thread(target=keep_doing, args=(run.ask, stop)),
                   threading.Thread(target=keep_doing, args=(run.reply_all, stop))]
        for worker in workers:
            worker.start()
        time.sleep(run.rng.uniform(0.2, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        stop.set()
        for worker in workers:
            worker.join()

    process = start(tmp_path, database_url, settings)  # the last restart: let it finish
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (
                run.escalation_mails().keys() <= run.acked and drained(database_url, run)):
            keep_once(run.reply_all)
            time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(timeout=30)
    check(database_url, run)


def keep_once(action) -> None:
    try:
        action()
    except (OSError, smtplib.SMTPException):
        pass


def check(url: str, run: Run) -> None:
    assert len(run.promised) >= 2 * KILLS and len(run.acked) >= KILLS // 2, (
        len(run.promised), len(run.acked))  # the run did exercise both paths
    with session_scope(url) as session:
        tickets = session.scalars(select(Ticket)).all()
        outbox = session.scalars(select(OutboxMessage)).all()
        events = session.scalars(select(TicketEvent)).all()
        entries = session.scalars(select(Entry).where(Entry.ticket_id.is_not(None))).all()
        inbound = session.scalars(select(InboundMessage)).all()
        entry_ids = set(session.scalars(select(Entry.id)))
    by_conversation: dict[str, list] = {}
    for ticket in tickets:
        by_conversation.setdefault(ticket.conversation_id, []).append(ticket)
    assert run.promised <= by_conversation.keys()  # nobody was promised a person in vain
    assert all(len(found) == 1 for found in by_conversation.values())

    kinds = [(row.ticket_id, row.kind) for row in outbox]
    assert len(kinds) == len(set(kinds))  # one notification and one answer mail per ticket
    assert {row.status for row in outbox} == {"sent"}, [
        (row.id, row.status, row.last_error) for row in outbox if row.status != "sent"]
    captured = {str(m["Message-ID"]) for m in run.capture.messages}
    assert {row.message_id for row in outbox} <= captured
    assert {t.id for t in tickets} == {row.ticket_id for row in outbox if row.kind == "escalation"}

    learned = {}
    for entry in entries:
        learned.setdefault(entry.ticket_id, []).append(entry.id)
    for ticket in tickets:
        if ticket.id not in run.acked:
            continue
        assert ticket.status == "closed", (ticket.id, ticket.status)
        assert f"richiesta {ticket.id} " in ticket.answer
        assert ticket.delivery_channel == "email" and (ticket.id, "answer") in kinds
        # Learned once: an entry of its own, or a new way of asking an entry it matched.
        assert ticket.learned_entry_id in entry_ids, ticket.id
        assert learned.get(ticket.id, [ticket.learned_entry_id]) == [ticket.learned_entry_id]
        mine = [e.kind for e in events if e.ticket_id == ticket.id]
        assert mine.count("answered") == mine.count("delivered") == mine.count("learned") == 1, mine
    accepted = [row.ticket_id for row in inbound if row.status == "accepted"]
    assert sorted(accepted) == sorted(run.acked)  # each reply recorded once, none lost
    sent_answers = [m for m in run.capture.messages if ".answer." in str(m["Message-ID"])]
    assert {str(m["Message-ID"]) for m in sent_answers} == {
        row.message_id for row in outbox if row.kind == "answer"}
