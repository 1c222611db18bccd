"""What the scale test (test_cluster) checks beside the conversations, each against the
real components of `supportbot run --workers 2`: SLA timers that fire once, outbox mail
that reaches the mail sink once, and an operator's emailed answer that every app process
answers within a second of being learned.

The cluster runs the singletons (SLA scheduler, outbox sender) in its process 0 only.
`JobsReplica` runs the same loops a second time in the test process, on the same database
and sink, as a second `jobs` process would: every timer and every mail is then raced for,
so "once" is a property of the claims in the database, not of there being one loop."""

from __future__ import annotations

import re
import smtplib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import httpx
import yaml
from sqlalchemy import func, select

from core import Settings, session_scope, utcnow
from escalation.mail_sink import list_messages, read_message
from escalation.models import OutboxMessage, OutboxStatus, Ticket, TicketEvent, TicketTimer
from escalation.notify import mail_notifier
from escalation.outbox import run_sender
from escalation.sla import load_sla_config
from escalation.timers import run_scheduler
from knowledge.models import Entry, KBChange

OPERATOR = "operatore@bottega-aurora.example"
BACKUP = "backup@bottega-aurora.example"
REPLICA = "scale-test-jobs-replica"
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Per level: the reminder 6 s after the ticket (or the escalation), the breach at 12 s.
# Business minutes may be fractional; the business day is the whole day, every day.
FIRST_RESPONSE_MINUTES, WARN_BEFORE_MINUTES = 0.2, 0.1
# Two levels: level 0 is reminded, breaches and escalates to level 1, which is reminded
# and breaches at the end of the chain. Each once.
SLA_EVENTS = Counter({("reminded", 0): 1, ("breached", 0): 1, ("escalated", 1): 1,
                      ("reminded", 1): 1, ("breached", 1): 1})
SLA_MAIL = Counter({"escalation": 2, "reminder": 2, "breach": 1})
PROBE_EVERY_S = 0.05
PROMISE_S = 1.0  # issue 13: a learned answer is answered by every replica within 1 s


def write_sla_policies(path: Path) -> Path:
    path.write_text(yaml.safe_dump({
        "timezone": "Europe/Rome", "business_hours": {day: ["00:00-24:00"] for day in WEEK},
        "holidays": [],
        "chain": [{"name": "operators", "emails": [OPERATOR]},
                  {"name": "backup", "emails": [BACKUP]}],
        "policies": [{"name": "standard", "first_response_minutes": FIRST_RESPONSE_MINUTES,
                      "warn_before_minutes": WARN_BEFORE_MINUTES}]}))
    return path


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass(frozen=True)
class Cluster:
    """Where the running cluster listens, read from its HAProxy configuration."""

    rasa: str  # HAProxy's public Rasa port
    app: str  # HAProxy's public app port
    actions: str  # HAProxy's loopback action frontend
    apps: dict[str, str]  # each app process, on its own port
    rasa0_port: int

    @classmethod
    def of(cls, settings: Settings) -> Cluster:
        config = (settings.var_dir / "cluster" / "haproxy.cfg").read_text()
        actions = re.search(r"frontend actions\s+bind 127\.0\.0\.1:(\d+)", config).group(1)
        return cls(rasa=f"http://127.0.0.1:{settings.rasa_port}",
                   app=f"http://127.0.0.1:{settings.port}", actions=f"http://127.0.0.1:{actions}",
                   apps={name: f"http://127.0.0.1:{port}" for name, port in
                         re.findall(r"server (app\d) 127\.0\.0\.1:(\d+)", config)},
                   rasa0_port=int(re.search(r"server rasa0 127\.0\.0\.1:(\d+)", config)[1]))


