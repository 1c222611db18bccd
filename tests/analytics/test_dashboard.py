"""The dashboard's figures on a labelled question set whose true counts are known:
per-day volumes with empty days, stages per ISO week, topics with their trend and the
emerging flag, products asked before buying against the period before, and keyset
pagination of the questions behind a figure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import delete, func, select

from analytics import dashboard as d
from analytics import rollup
from analytics.insights import refresh
from analytics.metrics import knowledge_gaps, ratings_by_score, summary, top_questions
from analytics.models import (
    DailyFigures,
    InteractionEvent,
    QuestionInsight,
    QuestionTopic,
    RolledUpDay,
)
from analytics.period import AnalyticsError, Filters, Period
from analytics.rollup import roll_up
from core import session_scope
from tests.analytics.test_insights import EMBEDDER, classifier
from tests.analytics.test_metrics import DST_DAY, NOW, OCTOBER

MONDAY = date(2026, 10, 26)  # ISO week 2026-W44; the set covers W44..W48
ALL = Filters()


def _add(session, day: date, text: str, *, topic: int | None, stage: str = "other",
         decision: str = "answer", language: str = "it", subject: str = "",
         kind: str = "") -> int:
    at = datetime.combine(day, time(11, 0), tzinfo=UTC)
    event = InteractionEvent(kind="message", conversation_id=f"c-{text}", occurred_at=at,
                             text=text, language=language, channel="socketio",
                             decision=decision)
    session.add(event)
    session.flush()
    session.add(QuestionInsight(event_id=event.id, occurred_at=at, day=day, language=language,
                                channel="socketio", decision=decision, stage=stage,
                                stage_confidence=0.9, topic_id=topic, subject=subject,
                                subject_kind=kind or ("product" if subject else "")))
    return event.id


def seed_labelled(database_url):
    """Topic "steady": 3 questions every week (one escalated). Topic "rising": 2 a week,
    then 12 in W48. Products: "stivali" 4 pre-purchase questions in November (2 in the
    previous period), "borsa" 1; one post-purchase question on a product page."""
    with session_scope(database_url) as session:
        steady = QuestionTopic(run=1, embedder="e", keywords=["spedizione"], examples=["x"],
                               size=15, centroid=b"\0" * 8, ready=True)
        rising = QuestionTopic(run=1, embedder="e", keywords=["saldi"], examples=["y"],
                               size=20, centroid=b"\0" * 8, ready=True)
        session.add_all([steady, rising])
        session.flush()
        n = 0
        for week in range(5):
            monday = MONDAY + timedelta(weeks=week)
            for i in range(3):
                n += 1
                _add(session, monday + timedelta(days=i), f"steady {n}", topic=steady.id,
                     decision="escalate" if i == 0 else "answer",
                     language="en" if i == 2 else "it")
            for _ in range(12 if week == 4 else 2):
                n += 1
                _add(session, monday + timedelta(days=1), f"rising {n}", topic=rising.id,
                     stage="pre_purchase")
        for day, subject, stage in [(date(2026, 11, 2), "stivali", "pre_purchase"),
                                    (date(2026, 11, 3), "stivali", "pre_purchase"),
                                    (date(2026, 11, 24), "stivali", "pre_purchase"),
                                    (date(2026, 11, 25), "stivali", "pre_purchase"),
                                    (date(2026, 11, 5), "borsa", "pre_purchase"),
                                    (date(2026, 11, 6), "borsa", "post_purchase"),
                                    (date(2026, 10, 27), "stivali", "pre_purchase"),
                                    (date(2026, 10, 28), "stivali", "pre_purchase")]:
            n += 1
            _add(session, day, f"product {n}", topic=None, stage=stage, subject=subject)
        _add(session, date(2026, 11, 4), "sciarpe?", topic=None, stage="pre_purchase",
             subject="sciarpe", kind="category")
    return database_url, steady.id, rising.id


def test_daily_volume_has_every_day_and_splits_decisions(labelled):
    url, *_ = labelled
    period = Period(MONDAY, MONDAY + timedelta(days=6))
    with session_scope(url) as session:
        volume = d.daily_volume(period, ALL, session=session)
        english = d.daily_volume(period, Filters(language="en"), session=session)
    assert volume.days == tuple(MONDAY + timedelta(days=i) for i in range(7))
    # Monday: steady (escalated); Tuesday: steady + 2 rising + stivali; Wednesday: steady + stivali
    assert volume.by_decision["escalate"] == (1, 0, 0, 0, 0, 0, 0)
    assert volume.by_decision["answer"] == (0, 4, 2, 0, 0, 0, 0)
    assert volume.by_decision["clarify"] == (0,) * 7
    assert volume.total == 7 and english.total == 1


def test_stages_per_iso_week(labelled):
    url, *_ = labelled
    period = Period(MONDAY, MONDAY + timedelta(weeks=5, days=-1))
    with session_scope(url) as session:
        totals = d.stage_totals(period, ALL, session=session)
        weekly = d.stage_by_week(period, ALL, session=session)
    assert totals == {"pre_purchase": 20 + 8, "post_purchase": 1, "other": 15}
    assert list(weekly["pre_purchase"]) == ["2026-W44", "2026-W45", "2026-W46", "2026-W47",
                                            "2026-W48"]
    assert weekly["pre_purchase"] == {"2026-W44": 4, "2026-W45": 6, "2026-W46": 2,
                                      "2026-W47": 2, "2026-W48": 14}
    assert sum(weekly["post_purchase"].values()) == 1


def test_topics_with_trend_and_the_emerging_flag(labelled):
    url, steady, rising = labelled
    period = Period(MONDAY, MONDAY + timedelta(weeks=5, days=-1))
    with session_scope(url) as session:
        stats = d.topic_overview(period, ALL, session=session)
        early = d.topic_overview(Period(MONDAY, MONDAY + timedelta(weeks=4, days=-1)), ALL,
                                 session=session)
        pre = d.topic_overview(period, ALL, session=session, stage="pre_purchase")
    assert [s.id for s in stats] == [rising, steady]  # most asked first
    top, second = stats
    assert (top.questions, top.escalated, top.pre_purchase, top.emerging) == (20, 0, 20, True)
    assert (second.questions, second.escalated, second.emerging) == (15, 5, False)
    assert list(top.weekly.values()) == [2, 2, 2, 2, 12]
    assert not any(s.emerging for s in early)  # before the jump nothing stands out
    assert [s.id for s in pre] == [rising]
    assert top.label == "saldi"


def test_products_asked_before_buying_against_the_period_before(labelled):
    url, *_ = labelled
    november = Period(date(2026, 11, 1), date(2026, 11, 30))
    with session_scope(url) as session:
        ranked = d.subjects(november, ALL, session=session)
        products = d.subjects(november, ALL, session=session, kind="product")
        after = d.subjects(november, ALL, session=session, stage="post_purchase")
    assert [(s.subject, s.questions, s.previous) for s in ranked] == [
        ("stivali", 4, 2), ("borsa", 1, 0), ("sciarpe", 1, 0)]
    assert ranked[2].kind == "category" and "sciarpe" not in [s.subject for s in products]
    assert [(s.subject, s.questions) for s in after] == [("borsa", 1)]


def test_questions_page_by_page_without_gaps_or_repeats(labelled):
    url, steady, rising = labelled
    period = Period(MONDAY, MONDAY + timedelta(weeks=5, days=-1))
    seen, before = [], None
    with session_scope(url) as session:
        while True:
            page = d.questions(period, ALL, session=session, topic_id=rising, before=before,
                               limit=7)
            assert page.total == 20
            seen += [row.event_id for row in page.rows]
            if page.next_before is None:
                break
            before = page.next_before
        by_subject = d.questions(period, ALL, session=session, subject="stivali")
        pre_stivali = d.questions(period, ALL, session=session, subject="stivali",
                                  stage="post_purchase")
    assert len(seen) == 20 and len(set(seen)) == 20  # each once
    with session_scope(url) as session:  # newest first: by day, then by id
        days = [session.get(QuestionInsight, i).day for i in seen]
    assert days == sorted(days, reverse=True)
    assert by_subject.total == 6 and all(r.text.startswith("product") for r in by_subject.rows)
    assert pre_stivali.total == 0 and pre_stivali.rows == ()


def test_an_empty_period_has_zeros_not_errors(labelled):
    url, *_ = labelled
    period = Period(date(2025, 1, 1), date(2025, 1, 1))
    with session_scope(url) as session:
        assert d.daily_volume(period, ALL, session=session).total == 0
        assert d.topic_overview(period, ALL, session=session) == []
        assert d.subjects(period, ALL, session=session) == []
        assert d.questions(period, ALL, session=session).rows == ()


@pytest.mark.parametrize("call, message", [
    (lambda s, p: d.questions(p, ALL, session=s, limit=0), "limit"),
    (lambda s, p: d.questions(p, ALL, session=s, limit=10_000), "limit"),
    (lambda s, p: d.subjects(p, ALL, session=s, limit=0), "limit"),
    (lambda s, p: d.topic_overview(p, ALL, session=s, stage="buying"), "purchase stage"),
    (lambda s, p: d.questions(p, ALL, session=s, stage="' OR 1=1 --"), "purchase stage"),
    (lambda s, p: d.Bookmark.parse("2026-11-01;DROP"), "bookmark"),
    (lambda s, p: d.Bookmark.parse("x_12"), "bookmark"),
])
def test_bad_arguments_are_refused(labelled, call, message):
    url, *_ = labelled
    with session_scope(url) as session, pytest.raises(AnalyticsError, match=message):
        call(session, Period(MONDAY, MONDAY))


def test_the_earliest_period_has_no_period_before(database_url):
    with session_scope(database_url) as session:
        assert d.subjects(Period(date(2000, 1, 1), date(2000, 1, 31)), ALL, session=session) == []


# -- the fast figures agree with the reference ones ---------------------------------------
@pytest.mark.parametrize("period, filters", [
    (OCTOBER, ALL), (DST_DAY, ALL), (OCTOBER, Filters(language="it")),
    (OCTOBER, Filters(language="en", channel="rest")), (Period(date(2026, 10, 26),
                                                               date(2026, 10, 26)), ALL),
    (Period(date(2025, 1, 1), date(2025, 1, 31)), ALL)])
def test_key_figures_from_labels_equal_the_log_summary(dataset, period, filters):
    url, _ = dataset
    with session_scope(url) as session:
        refresh(session, EMBEDDER, classifier(), now=NOW)  # every question has settled
        fast = d.key_figures(period, filters, session=session, now=NOW)
        reference = summary(period, filters, session=session, now=NOW)
        assert fast == reference
        assert d.top_questions(period, filters, session=session) == top_questions(
            period, filters, session=session)
        assert d.top_questions(period, filters, session=session, gaps_only=True) == \
            knowledge_gaps(period, filters, session=session)


def test_days_counted_live_and_rolled_up_days_add_up_the_same(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        result = refresh(session, EMBEDDER, classifier(), now=NOW)
        assert result.days_rolled_up == 13  # 19..31 October: every finished day
        assert refresh(session, EMBEDDER, classifier(), now=NOW).days_rolled_up == 0
        # the DST day and the next one as if not rolled up yet: counted from the log
        for table in (RolledUpDay, DailyFigures):
            session.execute(delete(table).where(table.day.in_([date(2026, 10, 25),
                                                               date(2026, 10, 26)])))
        for filters in (ALL, Filters(language="it"), Filters(channel="rest")):
            assert d.key_figures(OCTOBER, filters, session=session, now=NOW) == summary(
                OCTOBER, filters, session=session, now=NOW)
        volume = d.daily_volume(OCTOBER, ALL, session=session)
        assert volume.total == summary(OCTOBER, ALL, session=session, now=NOW).questions


def test_a_day_waits_for_its_questions_to_be_labelled(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        rolled = roll_up(session, now=NOW)  # nothing labelled: 19 October waits, and all after
        assert rolled == 0 and session.scalar(select(func.count()).select_from(RolledUpDay)) == 0


def test_rating_counts_per_score_from_roll_ups_and_live_days(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        live = rollup.ratings(OCTOBER, ALL, session=session)  # nothing rolled up yet
        refresh(session, EMBEDDER, classifier(), now=NOW)
        rolled = rollup.ratings(OCTOBER, ALL, session=session)
        reference = ratings_by_score(OCTOBER, ALL, session=session)
    assert live == rolled == reference == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}
