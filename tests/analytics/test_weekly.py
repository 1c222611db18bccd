"""The weekly report's figures on the event set of test_metrics, whose weeks 2026-W43
(19-25 October) and 2026-W44 (26 October - 1 November) are worked out by hand below;
ISO weeks and the moment a report is due, on a controlled clock."""

from datetime import UTC, date, datetime

import pytest

from analytics.metrics import Summary
from analytics.period import AnalyticsError
from analytics.weekly import (
    build_weekly_report,
    due_week,
    figures,
    iso_week,
    last_complete_week,
    parse_iso_week,
)
from core import session_scope
from tests.analytics.test_metrics import local

W43, W44 = date(2026, 10, 19), date(2026, 10, 26)
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 2)


def report_of(url, week):
    with session_scope(url) as session:
        return build_weekly_report(week, session=session, today=TODAY, now=NOW)


def values(report) -> dict:
    return {f.key: (f.value, f.previous) for f in report.figures}


def test_figures_of_a_known_week_and_the_change_since_the_week_before(dataset):
    url, ids = dataset
    report = report_of(url, W44)
    assert report.iso_week == "2026-W44" and (report.week.start, report.week.end) == (
        W44, date(2026, 11, 1))
    # W44: D asks twice (answered by a learned entry, then a clarify never chosen), F's
    # escalate is abandoned; tickets D (overdue, unanswered) and X (not yet due).
    # W43: G, C (clarify+choice, then refund escalated), A (thumbs up), B (thumbs down,
    # escalated); tickets C (answered in 60 min, in time) and B (180 min, late).
    got = values(report)
    assert got["conversations"] == (2, 4) and got["questions"] == (3, 5)
    assert got["deflection_rate"] == (pytest.approx(1 / 3), pytest.approx(3 / 5))
    assert got["escalation_rate"] == (0.0, pytest.approx(2 / 5))
    assert got["clarify_rate"] == (pytest.approx(1 / 3), pytest.approx(1 / 5))
    assert got["helpful_share"] == (None, 0.5)
    assert got["sla_compliance"] == (0.0, 0.5)
    assert got["first_response_p50_min"] == (None, pytest.approx(60))
    assert got["learned_reuse"] == (1, 0)
    # ratings: H's 3 this week; A 5, B 2, C 4 and G 1 the week before
    assert got["rating_average"] == (3.0, 3.0) and report.figure("rating_average").whole == 1
    assert report.figure("questions").change == -2
    assert report.figure("deflection_rate").change == pytest.approx(1 / 3 - 3 / 5)
    assert report.figure("helpful_share").change is None
    deflection = report.figure("deflection_rate")
    assert (deflection.part, deflection.whole, deflection.good) == (1, 3, 1)
    assert [(q.label, q.count, q.change) for q in report.top_questions] == [
        ("do you ship to mars", 2, 2), ("posso pagare a rate", 1, 1)]
    assert [(q.label, q.count, q.change) for q in report.gaps] == [("posso pagare a rate", 1, 1)]
    assert report.unhelpful == () and (report.topics, report.products) == ((), ())
    assert not report.empty


def test_the_week_before_has_its_own_rankings(dataset):
    url, ids = dataset
    report = report_of(url, W43)
    assert [(q.label, q.count, q.change) for q in report.top_questions] == [
        ("quanto costa la spedizione", 2, 2), ("where is my order", 2, 2),
        ("i want a refund", 1, 1)]
    assert sorted((q.label, q.count) for q in report.gaps) == [
        ("i want a refund", 1), ("quanto costa la spedizione", 1)]
    assert [(e.entry_id, e.thumbs_down, e.thumbs_up) for e in report.unhelpful] == [
        (ids["e1"], 1, 1)]
    assert values(report)["questions"] == (5, 0)


def test_an_empty_week(database_url):
    report = report_of(database_url, W44)
    assert report.empty and report.top_questions == () and report.gaps == ()
    assert values(report)["deflection_rate"] == (None, None)


def test_a_week_that_has_not_ended_or_does_not_start_on_monday_is_refused(database_url):
    with session_scope(database_url) as session:
        with pytest.raises(AnalyticsError, match="can be made from 2026-11-02"):
            build_weekly_report(W44, session=session, today=date(2026, 11, 1))
        with pytest.raises(AnalyticsError, match="Monday"):
            build_weekly_report(date(2026, 10, 27), session=session, today=TODAY)


