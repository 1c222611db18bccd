"""Daily roll-ups of the additive key figures, per language and channel, for the dashboard.

A day is rolled up once it is over on the shop's clock, its last conversations have had
`SETTLE` to finish, and all its questions are labelled. Until then (today, and any
day still being labelled) the dashboard computes that day live: `counts` joins both, so a
figure is the same whichever way its days were counted.

Two approximations, both documented where the figures are shown: a conversation that runs
across local midnight, or switches language, counts once per day or language it touched;
and an erasure (GDPR) does not rewrite the anonymous counts of days already rolled up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import fields
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, delete, func, not_, select
from sqlalchemy.orm import Session

from analytics.metrics import Counts, event_counts, ratings_by_score
from analytics.models import DailyFigures, EventKind, InteractionEvent, QuestionInsight, RolledUpDay
from analytics.period import Filters, Period, report_zone
from analytics.sources import learned_entries
from core import DecisionKind, as_utc

Q, F = QuestionInsight, DailyFigures
MAX_DAYS_PER_ROUND = 400  # a first run over a year of history does it in one round
# A question's outcome (a choice, thumbs, an escalation) is known this long after it:
# questions are labelled, and days rolled up, only once it has passed.
SETTLE = timedelta(minutes=30)
_COUNTED = [f.name for f in fields(Counts)]
_DECIDED = ("decided_answer", "decided_escalate")  # written here; clarify is `clarified`
_BY_DECISION = {DecisionKind.ANSWER: "decided_answer", DecisionKind.CLARIFY: "clarified",
                DecisionKind.ESCALATE: "decided_escalate"}
_SCORES = tuple(f"rating_{score}" for score in range(1, 6))


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def question_columns():
    """Counts of labelled questions, in `Counts` order after conversations, then decisions."""
    return [func.count(), _count(Q.answered),
            _count(and_(Q.answered, not_(Q.escalated), not_(Q.disliked))), _count(Q.escalated),
            _count(Q.decision == DecisionKind.CLARIFY),
            _count(and_(Q.decision == DecisionKind.ANSWER, Q.entry_id.in_(learned_entries()))),
            _count(Q.decision == DecisionKind.ANSWER), _count(Q.decision == DecisionKind.ESCALATE)]


def roll_up(session: Session, *, now: datetime, max_days: int = MAX_DAYS_PER_ROUND) -> int:
    """Write the figures of finished days not rolled up yet (at most `max_days`, oldest
    first); returns how many days."""
    first = session.scalar(select(func.min(InteractionEvent.occurred_at)).where(
        InteractionEvent.kind.in_([EventKind.CONVERSATION_START.value, EventKind.MESSAGE.value])))
    if first is None:
        return 0
    day = _local_day(first)
    done = set(session.scalars(select(RolledUpDay.day).where(RolledUpDay.day >= day)))
    labelled_up_to = session.scalar(select(func.max(Q.event_id))) or 0
    rolled = 0
    while rolled < max_days:
        period = Period(day, day)
        if period.end_utc + SETTLE > now:
            break
        if day not in done:
            if _unlabelled(session, period, labelled_up_to):
                break  # the labeller is behind: this day and those after it wait
            _write_day(session, period, now)
            rolled += 1
        day += timedelta(days=1)
    return rolled


def reopen(session: Session, start: datetime, end: datetime) -> int:
    """Forget the roll-ups of the local days from `start` to `end`, so the next round
    writes them again: for events logged after their day was rolled up (the demo's
    simulated history is written into days already summed). How many days."""
    first, last = _local_day(start), _local_day(end)
    session.execute(delete(F).where(F.day >= first, F.day <= last))
    gone = session.execute(delete(RolledUpDay).where(RolledUpDay.day >= first,
                                                     RolledUpDay.day <= last))
    session.flush()
    return gone.rowcount or 0


def _local_day(moment: datetime) -> date:
    return as_utc(moment).astimezone(report_zone()).date()


def _unlabelled(session: Session, period: Period, labelled_up_to: int) -> bool:
    return session.scalar(select(InteractionEvent.id).where(
        InteractionEvent.kind == EventKind.MESSAGE.value, InteractionEvent.id > labelled_up_to,
        *period.covers(InteractionEvent.occurred_at)).limit(1)) is not None


def _write_day(session: Session, period: Period, now: datetime) -> None:
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(_COUNTED + list(_DECIDED) + list(_SCORES), 0))
    names = _COUNTED[1:7] + list(_DECIDED)
    for language, channel, *values in session.execute(
            select(Q.language, Q.channel, *question_columns())
            .where(Q.day == period.start).group_by(Q.language, Q.channel)):
        rows[(language, channel)].update(zip(names, (int(v) for v in values), strict=True))
    for language, channel in _pairs(session, period):
        exact = _exact(language, channel)
        counts = event_counts(period, exact, session=session)
        row = rows[(language, channel)]
        for name in ("conversations", "thumbs_up", "thumbs_down", "ratings", "rating_sum"):
            row[name] = getattr(counts, name)
        for score, n in ratings_by_score(period, exact, session=session).items():
            row[f"rating_{score}"] = n
    session.execute(delete(F).where(F.day == period.start))
    session.add_all(F(day=period.start, language=language, channel=channel, **values)
                    for (language, channel), values in rows.items() if any(values.values()))
    session.merge(RolledUpDay(day=period.start, rolled_up_at=now))
    session.flush()


class _exact(Filters):
    """Filters on any stored language and channel, even values reports do not offer ("")."""

    def __init__(self, language: str, channel: str) -> None:
        object.__setattr__(self, "language", language)
        object.__setattr__(self, "channel", channel)

    def conditions(self, language, channel=None) -> list:
        out = [language == self.language]
        if channel is not None:
            out.append(channel == self.channel)
        return out


def _pairs(session: Session, period: Period) -> Iterable[tuple[str, str]]:
    E = InteractionEvent
    return session.execute(select(E.language, E.channel).where(
        E.kind.in_([EventKind.CONVERSATION_START.value, EventKind.MESSAGE.value,
                    EventKind.FEEDBACK.value, EventKind.RATING.value]),
        *period.covers(E.occurred_at)).distinct()).all()


# -- reading ------------------------------------------------------------------------------
def rolled_days(session: Session, period: Period) -> set[date]:
    return set(session.scalars(select(RolledUpDay.day).where(
        RolledUpDay.day >= period.start, RolledUpDay.day <= period.end)))


def _only(rolled: set[date]) -> list:
    """Figure rows of exactly the days read as rolled up: a day rolled up between that read
    and this one is counted live, never twice."""
    return [F.day >= min(rolled), F.day <= max(rolled), F.day.in_(sorted(rolled))]


def open_runs(period: Period, rolled: set[date]) -> list[Period]:
    """The period's days not rolled up, as runs of consecutive days."""
    runs, start = [], None
    day = period.start
    while day <= period.end + timedelta(days=1):
        is_open = day <= period.end and day not in rolled
        if is_open and start is None:
            start = day
        elif not is_open and start is not None:
            runs.append(Period(start, day - timedelta(days=1), period.timezone))
            start = None
        day += timedelta(days=1)
    return runs


