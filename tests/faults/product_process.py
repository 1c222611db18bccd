"""The product without the Rasa server, in a process of its own for the crash run to kill:
the app with Rasa's action endpoint under uvicorn, and the escalation services (the SMTP
receiver for operator replies, the answer worker, the outbox sender, the SLA scheduler).
Rasa itself keeps no state of ours (its tracker store is its own), so killing this
process is killing everything that can lose a customer's question or an operator's answer.

    python -m tests.faults.product_process --var DIR --db URL --port N --inbound-port N \
        --smtp-port N
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from bot.app import create_app
from bot.conversation.assistant import Assistant
from bot.jobs.services import EscalationServices
from core import Settings, utcnow
from escalation.answers import FINISH_LEASE, resume_answered
from escalation.outbox import SENDING_LEASE, send_due
from knowledge.embedders import HashingEmbedder
from knowledge.service import KnowledgeBase
from migrations import upgrade
from tests.escalation.crash_driver import SLA

SECRET = "crash-run-secret"
SHOP_SECRET = "crash-run-shop-secret"
OPERATOR = "operatore@bottega-aurora.example"


def settings_for(var: Path, url: str, *, port: int, inbound_port: int, smtp_port: int) -> Settings:
    return Settings(var_dir=var, database_url=url, embedder="hashing", secret_key=SECRET,
                    shop_identity_secret=SHOP_SECRET, host="127.0.0.1", port=port,
                    smtp_host="127.0.0.1", smtp_port=smtp_port, run_mail_sink=False,
                    inbound_smtp_host="127.0.0.1", inbound_smtp_port=inbound_port,
                    index_sync_interval_s=0, operators=[OPERATOR], answer_resume_interval_s=2,
                    chat_rate_limit="10000/minute", action_endpoint_rate_limit="100000/minute")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--var", type=Path, required=True)
    parser.add_argument("--db", required=True)
    for name in ("--port", "--inbound-port", "--smtp-port"):
        parser.add_argument(name, type=int, required=True)
    args = parser.parse_args()
    settings = settings_for(args.var, args.db, port=args.port, inbound_port=args.inbound_port,
                            smtp_port=args.smtp_port)
    upgrade(settings.resolved_database_url)
    # A killed sender's claim is given back when its lease runs out (minutes); the restart
    # is taken to happen after that: the clock jumps, nothing else.
    send_due(settings.resolved_database_url, settings, now=utcnow() + SENDING_LEASE)
    kb = KnowledgeBase(settings, HashingEmbedder())
    assistant = Assistant(settings, kb, sla=SLA)
    kb.warm_up()  # as `supportbot run` does, before it serves anything
    assistant.warm_up()
    # The same for an answer the killed process was finishing: its lease has run out.
    resume_answered(settings=settings, kb=kb, deliver_in_chat=lambda ticket: False,
                    now=utcnow() + FINISH_LEASE)
    services = EscalationServices(assistant, deliver_in_chat=lambda ticket: False)
    app = create_app(assistant, escalation=services)
    services.start()
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    finally:
        services.stop()
        kb.close()


if __name__ == "__main__":
    main()