def test_the_end_of_chat_rating_is_a_figure():
    counts = dict.fromkeys(["conversations", "questions", "answered", "deflected", "escalated",
                            "clarified", "learned_reuse", "thumbs_up", "thumbs_down", "tickets",
                            "sla_due", "sla_met"], 0)
    times = dict.fromkeys(["first_response_p50_min", "first_response_p90_min",
                           "learning_p50_min"])
    rating = figures(Summary(**counts, **times, ratings=12, rating_average=4.5),
                     Summary(**counts, **times, ratings=3, rating_average=4.0))[-1]
    assert (rating.key, rating.value, rating.previous, rating.whole) == ("rating_average", 4.5,
                                                                         4.0, 12)
    assert rating.change == pytest.approx(0.5)


@pytest.mark.parametrize(("text", "monday", "label"), [
    ("2026-W47", date(2026, 11, 16), "2026-W47"), ("2026w01", date(2025, 12, 29), "2026-W01"),
    (" 2026-W53 ", date(2026, 12, 28), "2026-W53"), ("2020-W53", date(2020, 12, 28), "2020-W53")])
def test_iso_weeks(text, monday, label):
    assert parse_iso_week(text) == monday and iso_week(monday) == label


@pytest.mark.parametrize(("text", "words"), [
    ("2026-47", "2026-W47"), ("W47", "2026-W47"), ("2025-W53", "no week 53"),
    ("2026-W00", "no week 0"), ("1999-W10", "between"), ("", "2026-W47")])
def test_bad_weeks_are_refused(text, words):
    with pytest.raises(AnalyticsError, match=words):
        parse_iso_week(text)


def test_last_complete_week():
    assert last_complete_week(date(2026, 11, 29)) == date(2026, 11, 16)  # a Sunday
    assert last_complete_week(date(2026, 11, 30)) == date(2026, 11, 23)  # the Monday after


@pytest.mark.parametrize(("moment", "week"), [
    ("2026-11-29T23:59", date(2026, 11, 16)),  # Sunday night: W48 is not over, W47 was due
    ("2026-11-30T07:59", date(2026, 11, 16)),  # Monday before 08:00: W48 not due yet
    ("2026-11-30T08:00", date(2026, 11, 23)),  # Monday 08:00 Rome: W48 due
    ("2026-12-02T15:00", date(2026, 11, 23)),  # later in the week: still W48
    # Summer time starts on Sunday 29 March 2026: 08:00 on Monday 30 is 06:00 UTC.
    ("2026-03-30T07:59", date(2026, 3, 16)),
    ("2026-03-30T08:00", date(2026, 3, 23)),
    # ... and ends on Sunday 25 October: 08:00 on Monday 26 is 07:00 UTC again.
    ("2026-10-26T08:00", date(2026, 10, 19)),
])
def test_when_a_report_is_due(moment, week):
    assert due_week(local(moment)) == week


def test_due_moments_in_utc_across_the_dst_change():
    assert due_week(datetime(2026, 3, 30, 5, 59, tzinfo=UTC)) == date(2026, 3, 16)
    assert due_week(datetime(2026, 3, 30, 6, 0, tzinfo=UTC)) == date(2026, 3, 23)
    assert due_week(datetime(2026, 10, 26, 6, 59, tzinfo=UTC)) == date(2026, 10, 12)
    assert due_week(datetime(2026, 10, 26, 7, 0, tzinfo=UTC)) == date(2026, 10, 19)


def test_another_report_day_and_hour():
    # Wednesday at 17:00: on Wednesday 2 December at 16:59 W48 is not due yet.
    assert due_week(local("2026-12-02T16:59"), weekday=3, hour=17) == date(2026, 11, 16)
    assert due_week(local("2026-12-02T17:00"), weekday=3, hour=17) == date(2026, 11, 23)


def test_trending_topics_and_products_come_from_the_labelled_questions(labelled):
    url, steady, rising = labelled
    with session_scope(url) as session:
        report = build_weekly_report(date(2026, 11, 23), session=session, today=date(2026, 12, 1),
                                     now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    # W48: "saldi" jumps from 2 a week to 12, "spedizione" stays at 3; "stivali" is asked
    # about twice before buying, after none the week before.
    assert [(t.label, t.count, t.change) for t in report.topics] == [
        ("saldi (in crescita)", 12, 10), ("spedizione", 3, 0)]
    assert [(p.label, p.count, p.change) for p in report.products] == [("Stivali", 2, 2)]
