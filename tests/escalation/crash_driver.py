"""The escalation machinery in a process of its own, for `test_crash.py` to kill and restart.

    python -m tests.escalation.crash_driver --var DIR --db URL --smtp-port N open
    python -m tests.escalation.crash_driver --var DIR --db URL --smtp-port N reply MAIL.eml

It starts what `supportbot run` starts for escalation (scheduler, outbox sender, the
answer worker; no sink, no receiver: the test runs the SMTP server and the reply is
handed straight to `on_message`, as the receiver does), performs one step and waits
until every answered ticket is finished and the outbox is empty. Run twice with the same arguments
it must leave the same state as once: that is what a restart after a crash does.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlalchemy import func, select

from bot.conversation.assistant import Assistant
from bot.conversation.turns import Turn
from bot.jobs.services import EscalationServices
from core import Settings, session_scope, utcnow
from escalation.answers import FINISH_LEASE, resume_answered
from escalation.models import OutboxMessage, Ticket
from escalation.outbox import SENDING_LEASE, send_due
from escalation.sla import parse_sla_config
from knowledge.embedders import HashingEmbedder
from knowledge.service import KnowledgeBase
from migrations import upgrade

CONVERSATION = "crash-conversation"
QUESTION = "Posso ritirare l'ordine in negozio a Bologna con un corriere mio?"
CUSTOMER = "cliente@example.com"
OPERATORS = ["op@shop.example"]
SECRET = "crash-test-secret"
ALWAYS_OPEN = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
# Deadlines hours away: no SLA timer fires while a test runs.
SLA = parse_sla_config({
    "timezone": "Europe/Rome", "business_hours": ALWAYS_OPEN, "holidays": [],
    "chain": [{"name": "operators", "emails": OPERATORS}],
    "policies": [{"name": "standard", "first_response_minutes": 240, "warn_before_minutes": 60}],
})


def settings_for(var: Path, url: str, smtp_port: int) -> Settings:
    return Settings(var_dir=var, database_url=url, embedder="hashing", secret_key=SECRET,
                    smtp_host="127.0.0.1", smtp_port=smtp_port, run_mail_sink=False,
                    inbound_smtp_port=0, index_sync_interval_s=0)


def wait_until_done(url: str, timeout: float = 60.0) -> None:
    """No answer left to finish (the worker queues the customer's mail) and nothing left
    to send."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(url) as session:
            waiting = session.scalar(select(func.count()).select_from(Ticket)
                                     .where(Ticket.status == "answered"))
            unsent = session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status != "sent"))
        if not waiting and not unsent:
            return
        time.sleep(0.1)
    raise SystemExit("the answers or the outbox did not finish in time")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--var", type=Path, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("step", choices=["open", "reply"])
    parser.add_argument("mail", nargs="?", type=Path)
    args = parser.parse_args()
    settings = settings_for(args.var, args.db, args.smtp_port)
    url = settings.resolved_database_url
    upgrade(url)
    # A killed sender's claim ("sending") is given back only when its lease runs out
    # (minutes). The restart is taken to happen after that; the clock jumps, nothing else.
    send_due(url, settings, now=utcnow() + SENDING_LEASE)
    kb = KnowledgeBase(settings, HashingEmbedder())
    # Likewise a killed worker's lease on the ticket it was finishing.
    resume_answered(settings=settings, kb=kb, deliver_in_chat=lambda ticket: False,
                    now=utcnow() + FINISH_LEASE)
    assistant = Assistant(settings, kb, sla=SLA)
    services = EscalationServices(assistant, deliver_in_chat=lambda ticket: False)
    services.start()
    try:
        if args.step == "open":
            turn = Turn(conversation_id=CONVERSATION, text=QUESTION, language="it")
            assistant.open_ticket(turn, QUESTION, reason="kb_escalate", email=CUSTOMER,
                                  consent=True, transcript=(("customer", QUESTION),))
        else:
            # The receiver never said 250 to the killed process, so the MTA sends it again.
            services.on_message(args.mail.read_bytes(), source="smtp")
        wait_until_done(url)
    finally:
        services.stop()
        kb.close()


if __name__ == "__main__":
    main()
