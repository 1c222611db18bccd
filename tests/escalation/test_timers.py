"""SLA timers on real databases, with the clock passed in (`now`) except in the one
real-time test. Times are those of the demo file: Europe/Rome, Mon-Fri 09:00-13:00 +
14:00-18:00; the standard policy answers in 240 business minutes and warns 60 before."""

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select

from core import session_scope, utcnow
from escalation import Ticket, TicketEvent, TicketRequest, open_ticket
from escalation.models import TicketTimer
from escalation.sla import load_sla_config
from escalation.timers import (
    cancel_timers,
    claim_due,
    fire,
    plan_timers,
    run_due,
    run_scheduler,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_sla_config(ROOT / "data" / "sla_policies.yaml")
ROME = ZoneInfo("Europe/Rome")
OPENED = ["opened", "notified"]  # what open_ticket records
OPS, BACKUP, BOSS = (["operatore@bottega-aurora.example"], ["backup@bottega-aurora.example"],
                     ["supervisore@bottega-aurora.example"])


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


def utc(value: datetime) -> datetime:
    """SQLite gives DateTime(timezone=True) back naive (stored in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Notifications(list):
    def __call__(self, ticket, kind, recipients, session):
        self.append((ticket.id, kind, recipients, ticket.level))


def open_at(url: str, now: datetime, *, conversation: str = "c1", **fields) -> int:
    """Open a ticket as the bot does (`open_ticket` plans its timers) at `now`."""
    request = TicketRequest(conversation_id=conversation, question="Is it waterproof?",
                            language="en", reason="kb_escalate", **fields)
    with session_scope(url) as session:
        return open_ticket(request, session=session, sla=CONFIG, notify=Notifications(),
                           now=now).id


def run_at(url: str, now: datetime, notify=None, *, worker: str = "w1") -> list[str]:
    """One scheduler round at `now`: what each claimed timer did."""
    with session_scope(url) as session:
        notify = Notifications() if notify is None else notify
        return [fire(timer, CONFIG, session=session, now=now, notify=notify)
                for timer in claim_due(session, now=now, worker=worker)]


def timers_of(url: str, ticket_id: int) -> list[tuple]:
    with session_scope(url) as session:
        rows = session.scalars(select(TicketTimer).where(TicketTimer.ticket_id == ticket_id)
                               .order_by(TicketTimer.id))
        return [(t.kind, t.level, utc(t.due_at), t.fired_at is not None, t.cancelled) for t in rows]


def events_of(url: str, ticket_id: int) -> list[tuple[str, dict]]:
    with session_scope(url) as session:
        rows = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                               .order_by(TicketEvent.id))
        return [(e.kind, e.detail) for e in rows]


def test_a_new_ticket_gets_its_deadline_and_a_warning_before_it(database_url):
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    with session_scope(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert (ticket.sla_policy, utc(ticket.due_at)) == ("standard", rome(2025, 11, 17, 13, 0))
    assert timers_of(database_url, ticket_id) == [
        ("warning", 0, rome(2025, 11, 17, 12, 0), False, False),
        ("breach", 0, rome(2025, 11, 17, 13, 0), False, False),
    ]


@pytest.mark.parametrize(("now", "fields", "warning", "deadline"), [
    # 10 minutes left on Monday: the deadline is Tuesday 12:50, the warning an hour before.
    (rome(2025, 11, 17, 17, 50), {}, rome(2025, 11, 18, 11, 50), rome(2025, 11, 18, 12, 50)),
    # Opened on Sunday night: both on Monday morning, none in the past.
    (rome(2025, 11, 16, 23, 0), {"category": "pre_purchase"}, rome(2025, 11, 17, 10, 30),
     rome(2025, 11, 17, 11, 0)),
    # Urgent, opened at 12:15: the warning falls on the closing edge before lunch.
    (rome(2025, 11, 17, 12, 15), {"priority": "urgent"}, rome(2025, 11, 17, 13, 0),
     rome(2025, 11, 17, 14, 15)),
])
def test_the_warning_is_the_deadline_minus_business_minutes_never_before_now(
        database_url, now, fields, warning, deadline):
    ticket_id = open_at(database_url, now, **fields)
    (_, _, warn_at, *_), (_, _, due_at, *_) = timers_of(database_url, ticket_id)
    assert (warn_at, due_at) == (warning, deadline)
    assert now <= warn_at < due_at


def test_the_warning_fires_once_to_the_current_level(database_url):
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    sent = Notifications()
    assert run_at(database_url, rome(2025, 11, 17, 11, 59), sent) == []
    assert run_at(database_url, rome(2025, 11, 17, 12, 0), sent) == ["reminded"]
    assert run_at(database_url, rome(2025, 11, 17, 12, 0), sent) == []
    assert run_at(database_url, rome(2025, 11, 17, 12, 30), sent) == []
    assert sent == [(ticket_id, "reminder", OPS, 0)]
    assert [kind for kind, _ in events_of(database_url, ticket_id)] == [*OPENED, "reminded"]


def test_claiming_twice_returns_nothing_the_second_time(database_url):
    open_at(database_url, rome(2025, 11, 17, 9, 0))
    now = rome(2025, 11, 18, 9, 0)
    with session_scope(database_url) as session:
        first = claim_due(session, now=now, worker="w1")
        assert [t.kind for t in first] == ["warning", "breach"]
        assert all(t.fired_by == "w1" and utc(t.fired_at) == now for t in first)
    with session_scope(database_url) as session:
        assert claim_due(session, now=now, worker="w2") == []


def test_breaches_escalate_along_the_chain_with_new_deadlines(database_url):
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    sent = Notifications()
    rounds = [
        (rome(2025, 11, 17, 12, 0), ["reminded"]),
        # Breach at 13:00: the backup gets 240 business minutes from now -> 18:00.
        (rome(2025, 11, 17, 13, 0), ["escalated"]),
        (rome(2025, 11, 17, 17, 0), ["reminded"]),
        # Breach at 18:00: the supervisor's clock starts on Tuesday -> Tuesday 13:00.
        (rome(2025, 11, 17, 18, 0), ["escalated"]),
        (rome(2025, 11, 18, 12, 0), ["reminded"]),
        (rome(2025, 11, 18, 13, 0), ["breached"]),  # the end of the chain
        (rome(2025, 11, 30, 13, 0), []),
    ]
    for now, outcomes in rounds:
        assert run_at(database_url, now, sent) == outcomes, now
    assert sent == [(ticket_id, "reminder", OPS, 0), (ticket_id, "escalation", BACKUP, 1),
                    (ticket_id, "reminder", BACKUP, 1), (ticket_id, "escalation", BOSS, 2),
                    (ticket_id, "reminder", BOSS, 2), (ticket_id, "breach", BOSS, 2)]
    events = events_of(database_url, ticket_id)
    assert [kind for kind, _ in events] == [*OPENED, "reminded", "breached", "escalated",
                                            "reminded", "breached", "escalated", "reminded",
                                            "breached"]
    assert events[2][1] == {"level": 0, "name": "operators", "to": OPS,
                            "due_at": "2025-11-17T12:00:00+00:00"}
    assert events[4][1] == {"level": 1, "name": "backup", "to": BACKUP}
    assert events[7][1] == {"level": 2, "name": "supervisor", "to": BOSS}
    assert events[9][1] == {"level": 2, "policy": "standard"}
    assert [(kind, level, due) for kind, level, due, *_ in timers_of(database_url, ticket_id)] == [
        ("warning", 0, rome(2025, 11, 17, 12, 0)), ("breach", 0, rome(2025, 11, 17, 13, 0)),
        ("warning", 1, rome(2025, 11, 17, 17, 0)), ("breach", 1, rome(2025, 11, 17, 18, 0)),
        ("warning", 2, rome(2025, 11, 18, 12, 0)), ("breach", 2, rome(2025, 11, 18, 13, 0)),
    ]
    with session_scope(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert (ticket.level, ticket.breached, utc(ticket.due_at)) == (2, True,
                                                                      rome(2025, 11, 18, 13, 0))


def test_a_late_scheduler_warns_before_it_escalates_and_counts_from_when_it_ran(database_url):
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    sent = Notifications()
    # Down until Wednesday 10:00: both level-0 timers fire in one round, in due order.
    assert run_at(database_url, rome(2025, 11, 19, 10, 0), sent) == ["reminded", "escalated"]
    assert [kind for _, kind, _, _ in sent] == ["reminder", "escalation"]
    with session_scope(database_url) as session:
        assert utc(session.get(Ticket, ticket_id).due_at) == rome(2025, 11, 19, 15, 0)


def test_the_timers_of_an_answered_ticket_do_nothing(database_url):
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    with session_scope(database_url) as session:  # answered, timers left behind on purpose
        session.get(Ticket, ticket_id).status = "answered"
    sent = Notifications()
    assert run_at(database_url, rome(2025, 11, 18, 9, 0), sent) == ["skipped", "skipped"]
    assert sent == []
    assert [kind for kind, _ in events_of(database_url, ticket_id)] == OPENED
    assert [(fired, cancelled) for *_, fired, cancelled in timers_of(database_url, ticket_id)] == \
        [(True, True), (True, True)]


def test_cancelled_timers_are_never_claimed(database_url):
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    with session_scope(database_url) as session:
        assert cancel_timers(ticket_id, session=session) == 2
        assert cancel_timers(ticket_id, session=session) == 0
    assert run_at(database_url, rome(2025, 11, 18, 9, 0)) == []


def test_a_new_plan_replaces_the_old_one(database_url):
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    with session_scope(database_url) as session:
        old_warning = session.scalars(
            select(TicketTimer).where(TicketTimer.kind == "warning")).one()
        ticket = session.get(Ticket, ticket_id)
        ticket.priority = "urgent"
        plan_timers(ticket, CONFIG, session=session, now=rome(2025, 11, 17, 9, 30))
        # A scheduler that claimed the old warning before the re-plan finds it superseded.
        assert fire(old_warning, CONFIG, session=session, now=rome(2025, 11, 17, 12, 0),
                    notify=Notifications()) == "skipped"
    timers = timers_of(database_url, ticket_id)
    assert [(kind, due, cancelled) for kind, _, due, _, cancelled in timers] == [
        ("warning", rome(2025, 11, 17, 12, 0), True),
        ("breach", rome(2025, 11, 17, 13, 0), True),
        ("warning", rome(2025, 11, 17, 10, 15), False),
        ("breach", rome(2025, 11, 17, 10, 30), False),
    ]


def test_one_failing_timer_is_recorded_and_does_not_stop_the_others(database_url):
    bad = open_at(database_url, rome(2025, 11, 17, 9, 0), conversation="c1")
    good = open_at(database_url, rome(2025, 11, 17, 9, 0), conversation="c2")
    sent = Notifications()

    def notify(ticket, kind, recipients, session):
        if ticket.id == bad:
            raise RuntimeError("template exploded")
        sent(ticket, kind, recipients, session)

    assert run_due(database_url, CONFIG, worker="w1", notify=notify,
                   now=rome(2025, 11, 17, 12, 0)) == 2
    assert sent == [(good, "reminder", OPS, 0)]
    failed = events_of(database_url, bad)
    assert [kind for kind, _ in failed] == [*OPENED, "timer_failed"]  # "reminded" rolled back
    assert failed[-1][1]["kind"] == "warning" and "template exploded" in failed[-1][1]["error"]
    assert timers_of(database_url, bad)[0][3:] == (True, True)


def test_a_ticket_locked_by_an_answer_is_skipped_without_waiting(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are a PostgreSQL matter; SQLite has one writer at a time")
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    now = rome(2025, 11, 17, 12, 0)
    with session_scope(database_url) as scheduler:
        (warning,) = claim_due(scheduler, now=now, worker="w1")
        with session_scope(database_url) as answer:  # locks in the opposite order
            ticket = answer.get(Ticket, ticket_id, with_for_update=True)
            assert cancel_timers(ticket_id, session=answer) == 1  # the breach; not the claimed one
            assert fire(warning, CONFIG, session=scheduler, now=now,
                        notify=Notifications()) == "busy"
            ticket.status = "answered"
    # The warning went back to be claimed; the ticket is answered by then.
    assert run_at(database_url, now) == ["skipped"]


def test_the_scheduler_loop_survives_a_failing_round_and_stops_when_asked(database_url):
    ticket_id = open_at(database_url, rome(2025, 11, 17, 9, 0))
    sent, stop, calls = Notifications(), threading.Event(), []

    def clock():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("clock hiccup")
        return rome(2025, 11, 17, 12, 0)

    loop = threading.Thread(target=run_scheduler, args=(database_url, CONFIG), daemon=True,
                            kwargs={"worker": "w1", "notify": sent, "interval_s": 0.05,
                                    "stop": stop, "clock": clock})
    loop.start()
    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    loop.join(timeout=2)
    assert not loop.is_alive()
    assert sent == [(ticket_id, "reminder", OPS, 0)]


def test_a_real_breach_fires_within_two_seconds_of_its_due_time(database_url, tmp_path):
    policy_file = tmp_path / "fast.yaml"
    policy_file.write_text(yaml.safe_dump({
        "timezone": "UTC",
        "business_hours": {day: ["00:00-24:00"] for day in
                           ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "chain": [{"name": "ops", "emails": ["ops@example.com"]},
                  {"name": "boss", "emails": ["boss@example.com"]}],
        # Fractional minutes: 1.2 s to answer, a warning 0.6 s before.
        "policies": [{"name": "fast", "first_response_minutes": 0.02,
                      "warn_before_minutes": 0.01}],
    }), encoding="utf-8")
    config = load_sla_config(policy_file)
    with session_scope(database_url) as session:
        request = TicketRequest(conversation_id="c1", question="?", language="en", reason="x")
        info = open_ticket(request, session=session, sla=config, notify=Notifications(),
                           now=utcnow())
        ticket_id, due_at = info.id, info.due_at
    arrivals: dict[str, datetime] = {}

    def notify(ticket, kind, recipients, session):
        arrivals.setdefault(kind, utcnow())

    stop = threading.Event()
    loop = threading.Thread(target=run_scheduler, args=(database_url, config), daemon=True,
                            kwargs={"worker": "rt", "notify": notify, "interval_s": 0.1,
                                    "stop": stop})
    loop.start()
    try:
        give_up = time.monotonic() + 6
        while "escalation" not in arrivals and time.monotonic() < give_up:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(timeout=2)
    assert "reminder" in arrivals and "escalation" in arrivals
    assert arrivals["reminder"] < arrivals["escalation"]
    assert timedelta(0) <= arrivals["escalation"] - due_at < timedelta(seconds=2)
    assert [kind for kind, _ in events_of(database_url, ticket_id)] == [
        *OPENED, "reminded", "breached", "escalated"]


WORKER = r"""
import json, sys, time
from datetime import datetime
from pathlib import Path
from sqlalchemy import text
from core import session_scope
from escalation.sla import load_sla_config
from escalation.timers import claim_due, fire

url, policies, name, go, out, now = sys.argv[1:]
config, now = load_sla_config(policies), datetime.fromisoformat(now)
with session_scope(url) as session:
    session.execute(text("select 1"))
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.005)
calls, empty = [], 0
while empty < 3:
    batch = []
    with session_scope(url) as session:
        claimed = claim_due(session, now=now, worker=name, limit=5)
        for timer in claimed:
            fire(timer, config, session=session, now=now,
                 notify=lambda ticket, kind, to, s: batch.append([ticket.id, kind]))
    calls += batch  # counted once committed
    if claimed and not Path(go + "." + name).exists():
        # Both take part, however the machine schedules them: after its first batch each
        # waits until the other has claimed one too (the race then runs on the rest).
        Path(go + "." + name).touch()
        other, waited = Path(go + "." + ("b" if name == "a" else "a")), 0.0
        while not other.exists() and waited < 30:
            time.sleep(0.005)
            waited += 0.005
    empty = 0 if claimed else empty + 1
    time.sleep(0.001 if claimed else 0.02)
