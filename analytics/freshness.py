"""How fresh the dashboard's figures are, and why a count is still zero.

The labels behind the dashboard (analytics.insights) are refreshed in rounds, every few
minutes while the product runs or by `supportbot analytics refresh`, and a question is
labelled only once its conversation has had `rollup.SETTLE` to finish. So "0 questions"
has three honest readings: nothing was ever asked, everything asked is counted already,
or what was asked is still settling. Each round is recorded, with what it left waiting,
so the dashboard and the CLI can say which reading applies and when the figures fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from analytics.models import EventKind, InsightRound, InteractionEvent, QuestionInsight
from analytics.rollup import SETTLE
from core import as_utc

KEEP_ROUNDS = timedelta(days=2)  # only the newest round is read; the rest is pruned


@dataclass(frozen=True)
class Backlog:
    """The log's questions against the labels, at one moment."""

    logged: int  # questions in the log (an upper bound once erasure has run: it is cheap)
    waiting: int  # logged, not labelled yet
    oldest_waiting: datetime | None  # when the oldest of them was asked
    settle: timedelta = SETTLE

    @property
    def next_at(self) -> datetime | None:
        """When the oldest waiting question may be labelled (the next round after it)."""
        return self.oldest_waiting + self.settle if self.oldest_waiting else None


def backlog(session: Session, *, settle: timedelta = SETTLE) -> Backlog:
    """Questions logged and those still waiting for a label. Labels are given in id
    order, so the waiting ones are the message events past the highest labelled id: a
    range scan of the primary key, cheap enough for every empty page."""
    E = InteractionEvent
    last = session.scalar(select(func.max(QuestionInsight.event_id))) or 0
    messages = E.kind == EventKind.MESSAGE.value
    waiting, oldest = session.execute(select(func.count(), func.min(E.occurred_at))
                                      .where(messages, E.id > last)).one()
    labelled = session.scalar(select(func.count()).select_from(QuestionInsight)) or 0
    return Backlog(int(labelled) + int(waiting), int(waiting),
                   as_utc(oldest) if oldest is not None else None, settle)


def record_round(session: Session, *, now: datetime, labelled: int, waiting: int) -> None:
    """Note a finished round; rounds older than `KEEP_ROUNDS` go (one every five minutes
    would otherwise pile up). Several replicas each add their own row: no conflict."""
    session.add(InsightRound(finished_at=now, labelled=labelled, waiting=waiting))
    session.execute(delete(InsightRound).where(InsightRound.finished_at < now - KEEP_ROUNDS))
    session.flush()


def last_round(session: Session) -> datetime | None:
    """When the labels were last refreshed; None when never."""
    last = session.scalar(select(func.max(InsightRound.finished_at)))
    return as_utc(last) if last is not None else None


def status(session: Session) -> dict:
    """What an empty dashboard tells its reader: questions logged and waiting, when the
    first waiting one is counted, the last refresh and the settling time in minutes."""
    found = backlog(session)
    return {"logged": found.logged, "waiting": found.waiting, "next_at": found.next_at,
            "last": last_round(session), "settle": int(found.settle.total_seconds() // 60)}


def explain(labelled: int, found: Backlog) -> str:
    """Why a round labelled what it did, in the CLI's English: a bare "0 questions
    labelled" reads like a fault when it is usually the settling time."""
    minutes = int(found.settle.total_seconds() // 60)
    if found.logged == 0:
        return ("the log has no questions yet: chat with the bot, or run "
                "`supportbot demo-traffic` for a simulated quarter")
    parts = []
    if found.waiting:
        when = found.next_at.strftime("%H:%M UTC") if found.next_at else "soon"
        many = found.waiting > 1
        parts.append(f"{found.waiting} newer question{'s wait' if many else ' waits'} until "
                     f"{'their conversations have' if many else 'its conversation has'} had "
                     f"{minutes} minutes to finish (labelled from {when})")
    if not labelled:
        parts.insert(0, "nothing new since the last refresh" if not found.waiting
                     else "nothing settled since the last refresh")
    return "; ".join(parts)
