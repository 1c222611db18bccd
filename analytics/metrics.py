"""Key figures computed from the interaction log, tickets and the knowledge base.

Every figure is an SQL aggregate: a year of traffic is never loaded row by row. Grouping
by question text is the one step finished in Python (on distinct texts, not on events),
because SQLite cannot fold case or strip punctuation outside ASCII.

"Follows" means: a later event of the same conversation, before that conversation's next
question. Event ids order the log (it is append-only), so clock ties cannot reorder it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, distinct, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import Session, aliased

from analytics.models import EventKind
from analytics.models import InteractionEvent as E
from analytics.period import CHANNELS, AnalyticsError, Filters, Period
from analytics.sources import ENTRIES, PUBLISHED, TICKETS, learned_entries
from core import DecisionKind, as_utc, utcnow
from core.text import normalise

__all__ = ["CHANNELS", "AnalyticsError", "EntryVotes", "Filters", "Period", "QuestionCount",
           "Counts", "RatingComment", "StaleEntry", "Summary", "event_counts", "knowledge_gaps",
           "question_outcomes", "rating_comments", "ratings_by_score",
           "stale_entries", "summary", "summary_of", "top_questions", "unhelpful_entries"]


@dataclass(frozen=True)
class Summary:
    """Counts for a period; rates are None where their denominator is zero.

    - questions: `message` events (a customer question and the bot's decision).
    - answered: questions the bot decided to answer, plus clarified ones followed by a
      choice that led to an answer.
    - deflected: answered questions followed by neither an escalation (ticket opened or
      joined) nor a thumbs-down. deflection_rate = deflected / questions.
    - escalated: questions followed by an escalation; escalation_rate = escalated / questions.
      An escalate decision the customer abandoned is neither deflected nor escalated.
    - clarified: questions decided as clarify; clarify_rate = clarified / questions.
    - thumbs_up/down: feedback events; helpful_share = up / (up + down).
    - tickets opened in the period; sla_due: those answered or past due_at at `now`;
      sla_met: answered by due_at. sla_compliance = sla_met / sla_due.
    - first_response_p50/p90_min: answered_at - opened_at, nearest-rank percentiles, minutes.
    - learning_p50_min: ticket opened -> learned entry created, median, minutes.
    - learned_reuse: questions answered outright with an entry learned from an operator.
    - ratings: end-of-chat ratings (`rating` events, 1-5) given in the period;
      rating_average: their mean, None when there is none.
    """

    conversations: int
    questions: int
    answered: int
    deflected: int
    escalated: int
    clarified: int
    learned_reuse: int
    thumbs_up: int
    thumbs_down: int
    tickets: int
    sla_due: int
    sla_met: int
    first_response_p50_min: float | None
    first_response_p90_min: float | None
    learning_p50_min: float | None
    ratings: int
    rating_average: float | None

    # properties, not fields: a rate can never disagree with the counts it comes from
    deflection_rate = property(lambda self: _ratio(self.deflected, self.questions))
    escalation_rate = property(lambda self: _ratio(self.escalated, self.questions))
    clarify_rate = property(lambda self: _ratio(self.clarified, self.questions))
    helpful_share = property(lambda self: _ratio(self.thumbs_up, self.thumbs_up + self.thumbs_down))
    sla_compliance = property(lambda self: _ratio(self.sla_met, self.sla_due))


@dataclass(frozen=True)
class QuestionCount:
    text: str  # normalised: case, punctuation and spacing ignored
    count: int


@dataclass(frozen=True)
class RatingComment:
    text: str  # the customer's comment, plain text (render it escaped)
    rating: int
    language: str
    occurred_at: datetime  # UTC


@dataclass(frozen=True)
class EntryVotes:
    entry_id: int
    key: str  # "" when the entry no longer exists
    thumbs_down: int
    thumbs_up: int


@dataclass(frozen=True)
class StaleEntry:
    entry_id: int
    key: str
    reasons: tuple[str, ...]  # "unused", "disliked", "review overdue"
    thumbs_up: int
    thumbs_down: int
    review_by: date | None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _sum(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _helpful(event, value: bool):
    return and_(event.kind == EventKind.FEEDBACK.value,
                event.data["helpful"].as_boolean() == (true() if value else false()))


def _score(event=E):
    """A rating event's score as an SQL integer (JSON on SQLite and PostgreSQL alike)."""
    return event.data["rating"].as_integer()


def _ratings(period: Period, filters: Filters) -> list:
    # The endpoint only ever logs 1-5; the range keeps a hand-made row from skewing figures.
    return [E.kind == EventKind.RATING.value, _score().between(1, 5), *_in(period, filters)]


def _in(period: Period, filters: Filters, event=E) -> list:
    return period.covers(event.occurred_at) + filters.conditions(event.language, event.channel)


def _questions(*conditions):
    """Questions meeting `conditions`, each with the id of its conversation's next question."""
    later = aliased(E)
    next_id = (select(func.min(later.id))
               .where(later.conversation_id == E.conversation_id,
                      later.kind == EventKind.MESSAGE.value, later.id > E.id)
               .scalar_subquery())
    return (select(E.id, E.conversation_id, E.decision, E.entry_id, E.text,
                   next_id.label("next_id"))
            .where(E.kind == EventKind.MESSAGE.value, *conditions).subquery("q"))


def _followed_by(q, condition) -> exists:
    """`condition(event)` holds for an event that follows question `q` (see module doc)."""
    f = aliased(E)
    return exists().where(f.conversation_id == q.c.conversation_id, f.id > q.c.id,
                          or_(q.c.next_id.is_(None), f.id < q.c.next_id), condition(f))


def _outcomes(q):
    chosen = _followed_by(q, lambda f: and_(f.kind == EventKind.CHOICE.value,
                                            f.decision == DecisionKind.ANSWER))
    answered = or_(q.c.decision == DecisionKind.ANSWER,
                   and_(q.c.decision == DecisionKind.CLARIFY, chosen))
    escalated = _followed_by(q, lambda f: f.kind == EventKind.ESCALATION.value)
    disliked = _followed_by(q, lambda f: _helpful(f, False))
    return answered, escalated, disliked


def question_outcomes(event_ids: list[int], *, session: Session
                      ) -> dict[int, tuple[bool, bool, bool]]:
    """{question event id: (answered, escalated, disliked)} as `Summary` defines them, for
    questions already settled (analytics.insights stores them with each question's labels)."""
    if not event_ids:
        return {}
    q = _questions(E.id.in_(event_ids))
    answered, escalated, disliked = _outcomes(q)
    rows = session.execute(select(q.c.id, case((answered, 1), else_=0),
                                  case((escalated, 1), else_=0), case((disliked, 1), else_=0)))
    return {eid: (bool(a), bool(e), bool(d)) for eid, a, e, d in rows}


def _minutes(session: Session, later, earlier):
    if session.get_bind().dialect.name == "sqlite":  # SQLite stores ISO text: use Julian days
        return (func.julianday(later) - func.julianday(earlier)) * 1440.0
    return func.extract("epoch", later - earlier) / 60.0


def _percentiles(session: Session, source, expr, conditions: list, ps: tuple[float, ...]
                 ) -> list[float | None]:
    """Nearest-rank percentiles. The values (one number per ticket: a year is tens of
    thousands) are sorted here: one plain read beats an ordered query per percentile."""
    values = sorted(float(v) for v in session.scalars(select(expr).select_from(source)
                                                      .where(*conditions)) if v is not None)
    if not values:
        return [None for _ in ps]
    return [round(values[math.ceil(p * len(values)) - 1], 3) for p in ps]


def _ticket_conditions(period: Period, filters: Filters) -> list:
    t = TICKETS.c
    conditions = period.covers(t.opened_at) + filters.conditions(t.language)
    if filters.channel:  # tickets carry no channel: the conversation's events do
        conditions.append(t.conversation_id.in_(
            select(E.conversation_id).where(E.channel == filters.channel)))
    return conditions


@dataclass(frozen=True)
class Counts:
    """The additive part of `Summary`: counts that add up across days (the dashboard keeps
    them per day, analytics.rollup). rating_sum / ratings is the average rating."""

    conversations: int = 0
    questions: int = 0
    answered: int = 0
    deflected: int = 0
    escalated: int = 0
    clarified: int = 0
    learned_reuse: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    ratings: int = 0
    rating_sum: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def summary(period: Period, filters: Filters, *, session: Session,
            now: datetime | None = None) -> Summary:
    """Key figures for the period; see `Summary` for each definition. Follows every
    question's conversation in the log: the reference the dashboard's faster figures, read
    from labelled questions and daily roll-ups (analytics.dashboard), are tested against."""
    q = _questions(*_in(period, filters))
    answered, escalated, disliked = _outcomes(q)
    questions = session.execute(select(
        func.count(), _sum(answered), _sum(and_(answered, not_(escalated), not_(disliked))),
        _sum(escalated), _sum(q.c.decision == DecisionKind.CLARIFY),
        _sum(and_(q.c.decision == DecisionKind.ANSWER, q.c.entry_id.in_(learned_entries()))))).one()
    counts = event_counts(period, filters, session=session) + Counts(
        0, *(int(n) for n in questions))
    return summary_of(counts, period, filters, session=session, now=now)


def event_counts(period: Period, filters: Filters, *, session: Session) -> Counts:
    """Conversations, thumbs and ratings of the period (no question counts)."""
    conversations = session.scalar(
        select(func.count(distinct(E.conversation_id)))
        .where(E.kind.in_([EventKind.CONVERSATION_START.value, EventKind.MESSAGE.value]),
               *_in(period, filters)))
    up, down = session.execute(select(_sum(_helpful(E, True)), _sum(_helpful(E, False)))
                               .where(E.kind == EventKind.FEEDBACK.value,
                                      *_in(period, filters))).one()
    ratings, total = session.execute(select(func.count(), func.coalesce(func.sum(_score()), 0))
                                     .where(*_ratings(period, filters))).one()
    return Counts(conversations=conversations or 0, thumbs_up=int(up), thumbs_down=int(down),
                  ratings=int(ratings), rating_sum=int(total))


def summary_of(counts: Counts, period: Period, filters: Filters, *, session: Session,
               now: datetime | None = None) -> Summary:
    """`Summary` from counts already made; the ticket figures are read here."""
    now = now or utcnow()
    t = TICKETS.c
    where = _ticket_conditions(period, filters)
    tickets = session.execute(select(
        func.count(), _sum(or_(t.answered_at.is_not(None), t.due_at <= now)),
        _sum(and_(t.answered_at.is_not(None), t.answered_at <= t.due_at))).where(*where)).one()
    response = _percentiles(session, TICKETS, _minutes(session, t.answered_at, t.opened_at),
                            [*where, t.answered_at.is_not(None)], (0.5, 0.9))
    learned_from = TICKETS.join(ENTRIES, ENTRIES.c.id == t.learned_entry_id)
    (learning,) = _percentiles(session, learned_from,
                               _minutes(session, ENTRIES.c.created_at, t.opened_at), where, (0.5,))
    c = counts
    return Summary(
        conversations=c.conversations, questions=c.questions, answered=c.answered,
        deflected=c.deflected, escalated=c.escalated, clarified=c.clarified,
        learned_reuse=c.learned_reuse, thumbs_up=c.thumbs_up, thumbs_down=c.thumbs_down,
        tickets=tickets[0], sla_due=int(tickets[1]), sla_met=int(tickets[2]),
        first_response_p50_min=response[0], first_response_p90_min=response[1],
        learning_p50_min=learning, ratings=c.ratings,
        rating_average=c.rating_sum / c.ratings if c.ratings else None)


def ratings_by_score(period: Period, filters: Filters, *, session: Session) -> dict[int, int]:
    """How many end-of-chat ratings gave each score: {1: n, ..., 5: n}, zeros included."""
    score = _score()
    rows = session.execute(select(score, func.count()).where(*_ratings(period, filters))
                           .group_by(score))
    counts = dict.fromkeys(range(1, 6), 0)
    counts.update({int(value): count for value, count in rows})
    return counts


MAX_PAGE = 500


def rating_comments(period: Period, filters: Filters, *, session: Session, offset: int = 0,
                    limit: int = 20) -> list[RatingComment]:
    """Ratings that came with a comment, newest first, `limit` from `offset` on."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise AnalyticsError(f"offset must be >= 0 and limit 1..{MAX_PAGE}")
    comment = E.data["comment"].as_string()
    rows = session.execute(
        select(comment, _score(), E.language, E.occurred_at)
        .where(*_ratings(period, filters), func.coalesce(comment, "") != "")
        .order_by(E.occurred_at.desc(), E.id.desc()).offset(offset).limit(limit))
    return [RatingComment(text, int(score), language, as_utc(at))
            for text, score, language, at in rows]


def _grouped(rows, limit: int) -> list[QuestionCount]:
    counts: Counter[str] = Counter()
    for text, count in rows:
        if key := normalise(text or ""):
            counts[key] += count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [QuestionCount(text, count) for text, count in ranked[:limit]]


def top_questions(period: Period, filters: Filters, *, session: Session,
                  limit: int = 20) -> list[QuestionCount]:
    """The most asked questions (normalised text), most frequent first."""
    rows = session.execute(select(E.text, func.count()).where(
        E.kind == EventKind.MESSAGE.value, *_in(period, filters)).group_by(E.text))
    return _grouped(rows, limit)


def knowledge_gaps(period: Period, filters: Filters, *, session: Session,
                   limit: int = 20) -> list[QuestionCount]:
    """Questions the bot could not settle: decided escalate, followed by an escalation or by
    a thumbs-down; grouped by normalised text (clustering paraphrases is another module's)."""
    q = _questions(*_in(period, filters))
    _, escalated, disliked = _outcomes(q)
    rows = session.execute(select(q.c.text, func.count())
                           .where(or_(q.c.decision == DecisionKind.ESCALATE, escalated, disliked))
                           .group_by(q.c.text))
    return _grouped(rows, limit)


def unhelpful_entries(period: Period, filters: Filters, *, session: Session,
                      limit: int = 20) -> list[EntryVotes]:
    """Entries that got at least one thumbs-down in the period, most disliked first."""
    down, up = _sum(_helpful(E, False)), _sum(_helpful(E, True))
    votes = (select(E.entry_id, down.label("down"), up.label("up"))
             .where(E.kind == EventKind.FEEDBACK.value, E.entry_id.is_not(None),
                    *_in(period, filters))
             .group_by(E.entry_id).subquery())
    rows = session.execute(
        select(votes.c.entry_id, ENTRIES.c.key, votes.c.down, votes.c.up)
        .outerjoin(ENTRIES, ENTRIES.c.id == votes.c.entry_id).where(votes.c.down > 0)
        .order_by(votes.c.down.desc(), votes.c.up, votes.c.entry_id).limit(limit))
    return [EntryVotes(entry_id, key or "", int(d), int(u)) for entry_id, key, d, u in rows]


def stale_entries(*, session: Session, today: date, unused_days: int = 90) -> list[StaleEntry]:
    """Published entries worth a look: not used (answered with, or chosen) in the last
    `unused_days` days though older than that; more thumbs down than up, ever; or past review_by."""
    if unused_days < 1:
        raise AnalyticsError("unused_days must be at least 1")
    cutoff = datetime.combine(today - timedelta(days=unused_days), time.min, tzinfo=UTC)
    used = (select(E.entry_id, func.count().label("uses"))
            .where(E.kind.in_([EventKind.MESSAGE.value, EventKind.CHOICE.value]),
                   E.decision == DecisionKind.ANSWER, E.entry_id.is_not(None),
                   E.occurred_at >= cutoff)
            .group_by(E.entry_id).subquery())
    votes = (select(E.entry_id, _sum(_helpful(E, True)).label("up"),
                    _sum(_helpful(E, False)).label("down"))
             .where(E.kind == EventKind.FEEDBACK.value, E.entry_id.is_not(None))
             .group_by(E.entry_id).subquery())
    en = ENTRIES.c
    unused = and_(used.c.uses.is_(None), en.created_at < cutoff)
    disliked = func.coalesce(votes.c.down, 0) > func.coalesce(votes.c.up, 0)
    overdue = en.review_by < today
    rows = session.execute(
        select(en.id, en.key, en.review_by, unused, disliked, overdue,
               func.coalesce(votes.c.up, 0), func.coalesce(votes.c.down, 0))
        .outerjoin(used, used.c.entry_id == en.id).outerjoin(votes, votes.c.entry_id == en.id)
        .where(en.status == PUBLISHED, or_(unused, disliked, overdue)).order_by(en.id))
    result = []
    for entry_id, key, review_by, is_unused, is_disliked, is_overdue, up, down in rows:
        flags = (("unused", is_unused), ("disliked", is_disliked), ("review overdue", is_overdue))
        result.append(StaleEntry(entry_id, key, tuple(name for name, on in flags if on),
                                 int(up), int(down), review_by))
    return result
