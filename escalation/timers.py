"""SLA timers: a warning before the deadline and the breach, per escalation level.

Timers are rows, and any number of scheduler processes may run. `claim_due` marks a batch
fired in one UPDATE (PostgreSQL picks its rows with SKIP LOCKED, so replicas take disjoint
batches; SQLite lets one writer in at a time), and the caller applies the effects in the
same transaction. A crash before the commit undoes the claim with the effects, so a timer
fires exactly once.

The scheduler never waits for a lock someone else holds: a ticket locked by another
transaction (an operator's answer being recorded) is skipped and its timer handed back for
the next round. So an answer and a scheduler can never deadlock, whatever order the
answer takes its locks in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core import as_utc, session_scope, utcnow
from escalation.models import Ticket, TicketEvent, TicketStatus, TicketTimer
from escalation.sla import SlaConfig

log = logging.getLogger(__name__)

WARNING, BREACH = "warning", "breach"
# Batches one round may take before sleeping: a backlog drains at once, but timers handed
# back again and again (their tickets locked) cannot keep a round spinning.
MAX_BATCHES_PER_ROUND = 20
# Queues the mail about `ticket` (kind: reminder, escalation, breach) in the caller's session.
Notify = Callable[[Ticket, str, list[str], Session], None]


def plan_timers(ticket: Ticket, config: SlaConfig, *, session: Session,
                now: datetime) -> list[TicketTimer]:
    """Give the ticket a deadline at its current level, counted from `now`, and schedule
    the warning and the breach. Pending timers of an earlier plan are cancelled."""
    now = as_utc(now)
    if ticket.id is None:
        session.add(ticket)
        session.flush()
    policy = config.policy_for(ticket.priority, ticket.category)
    ticket.sla_policy = policy.name
    ticket.due_at = config.add_business_minutes(now, policy.first_response_minutes)
    cancel_timers(ticket.id, session=session)
    timers = [TicketTimer(ticket_id=ticket.id, kind=BREACH, level=ticket.level,
                          due_at=ticket.due_at)]
    if policy.warn_before_minutes:
        # Counting forward from now is the deadline minus the warning in business time,
        # and it can never land before now.
        warn_at = config.add_business_minutes(
            now, policy.first_response_minutes - policy.warn_before_minutes)
        timers.insert(0, TicketTimer(ticket_id=ticket.id, kind=WARNING, level=ticket.level,
                                     due_at=warn_at))
    session.add_all(timers)
    session.flush()
    return timers


def cancel_timers(ticket_id: int, *, session: Session) -> int:
    """Stop the ticket's pending timers (it was answered or re-planned); returns how many.
    A timer a scheduler is firing right now is left to it: `fire` sees the new state."""
    pending = (select(TicketTimer.id)
               .where(TicketTimer.ticket_id == ticket_id, TicketTimer.fired_at.is_(None),
                      TicketTimer.cancelled.is_(False))
               .with_for_update(skip_locked=True))
    result = session.execute(update(TicketTimer)
                             .where(TicketTimer.id.in_(pending.scalar_subquery()))
                             .values(cancelled=True))
    return result.rowcount


def claim_due(session: Session, *, now: datetime, worker: str,
              limit: int = 100) -> list[TicketTimer]:
    """Mark up to `limit` due timers fired by `worker` and return them, in the order to fire.
    Apply their effects (`fire`) in the same transaction."""
    now = as_utc(now)
    # FOR UPDATE SKIP LOCKED: replicas never wait for each other nor take the same row.
    # SQLite ignores it; its single UPDATE statement is atomic on its own.
    due = (select(TicketTimer.id)
           .where(TicketTimer.fired_at.is_(None), TicketTimer.cancelled.is_(False),
                  TicketTimer.due_at <= now)
           .order_by(TicketTimer.due_at, TicketTimer.id)
           .limit(limit)
           .with_for_update(skip_locked=True))
    claimed = session.scalars(
        update(TicketTimer)
        .where(TicketTimer.id.in_(due.scalar_subquery()), TicketTimer.fired_at.is_(None))
        .values(fired_at=now, fired_by=worker[:64])
        .returning(TicketTimer),
        execution_options={"populate_existing": True},
    ).all()
    # A ticket's warning before its breach; tickets in id order so replicas lock alike.
    return sorted(claimed, key=lambda t: (t.ticket_id, as_utc(t.due_at), t.id))


def fire(timer: TicketTimer, config: SlaConfig, *, session: Session, now: datetime,
         notify: Notify) -> str:
    """Apply a claimed timer. Returns what happened: reminded, escalated, breached,
    skipped (the ticket moved on: answered, escalated, re-planned) or busy (the ticket
    is locked by another transaction; the timer goes back to be claimed again)."""
    now = as_utc(now)
    ticket = session.scalars(
        select(Ticket).where(Ticket.id == timer.ticket_id)
        .with_for_update(skip_locked=True, key_share=True)
        .execution_options(populate_existing=True)
    ).first()
    if ticket is None:
        timer.fired_at, timer.fired_by = None, ""
        return "busy"
    timer.fired_at = timer.fired_at or now
    if _stale(timer, ticket, session=session):
        timer.cancelled = True
        return "skipped"
    if timer.kind == WARNING:
        return _remind(ticket, config, session=session, now=now, notify=notify)
    if timer.kind == BREACH:
        return _breach(ticket, config, session=session, now=now, notify=notify)
    raise ValueError(f"unknown timer kind {timer.kind!r}")


def _stale(timer: TicketTimer, ticket: Ticket, *, session: Session) -> bool:
    if ticket.status != TicketStatus.OPEN or ticket.level != timer.level:
        return True
    replaced = exists().where(TicketTimer.ticket_id == timer.ticket_id,
                              TicketTimer.kind == timer.kind, TicketTimer.id > timer.id)
    return bool(session.scalar(select(replaced)))


def _remind(ticket: Ticket, config: SlaConfig, *, session: Session, now: datetime,
            notify: Notify) -> str:
    level = config.level(ticket.level)
    _event(session, ticket, "reminded", now, level=ticket.level, name=level.name,
           to=list(level.emails), due_at=as_utc(ticket.due_at).isoformat())
    notify(ticket, "reminder", list(level.emails), session)
    return "reminded"


def _breach(ticket: Ticket, config: SlaConfig, *, session: Session, now: datetime,
            notify: Notify) -> str:
    ticket.breached = True
    _event(session, ticket, "breached", now, level=ticket.level, policy=ticket.sla_policy)
    following = config.next_level(ticket.level)
    if following is None:  # the end of the chain: tell the last level, nothing more to plan
        notify(ticket, "breach", list(config.level(ticket.level).emails), session)
        return "breached"
    ticket.level += 1
    _event(session, ticket, "escalated", now, level=ticket.level, name=following.name,
           to=list(following.emails))
    plan_timers(ticket, config, session=session, now=now)
    notify(ticket, "escalation", list(following.emails), session)
    return "escalated"


def _event(session: Session, ticket: Ticket, kind: str, now: datetime, **detail) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, kind=kind, at=now, detail=detail))
    session.flush()


# -- the scheduler loop -------------------------------------------------------------------


def run_due(url: str, config: SlaConfig, *, worker: str, notify: Notify, now: datetime,
            limit: int = 100) -> int:
    """Claim and fire one batch in one transaction; returns how many timers it claimed.
    One timer that fails is recorded on its ticket and does not stop the others."""
    with session_scope(url) as session:
        timers = claim_due(session, now=now, worker=worker, limit=limit)
        for timer in timers:
            _fire_isolated(timer, config, session=session, now=now, notify=notify)
    return len(timers)


def _fire_isolated(timer: TicketTimer, config: SlaConfig, *, session: Session, now: datetime,
                   notify: Notify) -> None:
    timer_id, ticket_id, kind = timer.id, timer.ticket_id, timer.kind
    try:
        with session.begin_nested():
            fire(timer, config, session=session, now=now, notify=notify)
    except OperationalError:
        raise  # lock timeout, lost connection: the whole batch is retried next round
    except Exception as exc:
        # Retrying a timer that fails the same way would send nothing and block nothing
        # useful; mark it done and leave the failure on the ticket for a person to see.
        log.exception("SLA timer %s (%s) of ticket %s failed", timer_id, kind, ticket_id)
        session.execute(update(TicketTimer).where(TicketTimer.id == timer_id)
                        .values(cancelled=True, fired_at=now))
        session.add(TicketEvent(ticket_id=ticket_id, kind="timer_failed", at=now,
                                detail={"timer": timer_id, "kind": kind,
                                        "error": repr(exc)[:500]}))


def run_scheduler(url: str, config: SlaConfig, *, worker: str, notify: Notify,
                  interval_s: float, stop: threading.Event,
                  clock: Callable[[], datetime] = utcnow, limit: int = 100) -> None:
    """Fire due timers every `interval_s` until `stop` is set (blocking; run it in a thread)."""
    while not stop.is_set():
        _tick(url, config, worker=worker, notify=notify, clock=clock, limit=limit)
        stop.wait(interval_s)


def _tick(url: str, config: SlaConfig, *, worker: str, notify: Notify,
          clock: Callable[[], datetime], limit: int) -> int:
    """Fire everything due now, batch after batch; never raises."""
    fired = 0
    try:
        for _ in range(MAX_BATCHES_PER_ROUND):
            claimed = run_due(url, config, worker=worker, notify=notify, now=clock(), limit=limit)
            fired += claimed
            if claimed < limit:
                break
    except Exception:
        log.exception("SLA scheduler %s: this round failed; trying again in the next", worker)
    return fired
