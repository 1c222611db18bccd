"""The weekly report for marketing: the key figures of one ISO week (Monday to Sunday,
local days) next to the week before, the most asked questions, the knowledge gaps and
the entries customers found unhelpful.

The report is data (frozen dataclasses); escalation renders it as mail and queues it.
Two more sections, topics trending this week and the products or categories asked about
before buying, come from the labelled questions (analytics.insights, analytics.dashboard).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analytics.metrics import (
    EntryVotes,
    Summary,
    knowledge_gaps,
    summary,
    top_questions,
    unhelpful_entries,
)
from analytics.period import AnalyticsError, Filters, Period, iso_week, report_zone
from core import utcnow

TOP_LIMIT = 10
_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)


@dataclass(frozen=True)
class TrendItem:
    """One line of a ranked section: a question, topic, product or category, how often it
    came up this week, and the change in that count since the week before (None when the
    week before is not known for it)."""

    label: str
    count: int
    change: int | None = None


@dataclass(frozen=True)
class Figure:
    """A key figure this week and the week before. `unit` says how to read it: "count",
    "share" (0..1), "minutes" or "rating" (1..5). `good` is +1 when a rise is good news,
    -1 when a fall is, 0 when neither; `part`/`whole` are a share's counts this week."""

    key: str
    unit: str
    value: float | None
    previous: float | None
    good: int = 0
    part: int | None = None
    whole: int | None = None

    @property
    def change(self) -> float | None:
        """value - previous: a count, minutes, rating points, or a share's points (0.05 = 5 pp)."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass(frozen=True)
class WeeklyReport:
    week: Period  # Monday..Sunday, local days
    figures: tuple[Figure, ...]
    top_questions: tuple[TrendItem, ...]
    gaps: tuple[TrendItem, ...]
    unhelpful: tuple[EntryVotes, ...]
    # From the labelled questions (`insight_sections`); empty sections are skipped.
    topics: tuple[TrendItem, ...] = ()
    products: tuple[TrendItem, ...] = ()
    generated_at: datetime = field(default_factory=utcnow, compare=False)

    @property
    def iso_week(self) -> str:
        return iso_week(self.week.start)

    @property
    def empty(self) -> bool:
        """No conversation and no question in the week."""
        return not (self.figure("conversations").value or self.figure("questions").value)

    def figure(self, key: str) -> Figure:
        for figure in self.figures:
            if figure.key == key:
                return figure
        raise KeyError(key)


# -- weeks ------------------------------------------------------------------------------------
def parse_iso_week(text: str) -> date:
    """The Monday of an ISO week written "2026-W47" (or "2026W47", "2026-w47")."""
    match = _WEEK.fullmatch(text.strip())
    if not match:
        raise AnalyticsError(f"a week is written like 2026-W47, not {text!r}")
    year, week = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise AnalyticsError(f"{year} has no week {week}") from None
    week_period(monday)  # the year range check
    return monday


def week_period(monday: date) -> Period:
    if monday.isoweekday() != 1:
        raise AnalyticsError(f"a week starts on a Monday; {monday} is not one")
    return Period(monday, monday + timedelta(days=6))  # the shop's local days, as every report


def last_complete_week(today: date) -> date:
    """The Monday of the last week that has ended by `today` (local)."""
    return today - timedelta(days=today.isoweekday() - 1 + 7)


def due_week(now: datetime, *, weekday: int = 1, hour: int = 8,
             zone: ZoneInfo | None = None) -> date:
    """The Monday of the newest week whose report is due at `now`: a week's report is due
    from `weekday` (ISO, 1 = Monday) at `hour`:00 local time of the following week. Before
    that moment the week before it is still the newest due one (queued already, normally)."""
    zone = zone or report_zone()
    local = now.astimezone(zone)
    ended = last_complete_week(local.date())
    send_at = datetime.combine(ended + timedelta(days=6 + weekday), time(hour), tzinfo=zone)
    return ended if local >= send_at else ended - timedelta(days=7)


# -- building ---------------------------------------------------------------------------------
def build_weekly_report(week_start: date, *, session: Session, today: date,
                        now: datetime | None = None) -> WeeklyReport:
    """The report of the week starting on Monday `week_start`, which must have ended
    before `today` (local). `now` decides which tickets count as due for the SLA."""
    week = week_period(week_start)
    if week.end >= today:
        raise AnalyticsError(f"the week {iso_week(week_start)} ends on {week.end}; its report "
                             f"can be made from {week.end + timedelta(days=1)}")
    before = week_period(week_start - timedelta(days=7))
    now, everything = now or utcnow(), Filters()
    current = summary(week, everything, session=session, now=now)
    previous = summary(before, everything, session=session, now=now)
    return WeeklyReport(
        week=week,
        figures=figures(current, previous),
        top_questions=_ranked(top_questions, week, before, session),
        gaps=_ranked(knowledge_gaps, week, before, session),
        unhelpful=tuple(unhelpful_entries(week, everything, session=session, limit=TOP_LIMIT)),
        generated_at=now,
        **insight_sections(week, before, session=session),
    )


def insight_sections(week: Period, before: Period, *, session: Session
                     ) -> dict[str, tuple[TrendItem, ...]]:
    """The dashboard's two marketing sections for `week`, from the labelled questions
    (analytics.insights): topics by questions this week (change against `before`; a topic
    growing well past its last four weeks is marked "in crescita"), and the products or
    categories asked about before buying."""
    from analytics import dashboard

    trend = Period(week.start - timedelta(weeks=4), week.end, week.timezone)
    this, last = iso_week(week.start), iso_week(before.start)
    topics = sorted(dashboard.topic_overview(trend, Filters(), session=session),
                    key=lambda t: (-t.weekly.get(this, 0), t.id))
    return {
        "topics": tuple(TrendItem(t.label + (" (in crescita)" if t.emerging else ""),
                                  t.weekly.get(this, 0),
                                  t.weekly.get(this, 0) - t.weekly.get(last, 0))
                        for t in topics if t.weekly.get(this, 0))[:TOP_LIMIT],
        "products": tuple(TrendItem(dashboard.subject_name(p.subject), p.questions,
                                    p.questions - p.previous)
                          for p in dashboard.subjects(week, Filters(), session=session,
                                                      limit=TOP_LIMIT)),
    }


def figures(current: Summary, previous: Summary) -> tuple[Figure, ...]:
    """Key figures in the order the report shows them. The end-of-chat rating appears only
    when `Summary` carries it (`rating_average`, `ratings`)."""
    def pair(name: str) -> tuple:
        return getattr(current, name), getattr(previous, name)

    rows = [
        Figure("conversations", "count", *pair("conversations")),
        Figure("questions", "count", *pair("questions")),
        Figure("deflection_rate", "share", *pair("deflection_rate"), good=1,
               part=current.deflected, whole=current.questions),
        Figure("escalation_rate", "share", *pair("escalation_rate"), good=-1,
               part=current.escalated, whole=current.questions),
        Figure("clarify_rate", "share", *pair("clarify_rate"), good=-1,
               part=current.clarified, whole=current.questions),
        Figure("helpful_share", "share", *pair("helpful_share"), good=1,
               part=current.thumbs_up, whole=current.thumbs_up + current.thumbs_down),
        Figure("sla_compliance", "share", *pair("sla_compliance"), good=1,
               part=current.sla_met, whole=current.sla_due),
        Figure("first_response_p50_min", "minutes", *pair("first_response_p50_min"), good=-1),
        Figure("learned_reuse", "count", *pair("learned_reuse"), good=1),
    ]
    if hasattr(current, "rating_average"):
        ratings = getattr(current, "ratings", None)
        rows.append(Figure("rating_average", "rating", *pair("rating_average"), good=1,
                           whole=ratings if isinstance(ratings, int) else None))
    return tuple(rows)


def _ranked(query, week: Period, before: Period, session: Session) -> tuple[TrendItem, ...]:
    """The week's ranking from `query`, each with the change since the week before."""
    everything = Filters()
    ranked = query(week, everything, session=session, limit=TOP_LIMIT)
    earlier = {q.text: q.count for q in query(before, everything, session=session, limit=10_000)}
    return tuple(TrendItem(q.text, q.count, q.count - earlier.get(q.text, 0)) for q in ranked)