class JobsReplica:
    """The SLA scheduler and the outbox sender of a second jobs process, in threads."""

    def __init__(self, settings: Settings) -> None:
        url, self._stop = settings.resolved_database_url, threading.Event()
        sla = load_sla_config(settings.resolved_sla_policies_file)
        self._threads = [
            threading.Thread(target=run_scheduler, args=(url, sla), daemon=True, kwargs={
                "worker": REPLICA, "notify": mail_notifier(settings), "stop": self._stop,
                "interval_s": settings.scheduler_interval_s}),
            threading.Thread(target=run_sender, args=(url, settings, self._stop),
                             kwargs={"interval_s": 1.0}, daemon=True)]

    def __enter__(self) -> JobsReplica:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


# -- SLA timers ---------------------------------------------------------------------------


def sla_events(url: str, ticket_id: int) -> Counter:
    with session_scope(url) as session:
        rows = session.execute(select(TicketEvent.kind, TicketEvent.detail)
                               .where(TicketEvent.ticket_id == ticket_id)).all()
    return Counter((kind, (detail or {}).get("level")) for kind, detail in rows
                   if kind in ("reminded", "breached", "escalated"))


def timers_fired_by(url: str, ticket_id: int) -> Counter:
    """Which scheduler fired the ticket's timers (process 0 or the replica)."""
    with session_scope(url) as session:
        return Counter(session.scalars(select(TicketTimer.fired_by).where(
            TicketTimer.ticket_id == ticket_id, TicketTimer.fired_at.is_not(None))))


def wait_for_sla_chain(url: str, ticket_id: int, *, timeout: float) -> Counter:
    """Until every SLA event of both levels is recorded; returns the events."""
    wait_for(lambda: set(sla_events(url, ticket_id)) >= set(SLA_EVENTS), timeout=timeout,
             what=f"the SLA events of ticket {ticket_id}")
    return sla_events(url, ticket_id)


# -- outbox and sink ----------------------------------------------------------------------


def assert_each_mail_sent_once(settings: Settings, *, timeout: float) -> Counter:
    """Every outbox row sent, and the sink holds exactly one copy of each, nothing else.
    Returns the rows' kinds."""
    url = settings.resolved_database_url

    def drained() -> bool:
        with session_scope(url) as session:
            return not session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING))))

    wait_for(drained, timeout=timeout, what="the outbox to be sent")
    with session_scope(url) as session:
        rows = session.execute(select(OutboxMessage.message_id, OutboxMessage.status,
                                      OutboxMessage.kind)).all()
    assert {status for _, status, _ in rows} == {OutboxStatus.SENT}, rows
    received = Counter(mail.message_id for mail in list_messages(settings, limit=100_000))
    assert received == Counter(message_id for message_id, _, _ in rows), (
        f"outbox {sorted(r[0] for r in rows)} vs sink {received}")
    return Counter(kind for _, _, kind in rows)


def outbox_kinds(url: str, ticket_id: int) -> Counter:
    with session_scope(url) as session:
        return Counter(session.scalars(select(OutboxMessage.kind)
                                       .where(OutboxMessage.ticket_id == ticket_id)))


# -- the operator's answer by mail, and where it is answered ------------------------------


def reply_by_mail(settings: Settings, ticket_id: int, answer: str) -> None:
    """The operator answers the ticket's first escalation mail, as found in the sink, from
    their mail client: the reply goes to the product's inbound SMTP port."""
    with session_scope(settings.resolved_database_url) as session:
        first = session.scalars(select(OutboxMessage.message_id).where(
            OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == "escalation")
            .order_by(OutboxMessage.id)).first()
    stored = wait_for(lambda: next((m for m in list_messages(settings, limit=100_000)
                                    if m.message_id == first), None),
                      timeout=30, what=f"the escalation mail {first} in the sink")
    original = read_message(settings, stored.key)
    reply = EmailMessage()
    reply["From"] = f"Marco Bianchi <{OPERATOR}>"
    reply["To"] = original["Reply-To"]
    reply["Subject"] = "Re: " + original["Subject"]
    reply["In-Reply-To"] = reply["References"] = original["Message-ID"]
    reply["Message-ID"] = make_msgid(domain="mail.example")
    reply["Date"] = format_datetime(utcnow())
    reply.set_content(f"Ciao,\n\n{answer}\n\nUn saluto,\nMarco\n")
    with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port,
                      timeout=30) as smtp:
        smtp.send_message(reply)


