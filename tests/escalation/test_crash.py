"""Crash safety of the escalation loop: the process is killed with SIGKILL at each point
that matters (`core.faults`), then restarted; nothing is lost, nothing is sent or learned
twice. The machinery runs in a subprocess (`crash_driver.py`); the mail goes to a real
SMTP server started here.

SMTP is at-least-once: a process killed after the server's 250 but before recording it
cannot know the mail left, so it sends again after the restart. The copy carries the
same Message-ID, which mail clients and MTAs use to collapse duplicates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import dispose_all, session_scope
from core.faults import ENV
from escalation.models import InboundMessage, OutboxMessage, Ticket, TicketEvent
from knowledge.models import Entry, Source
from tests.bot.test_learning_loop_e2e import gmail_reply_it
from tests.escalation.conftest import Capture
from tests.escalation.crash_driver import CONVERSATION, CUSTOMER

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ANSWER = "Sì, può mandare un corriere di sua fiducia con la delega e il numero d'ordine."


@pytest.fixture
def drive(tmp_path, database_url, smtp_server):
    """Run one driver step, killed at `crash_at` when given; returns the exit code."""
    def _drive(*step: str, crash_at: str | None = None) -> int:
        env = {k: v for k, v in os.environ.items() if k != ENV}
        if crash_at:
            env[ENV] = crash_at
        dispose_all()  # no pooled connection of ours holds a lock the driver waits for
        done = subprocess.run(
            [sys.executable, "-m", "tests.escalation.crash_driver", "--var", str(tmp_path),
             "--db", database_url, "--smtp-port", str(smtp_server[1]), *step],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == (-signal.SIGKILL if crash_at else 0), done.stderr[-3000:]
        return done.returncode
    return _drive


def count(url: str, model, *where) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def mails(capture: Capture, to: str) -> list:
    return [m for m in capture.messages if to in str(m["To"])]


@pytest.mark.parametrize("point, tickets_before, mails_before", [
    ("after_ticket", 0, 0),  # the transaction died with the process: as if never asked
    ("before_send", 1, 0),
    ("after_send", 1, 1),
])
def test_a_crash_while_escalating(drive, database_url, smtp_server, point, tickets_before,
                                  mails_before):
    capture, _ = smtp_server
    drive("open", crash_at=point)
    assert count(database_url, Ticket) == tickets_before
    assert len(mails(capture, "op@shop.example")) == mails_before
    drive("open")  # the restart; the customer's request is repeated (it joins, if kept)

    assert count(database_url, Ticket, Ticket.conversation_id == CONVERSATION) == 1
    with session_scope(database_url) as session:
        [row] = session.scalars(select(OutboxMessage)).all()
    assert row.kind == "escalation" and row.status == "sent"
    sent = mails(capture, "op@shop.example")
    assert {m["Message-ID"] for m in sent} == {row.message_id}
    assert len(sent) == (2 if point == "after_send" else 1)  # the resend is the same mail


@pytest.mark.parametrize("point, status_after_crash, inbound_after_crash", [
    # between recording the mail and recording its answer: one transaction, so neither
    # stays, and the mail server's retry is processed afresh (it used to be a duplicate)
    ("after_inbound_recorded", "open", 0),
    ("during_reply", "answered", 1),  # recorded; the worker died before delivering
    ("after_delivery", "answered", 1),
])
def test_a_crash_while_processing_the_reply(drive, database_url, smtp_server, tmp_path, point,
                                            status_after_crash, inbound_after_crash):
    capture, _ = smtp_server
    drive("open")
    [escalation] = mails(capture, "op@shop.example")
    reply = tmp_path / "reply.eml"
    # The envelope sender on top, as the receiver writes it from MAIL FROM.
    reply.write_bytes(b"Return-Path: <operatore@bottega-aurora.example>\r\n"
                      + bytes(gmail_reply_it(escalation, ANSWER)))
    drive("reply", str(reply), crash_at=point)
    assert count(database_url, Ticket, Ticket.status == status_after_crash) == 1
    assert count(database_url, InboundMessage) == inbound_after_crash
    queued = count(database_url, OutboxMessage, OutboxMessage.kind == "answer")
    assert queued == (1 if point == "after_delivery" else 0)
    assert count(database_url, Entry) == 0
    drive("reply", str(reply))  # the restart; the MTA delivers the same mail again

    with session_scope(database_url) as session:
        ticket = session.scalars(select(Ticket)).one()
        [inbound] = session.scalars(select(InboundMessage)).all()
        [answer] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "answer"))
        learned = session.scalars(select(Entry).where(Entry.ticket_id == ticket.id)).all()
        kinds = [e.kind for e in session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))]
    assert inbound.status == "accepted" and inbound.ticket_id == ticket.id
    assert ticket.status == "closed" and ticket.delivery_channel == "email"
    assert ANSWER in ticket.answer
    assert answer.status == "sent"
    assert [m["Message-ID"] for m in mails(capture, CUSTOMER)] == [answer.message_id]
    assert [(e.source, e.id) for e in learned] == [(Source.OPERATOR, ticket.learned_entry_id)]
    assert ANSWER in learned[0].answer
    assert kinds.count("answered") == kinds.count("delivered") == kinds.count("learned") == 1
