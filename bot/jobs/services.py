"""The escalation machinery that runs beside the chat: the local mail sink, the SLA
scheduler, the outbox sender, the inbound SMTP receiver and IMAP poller, and the weekly
report to the marketing list. Each loop
runs in its own thread and stops with the product; all state is in the database, so a
restart picks up where the last run stopped.

An operator's emailed answer is recorded with the mail in one transaction while the
mail server waits; then the receiver answers 250 and the answer-worker thread delivers
it and learns from it. The same worker takes up, every `answer_resume_interval_s`, any
answered ticket not finished (a crash, a failed delivery or learning), so nothing waits
for a restart."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field

from bot.conversation.assistant import Assistant
from core import Settings, session_scope, utcnow
from core.faults import crash_point
from escalation import (
    AnswerOutcome,
    ChatDelivery,
    InboundResult,
    finish_answer,
    receive,
    record_answer,
    resume_answered,
)
from escalation.mail_in import run_imap_poller, start_receiver
from escalation.mail_sink import start_sink
from escalation.models import InboundStatus
from escalation.outbox import run_sender
from escalation.timers import run_scheduler
from escalation.weekly_mail import run_weekly_reporter

log = logging.getLogger(__name__)


@dataclass
class EscalationServices:
    assistant: Assistant
    deliver_in_chat: ChatDelivery
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _controllers: list = field(default_factory=list)
    _answers: queue.Queue = field(default_factory=queue.Queue)  # ticket ids to finish

    @property
    def settings(self) -> Settings:
        return self.assistant.settings

    def start(self) -> None:
        settings, url = self.settings, self.settings.resolved_database_url
        if settings.run_mail_sink:
            self._controllers.append(start_sink(settings))
        receiver = start_receiver(settings, self.on_message)
        if receiver is not None:
            self._controllers.append(receiver)
        self._spawn("sla-scheduler", run_scheduler, url, self.assistant.sla, worker=self.worker,
                    notify=self.assistant.notify, interval_s=settings.scheduler_interval_s,
                    stop=self._stop)
        self._spawn("outbox-sender", run_sender, url, settings, self._stop, interval_s=1.0)
        if settings.imap_host:
            self._spawn("imap-poller", run_imap_poller, settings, self.on_message, self._stop)
        if settings.marketing_emails:
            self._spawn("weekly-report", run_weekly_reporter, url, settings, self._stop)
        else:
            log.info("SUPPORTBOT_MARKETING_EMAILS is empty: no weekly report is sent")
        self._spawn("answer-worker", self._work)

    def _spawn(self, name: str, target, *args, **kwargs) -> None:
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._answers.put(None)
        for controller in self._controllers:
            controller.stop()
        for thread in self._threads:
            thread.join(timeout=10)

    # -- an operator's reply ------------------------------------------------------------------
    def on_message(self, raw: bytes, source: str = "smtp") -> InboundResult:
        """Record and judge one inbound mail, and record an accepted answer, in one
        transaction; delivery and learning are left to the answer worker. Raises only when
        the mail could not be recorded (the sender then retries)."""
        with session_scope(self.settings.resolved_database_url) as session:
            result = receive(raw, source=source, session=session, settings=self.settings,
                             now=utcnow())
        # A redelivery of an accepted mail whose answer is not finished nudges it on.
        accepted = InboundStatus.ACCEPTED in (result.status, result.reason)
        if result.ticket_id is not None and accepted:
            self._answers.put(result.ticket_id)
        return result

    def answer(self, ticket_id: int, text: str, operator: str, *, via: str,
               picked_entry_id: int | None = None) -> AnswerOutcome:
        """An answer written (or an entry's answer picked) in the console: recorded, then
        delivered and learned at once, so the operator sees what happened (the worker
        finishes it should this fail)."""
        record_answer(ticket_id, text, operator, via=via, settings=self.settings,
                      picked_entry_id=picked_entry_id)
        crash_point("during_reply")
        return self.finish(ticket_id)

    def finish(self, ticket_id: int) -> AnswerOutcome:
        outcome = finish_answer(ticket_id, settings=self.settings, kb=self.assistant.kb,
                                deliver_in_chat=self.deliver_in_chat)
        log.info("ticket %s: answer delivered via %s, %s", ticket_id,
                 outcome.delivered_via or "nothing", outcome.note)
        return outcome

    def _work(self) -> None:
        """Finish answers as they are recorded; every interval (and first thing after a
        start), take up whatever answered ticket is still unfinished."""
        interval = self.settings.answer_resume_interval_s
        next_round = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_round:
                self._resume()
                next_round = time.monotonic() + interval
            try:
                ticket_id = self._answers.get(timeout=max(0.05, next_round - time.monotonic()))
            except queue.Empty:
                continue
            if ticket_id is None:  # stop() wakes the worker
                break
            try:
                crash_point("during_reply")
                self.finish(ticket_id)
            except Exception:  # its lease keeps it for the next round
                log.exception("ticket %s: finishing the operator's answer failed; retried "
                              "within %.0f s", ticket_id, interval)

    def _resume(self) -> None:
        try:
            for outcome in resume_answered(settings=self.settings, kb=self.assistant.kb,
                                           deliver_in_chat=self.deliver_in_chat):
                log.info("ticket %s: unfinished answer taken up (%s)", outcome.ticket_id,
                         outcome.note)
        except Exception:
            log.exception("taking up unfinished answers failed; retried next round")
