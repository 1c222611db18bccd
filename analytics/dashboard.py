"""The figures behind the marketing dashboard, read from `question_insights` (see
analytics.insights) and the log. Every query is an aggregate over an indexed local day or
one page of rows: no page loads a table, whatever its size.

Days are the shop's local days (the `time_zone` setting); weeks are ISO weeks of those days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from analytics import rollup, topic_names
from analytics.metrics import QuestionCount, Summary, summary_of
from analytics.models import InteractionEvent, QuestionInsight, QuestionTopic
from analytics.period import AnalyticsError, ErrorCode, Filters, Period, iso_week
from analytics.purchase_stage import LABELS as STAGES
from analytics.topics import emerging
from core import DecisionKind
from core.text import normalise

Q = QuestionInsight
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
DECISIONS = (DecisionKind.ANSWER, DecisionKind.CLARIFY, DecisionKind.ESCALATE)
EMERGING_MIN = 10


@dataclass(frozen=True)
class DailyVolume:
    days: tuple[date, ...]
    by_decision: dict[str, tuple[int, ...]]  # decision -> a count per day

    @property
    def total(self) -> int:
        return sum(sum(counts) for counts in self.by_decision.values())


@dataclass(frozen=True)
class TopicStat:
    id: int
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    questions: int  # in the period
    escalated: int  # of them, decided escalate: where the knowledge base falls short
    pre_purchase: int
    weekly: dict[str, int]  # ISO week -> questions, every week of the period
    emerging: bool
    name: str = ""  # marketing's name, else the topic's most central question
    renamed: bool = False  # the name is marketing's
    merged: tuple[int, ...] = ()  # topics counted under this one (analytics.topic_names)

    @property
    def label(self) -> str:
        return self.name or topic_label(self.keywords, self.id)


def topic_label(keywords, topic_id: int) -> str:
    """The name of a topic found before topics were named: its keywords."""
    return ", ".join(list(keywords)[:3]) or f"argomento {topic_id}"


def subject_name(slug: str) -> str:
    """A product or category as people read it: "cappotto-aurora-cammello" is shown as
    "Cappotto aurora cammello". The shop's pages report slugs and the app keeps no
    catalogue, so the name is made from the slug."""
    words = " ".join(slug.replace("_", "-").split("-")).split()
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else slug


def week_axis(period: Period, today: date) -> tuple[list[str], list[str], list[int]]:
    """A weekly chart's axis: the period's ISO weeks, their labels (Monday's date, as
    marketing reads a week; "(parziale)" on a week cut by the period or not over yet, whose
    lower count is no drop) and the indexes of those partial weeks."""
    weeks = weeks_of(period)
    partial = partial_weeks(period, today)
    labels = [date.fromisocalendar(int(w[:4]), int(w[6:]), 1).strftime("sett. %d/%m")
              + (" (parziale)" if w in partial else "") for w in weeks]
    return weeks, labels, [i for i, w in enumerate(weeks) if w in partial]


def partial_weeks(period: Period, today: date) -> set[str]:
    """The ISO weeks of the period not wholly inside it, or not over yet on `today`: their
    counts are not comparable with a whole week's, so charts mark them."""
    out = set()
    for week in weeks_of(period):
        monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
        sunday = monday + timedelta(days=6)
        if monday < period.start or sunday > period.end or sunday >= today:
            out.add(week)
    return out


@dataclass(frozen=True)
class SubjectStat:
    kind: str  # product or category
    subject: str
    questions: int
    previous: int  # in the period of the same length just before


@dataclass(frozen=True)
class QuestionRow:
    event_id: int
    occurred_at: datetime
    text: str
    language: str
    decision: str
    stage: str


@dataclass(frozen=True)
class Bookmark:
    """Where the next (older) page of questions starts: newest first is (day, id) descending."""

    day: date
    event_id: int

    def __str__(self) -> str:
        return f"{self.day.isoformat()}_{self.event_id}"

    @classmethod
    def parse(cls, text: str) -> Bookmark:
        day, _, event_id = text.partition("_")
        try:
            if not (event_id.isascii() and event_id.isdigit() and len(event_id) < 19):
                raise ValueError(event_id)
            return cls(date.fromisoformat(day), int(event_id))
        except ValueError as exc:
            raise AnalyticsError(f"not a page bookmark: {text[:40]!r}") from exc


@dataclass(frozen=True)
class QuestionPage:
    rows: tuple[QuestionRow, ...]
    total: int
    next_before: Bookmark | None  # pass as `before` for the next (older) page; None at the end


def _where(period: Period, filters: Filters, stage: str | None = None) -> list:
    conditions = [Q.day >= period.start, Q.day <= period.end,
                  *filters.conditions(Q.language, Q.channel)]
    if stage is not None:
        check_stage(stage)
        conditions.append(Q.stage == stage)
    return conditions


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise AnalyticsError(f"unknown purchase stage {stage!r}; use one of {', '.join(STAGES)}",
                             ErrorCode.UNKNOWN_STAGE)
    return stage


