"""The answer worker (issue 10, point 4): the mail side only records an answer; a worker
delivers and learns it, and takes up unfinished answers periodically, not only at a
restart."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from bot.conversation.assistant import Assistant
from bot.jobs.services import EscalationServices
from core import Settings, session_scope, utcnow
from escalation import TicketRequest, open_ticket, record_answer
from escalation.models import Ticket
from escalation.tokens import reply_address_for
from knowledge.embedders import HashingEmbedder
from knowledge.models import Entry
from knowledge.service import KnowledgeBase
from tests.escalation.crash_driver import SLA

OPERATOR = "operatore@bottega-aurora.example"
ANSWER = "Sì, spediamo in Svizzera in 4 giorni lavorativi, dogana inclusa."


@pytest.fixture
def product(tmp_path, database_url, smtp_server):
    settings = Settings(var_dir=tmp_path, database_url=database_url, embedder="hashing",
                        secret_key="worker-test", smtp_host="127.0.0.1",
                        smtp_port=smtp_server[1], run_mail_sink=False, inbound_smtp_port=0,
                        index_sync_interval_s=0, answer_resume_interval_s=0.2)
    kb = KnowledgeBase(settings, HashingEmbedder())
    services = EscalationServices(Assistant(settings, kb, sla=SLA),
                                  deliver_in_chat=lambda ticket: False)
    yield services
    services.stop()
    kb.close()


def a_ticket(services: EscalationServices) -> int:
    request = TicketRequest(conversation_id="c-worker", question="Spedite in Svizzera?",
                            language="it", reason="kb_escalate", customer_email="c@example.com",
                            contact_consent=True)
    with session_scope(services.settings.resolved_database_url) as session:
        return open_ticket(request, session=session, sla=SLA, notify=lambda *a: None,
                           now=utcnow()).id


def ticket(services: EscalationServices, ticket_id: int) -> Ticket:
    with session_scope(services.settings.resolved_database_url) as session:
        found = session.get(Ticket, ticket_id)
        _ = found.events
        return found


def wait_closed(services, ticket_id: int, timeout: float = 30.0) -> Ticket:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := ticket(services, ticket_id)).status == "closed":
            return found
        time.sleep(0.05)
    raise AssertionError(f"ticket {ticket_id} is still {found.status}")


def reply(services, ticket_id: int) -> bytes:
    mail = EmailMessage()
    mail["Return-Path"] = f"<{OPERATOR}>"
    mail["From"] = f"Marco <{OPERATOR}>"
    mail["To"] = reply_address_for(ticket_id, services.settings.reply_address,
                                   services.settings.resolved_secret_key, utcnow())
    mail["Subject"], mail["Message-ID"] = f"Re: [#T{ticket_id}]", make_msgid()
    mail.set_content(ANSWER)
    return bytes(mail)


def test_the_mail_side_records_only_and_the_worker_finishes(product):
    ticket_id = a_ticket(product)
    result = product.on_message(reply(product, ticket_id))  # no worker running yet
    assert result.status == "accepted"
    recorded = ticket(product, ticket_id)
    assert recorded.status == "answered" and recorded.answer == ANSWER
    assert recorded.delivered_at is None and recorded.learned_entry_id is None
    product.start()
    done = wait_closed(product, ticket_id)
    assert done.delivery_channel == "email" and done.learned_entry_id is not None
    kinds = [e.kind for e in done.events]
    assert kinds.count("delivered") == kinds.count("learned") == 1


def test_an_unfinished_answer_is_taken_up_while_running(product):
    """Not only at start-up: an answer left unfinished while the product runs (a worker
    that died, a failed delivery) is finished by the next round."""
    product.start()
    time.sleep(0.3)  # the start-up round has passed
    ticket_id = a_ticket(product)
    record_answer(ticket_id, ANSWER, OPERATOR, via="smtp", settings=product.settings)
    done = wait_closed(product, ticket_id)
    with session_scope(product.settings.resolved_database_url) as session:
        learned = session.scalars(select(Entry).where(Entry.ticket_id == ticket_id)).all()
    assert [entry.id for entry in learned] == [done.learned_entry_id]