def counts(period: Period, filters: Filters, *, session: Session) -> Counts:
    """`Counts` of the period: roll-ups where a day has them, the log and labels elsewhere."""
    rolled = rolled_days(session, period)
    total = Counts()
    if rolled:
        sums = session.execute(select(*(func.coalesce(func.sum(getattr(F, n)), 0)
                                        for n in _COUNTED))
                               .where(*_only(rolled), *filters.conditions(F.language, F.channel))
                               ).one()
        total = Counts(*(int(v) for v in sums))
    for run in open_runs(period, rolled):
        questions = session.execute(select(*question_columns()[:6]).where(
            Q.day >= run.start, Q.day <= run.end,
            *filters.conditions(Q.language, Q.channel))).one()
        total = total + event_counts(run, filters, session=session) + Counts(
            0, *(int(v) for v in questions))
    return total


def ratings(period: Period, filters: Filters, *, session: Session) -> dict[int, int]:
    """`metrics.ratings_by_score` from roll-ups where a day has them."""
    rolled = rolled_days(session, period)
    out = dict.fromkeys(range(1, 6), 0)
    if rolled:
        sums = session.execute(select(*(func.coalesce(func.sum(getattr(F, n)), 0)
                                        for n in _SCORES))
                               .where(*_only(rolled), *filters.conditions(F.language, F.channel))
                               ).one()
        out = {score: int(n) for score, n in zip(range(1, 6), sums, strict=True)}
    for run in open_runs(period, rolled):
        for score, n in ratings_by_score(run, filters, session=session).items():
            out[score] += n
    return out


def decisions_by_day(period: Period, filters: Filters, *, session: Session
                     ) -> dict[tuple[date, str], int]:
    """{(day, decision): questions} over the period, from roll-ups and labels alike."""
    rolled = rolled_days(session, period)
    out: dict[tuple[date, str], int] = defaultdict(int)
    if rolled:
        for day, *values in session.execute(
                select(F.day, *(func.sum(getattr(F, n)) for n in _BY_DECISION.values()))
                .where(*_only(rolled), *filters.conditions(F.language, F.channel))
                .group_by(F.day)):
            for decision, value in zip(_BY_DECISION, values, strict=True):
                out[(as_date(day), decision)] += int(value or 0)
    for run in open_runs(period, rolled):
        for day, decision, n in session.execute(
                select(Q.day, Q.decision, func.count())
                .where(Q.day >= run.start, Q.day <= run.end,
                       *filters.conditions(Q.language, Q.channel)).group_by(Q.day, Q.decision)):
            out[(as_date(day), decision)] += n
    return out


def as_date(value) -> date:
    """A date column's value as a date, whatever the driver hands back."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