Path(out).write_text(json.dumps(calls))
"""


def test_two_scheduler_processes_fire_each_timer_exactly_once(database_url, tmp_path):
    """Replicas on PostgreSQL; on SQLite, say the web app and a CLI both running the loop
    (a plain SELECT-then-UPDATE claim fires timers twice there: pysqlite only begins the
    transaction at the UPDATE)."""
    opened = rome(2025, 11, 17, 9, 0)
    with session_scope(database_url) as session:
        for i in range(100):
            ticket = Ticket(conversation_id=f"c{i}", question="?", due_at=opened)
            session.add(ticket)
            session.flush()
            plan_timers(ticket, CONFIG, session=session, now=opened)
    now = rome(2025, 11, 18, 9, 0)  # every warning and breach is due: 200 timers
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen(
        [sys.executable, "-c", WORKER, database_url, str(ROOT / "data" / "sla_policies.yaml"),
         name, str(go), str(tmp_path / f"{name}.json"), now.isoformat()],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for name in ("a", "b")]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    go.touch()
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    calls = [tuple(c) for name in ("a", "b")
             for c in json.loads((tmp_path / f"{name}.json").read_text())]
    assert len(calls) == len(set(calls))  # no timer had its effect twice
    with session_scope(database_url) as session:
        first = select(TicketTimer).where(TicketTimer.level == 0)
        timers = session.scalars(first).all()
        assert len(timers) == 200 and all(t.fired_at is not None for t in timers)
        assert {t.fired_by for t in timers} == {"a", "b"}
        # A warning handed back because the other worker held its ticket, and claimed again
        # after that ticket's breach, is moot: skipped, not sent late.
        reminders = sum(1 for t in timers if t.kind == "warning" and not t.cancelled)
        assert sorted(kind for _, kind in calls) == ["escalation"] * 100 + ["reminder"] * reminders
        assert reminders > 90
        kinds = session.execute(select(TicketEvent.kind, func.count()).group_by(TicketEvent.kind))
        assert dict(kinds.all()) == {"reminded": reminders, "breached": 100, "escalated": 100}
        assert session.scalar(select(func.count()).where(Ticket.level == 1)) == 100
        pending_due = select(func.count()).select_from(TicketTimer).where(
            TicketTimer.fired_at.is_(None), TicketTimer.cancelled.is_(False),
            TicketTimer.due_at <= now)
        assert session.scalar(pending_due) == 0