def days_of(period: Period) -> list[date]:
    return [period.start + timedelta(days=i) for i in range((period.end - period.start).days + 1)]


def weeks_of(period: Period) -> list[str]:
    return list(dict.fromkeys(iso_week(day) for day in days_of(period)))


def key_figures(period: Period, filters: Filters, *, session: Session,
                now: datetime | None = None) -> Summary:
    """`metrics.summary` from the daily roll-ups and the labelled questions instead of
    following every conversation in the log; equal to it once the period's questions are
    labelled (the last `rollup.SETTLE` is not yet). Ticket figures are read as there."""
    return summary_of(rollup.counts(period, filters, session=session), period, filters,
                      session=session, now=now)


def top_questions(period: Period, filters: Filters, *, session: Session, limit: int = 20,
                  gaps_only: bool = False) -> list[QuestionCount]:
    """`metrics.top_questions` (or, with `gaps_only`, `metrics.knowledge_gaps`) from the
    labelled questions: grouped by the hash of the normalised text, so only the winners'
    texts are read."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise AnalyticsError(f"limit must be 1 to {MAX_PAGE_SIZE}")
    conditions = _where(period, filters)
    if gaps_only:
        conditions.append(or_(Q.decision == DecisionKind.ESCALATE, Q.escalated, Q.disliked))
    asked = func.count().label("asked")
    ranked = session.execute(select(Q.text_key, asked, func.min(Q.event_id)).where(*conditions)
                             .group_by(Q.text_key).order_by(asked.desc(), Q.text_key)
                             .limit(limit)).all()
    texts = dict(session.execute(select(InteractionEvent.id, InteractionEvent.text)
                                 .where(InteractionEvent.id.in_([r[2] for r in ranked]))).all())
    counts = [QuestionCount(normalise(texts.get(first, "")), int(n)) for _, n, first in ranked]
    return sorted(counts, key=lambda q: (-q.count, q.text))


def daily_volume(period: Period, filters: Filters, *, session: Session) -> DailyVolume:
    """Questions per local day, split by the bot's decision."""
    counts = rollup.decisions_by_day(period, filters, session=session)
    days = days_of(period)
    return DailyVolume(tuple(days), {decision: tuple(counts.get((d, decision), 0) for d in days)
                                     for decision in DECISIONS})


def stage_totals(period: Period, filters: Filters, *, session: Session) -> dict[str, int]:
    rows = dict(session.execute(select(Q.stage, func.count())
                                .where(*_where(period, filters)).group_by(Q.stage)).all())
    return {stage: int(rows.get(stage, 0)) for stage in STAGES}


def stage_by_week(period: Period, filters: Filters, *, session: Session
                  ) -> dict[str, dict[str, int]]:
    """{stage: {ISO week: questions}} with every week of the period."""
    weeks = weeks_of(period)
    out = {stage: dict.fromkeys(weeks, 0) for stage in STAGES}
    rows = session.execute(select(Q.day, Q.stage, func.count())
                           .where(*_where(period, filters)).group_by(Q.day, Q.stage))
    for day, stage, n in rows:
        if stage in out:
            out[stage][iso_week(rollup.as_date(day))] += n
    return out


def topic_overview(period: Period, filters: Filters, *, session: Session,
                   stage: str | None = None) -> list[TopicStat]:
    """Every topic of the current run with its questions in the period, most asked first,
    under marketing's names and with merged topics counted under the one kept.
    Emerging: the period's last whole week grew well past the weeks before (topics.emerging)."""
    topics, mapping = current_map(session)
    if not topics:
        return []
    weeks = weeks_of(period)
    weekly = {tid: dict.fromkeys(weeks, 0) for tid in topics if mapping.root(tid) == tid}
    escalated: dict[int, int] = defaultdict(int)
    pre: dict[int, int] = defaultdict(int)
    rows = session.execute(
        select(Q.topic_id, Q.day, Q.decision, Q.stage, func.count())
        .where(Q.topic_id.in_(topics), *_where(period, filters, stage))
        .group_by(Q.topic_id, Q.day, Q.decision, Q.stage))
    for tid, day, decision, row_stage, n in rows:
        root = mapping.root(tid)
        weekly[root][iso_week(rollup.as_date(day))] += n
        if decision == DecisionKind.ESCALATE:
            escalated[root] += n
        if row_stage == "pre_purchase":
            pre[root] += n
    # Emerging compares whole weeks: a week still under way (or cut by the period) would
    # look like a drop, so it is left out of the comparison.
    whole = [w for w in weeks if _whole_week(w, period)]
    # At least ten questions in the week: a topic going from 2 to 5 is noise, not a trend.
    rising = set(emerging({tid: {w: counts[w] for w in whole} for tid, counts in weekly.items()},
                          min_count=EMERGING_MIN)) if len(whole) > 1 else set()
    stats = [_stat(topics, mapping, tid, counts, escalated[tid], pre[tid], tid in rising)
             for tid, counts in weekly.items()]
    return sorted((s for s in stats if s.questions), key=lambda s: (-s.questions, s.id))