def learned_entry(url: str, ticket_id: int, *, timeout: float) -> tuple[int, str, datetime]:
    """The entry learned from the ticket, its answer, and when the change was recorded
    (`kb_changes.changed_at`, set just before the commit: a latency measured from it is
    an upper bound)."""
    def learned() -> int | None:
        with session_scope(url) as session:
            return session.scalar(select(Ticket.learned_entry_id).where(Ticket.id == ticket_id))

    entry_id = wait_for(learned, timeout=timeout, what=f"ticket {ticket_id} to be learned")
    with session_scope(url) as session:
        answer = session.scalar(select(Entry.answer).where(Entry.id == entry_id))
        changed_at = session.scalar(select(KBChange.changed_at).where(
            KBChange.entry_id == entry_id).order_by(KBChange.seq.desc()).limit(1))
    return entry_id, answer, changed_at


@dataclass
class Probe:
    """Asks one app process (on its own port, not through HAProxy) the same question again
    and again, through the knowledge base's search route: the search the answer action
    runs, on that process's own index. Records (unix time of the reply, entry answered)."""

    url: str
    question: str
    seen: list[tuple[float, int | None]] = field(default_factory=list)
    error: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        try:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    response = client.get(f"{self.url}/api/kb/search", params={"q": self.question})
                    response.raise_for_status()
                    decision = response.json()
                    answered = (decision["candidates"][0]["entry_id"]
                                if decision["kind"] == "answer" else None)
                    self.seen.append((time.time(), answered))
                    stop.wait(PROBE_EVERY_S)
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.error = exc

    def first_answered(self, entry_id: int) -> float | None:
        return next((t for t, answered in self.seen if answered == entry_id), None)

    def stale_after(self, entry_id: int, moment: float) -> list[float]:
        """Replies after `moment` that did not answer with the entry."""
        return [t for t, answered in self.seen if t > moment and answered != entry_id]


def answered_everywhere(settings: Settings, apps: dict[str, str], ticket_id: int,
                        question: str, answer: str) -> tuple[int, str, dict[str, float]]:
    """Probes every app process while the operator's answer to `ticket_id` arrives by mail;
    returns the learned entry, its answer, and per process the seconds from the recorded
    change to its first reply with the entry (every later reply must give it too)."""
    probes = {name: Probe(url, question) for name, url in apps.items()}
    stop = threading.Event()
    threads = [threading.Thread(target=p.run, args=(stop,), daemon=True) for p in probes.values()]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(p.seen or p.error for p in probes.values()), timeout=30,
                 what="the first probe replies")
        assert all(a is None for p in probes.values() for _, a in p.seen), "answered already"
        reply_by_mail(settings, ticket_id, answer)
        entry_id, text, changed_at = learned_entry(settings.resolved_database_url, ticket_id,
                                                   timeout=60)
        committed = changed_at.timestamp()
        # Replies until well past the promise: a replica that answers and then forgets fails.
        wait_for(lambda: all(p.error or (p.first_answered(entry_id) and p.seen[-1][0] >
                                         committed + PROMISE_S + 0.5)
                             for p in probes.values()),
                 timeout=30, what="every app process to answer with the learned entry")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    latencies = {}
    for name, probe in probes.items():
        if probe.error is not None:
            raise AssertionError(f"probing {name} failed") from probe.error
        first = probe.first_answered(entry_id)
        latencies[name] = first - committed
        assert not probe.stale_after(entry_id, first), (name, probe.seen[-20:])
    return entry_id, text, latencies