def current_map(session: Session) -> tuple[dict[int, QuestionTopic], topic_names.TopicMap]:
    """The current run's topics by id, and marketing's names and merges applied to them."""
    run = session.scalar(select(func.max(QuestionTopic.run)).where(QuestionTopic.ready))
    if run is None:
        return {}, topic_names.TopicMap()
    topics = {t.id: t for t in session.scalars(select(QuestionTopic)
                                                  .where(QuestionTopic.run == run)
                                                  .order_by(QuestionTopic.id))}
    return topics, topic_names.topic_map(session, list(topics.values()))


def _stat(topics: dict[int, QuestionTopic], mapping: topic_names.TopicMap, tid: int,
          weekly: dict[str, int], escalated: int, pre: int, rising: bool) -> TopicStat:
    topic = topics[tid]
    merged = tuple(mapping.members(tid)[1:])
    name = display_name(topic, mapping)
    examples = list(dict.fromkeys([*topic.examples,
                                   *(e for m in merged for e in topics[m].examples)]))
    return TopicStat(tid, tuple(topic.keywords), tuple([e for e in examples if e != name][:4]),
                     sum(weekly.values()), escalated, pre, weekly, rising, name=name,
                     renamed=tid in mapping.names, merged=merged)


def display_name(topic: QuestionTopic, mapping: topic_names.TopicMap) -> str:
    """Marketing's name, else the topic's own (a central question: shown while it is among
    the examples, which erasing its author's data removes it from), else its keywords."""
    own = topic.name if topic.name and topic.name in (topic.examples or ()) else ""
    return mapping.names.get(topic.id) or own or topic_label(topic.keywords, topic.id)


def _whole_week(week: str, period: Period) -> bool:
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    return period.start <= monday and monday + timedelta(days=6) <= period.end


def topic(topic_id: int, *, session: Session) -> QuestionTopic | None:
    """A topic of the current run; None for unknown ids and topics found before it."""
    found = session.get(QuestionTopic, topic_id)
    current = session.scalar(select(func.max(QuestionTopic.run)).where(QuestionTopic.ready))
    return found if found is not None and found.run == current else None


def subjects(period: Period, filters: Filters, *, session: Session, kind: str | None = None,
             stage: str | None = "pre_purchase", limit: int = 15) -> list[SubjectStat]:
    """The products and categories asked about most (before buying, by default), with the
    count of the same-length period just before for comparison."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise AnalyticsError(f"limit must be 1 to {MAX_PAGE_SIZE}")
    length = (period.end - period.start).days + 1
    try:
        before = Period(period.start - timedelta(days=length), period.start - timedelta(days=1),
                        period.timezone)
    except AnalyticsError:  # the period starts at the earliest date a report accepts
        before = None

    def counted(p: Period, only: list | None = None):
        conditions = [*_where(p, filters, stage), Q.subject != ""]
        if kind is not None:
            conditions.append(Q.subject_kind == kind)
        query = select(Q.subject_kind, Q.subject, func.count()).where(*conditions)
        if only is not None:
            query = query.where(Q.subject.in_(only))
        return query.group_by(Q.subject_kind, Q.subject)

    now = sorted(session.execute(counted(period)).all(), key=lambda r: (-r[2], r[1], r[0]))[:limit]
    previous = {}
    if before is not None and now:
        previous = {(k, s): n for k, s, n in
                    session.execute(counted(before, [s for _, s, _ in now]))}
    return [SubjectStat(k, s, n, previous.get((k, s), 0)) for k, s, n in now]


def questions(period: Period, filters: Filters, *, session: Session,
              topic_id: int | list[int] | None = None,
              stage: str | None = None, subject: str | None = None,
              subject_kind: str | None = None, before: Bookmark | None = None,
              limit: int = PAGE_SIZE) -> QuestionPage:
    """One page of questions, newest first; `before` is the `next_before` of the page
    before (keyset paging: page 1,000 costs what page 1 does)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise AnalyticsError(f"limit must be 1 to {MAX_PAGE_SIZE}")
    conditions = _where(period, filters, stage)
    if isinstance(topic_id, list):  # a topic and those merged into it
        conditions.append(Q.topic_id.in_(topic_id))
    elif topic_id is not None:
        conditions.append(Q.topic_id == topic_id)
    if subject is not None:
        conditions.append(Q.subject == subject)
    if subject_kind is not None:
        conditions.append(Q.subject_kind == subject_kind)
    total = session.scalar(select(func.count()).select_from(Q).where(*conditions)) or 0
    if before is not None:
        conditions.append(tuple_(Q.day, Q.event_id) < (before.day, before.event_id))
    E = InteractionEvent
    rows = session.execute(
        select(Q.event_id, E.occurred_at, E.text, Q.language, Q.decision, Q.stage, Q.day)
        .join(E, E.id == Q.event_id).where(*conditions)
        .order_by(Q.day.desc(), Q.event_id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return QuestionPage(tuple(QuestionRow(*row[:6]) for row in rows), total,
                        Bookmark(rollup.as_date(last.day), last.event_id) if last else None)
