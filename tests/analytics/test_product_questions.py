"""Product questions per product and attribute, from `message` events carrying the
conversation's `data["product"]`, on a hand-counted set: period and filter bounds on the
shop's local days, events without a product left out, malformed product data left out
without failing, and the order that puts the pages lacking information first."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from analytics import product_questions as pq
from analytics.models import InteractionEvent
from analytics.period import AnalyticsError, Filters, Period
from core import session_scope
from tests.analytics.test_metrics import local

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
ALL = Filters()


def product(slug, attribute: str = "", answered_by: str = "") -> dict:
    return {"product": {"slug": slug, "attribute": attribute, "answered_by": answered_by}}


def _ask(session, when: str, decision: str, data: dict, *, language: str = "it",
         channel: str = "socketio", kind: str = "message") -> None:
    session.add(InteractionEvent(kind=kind, occurred_at=local(when), conversation_id="c",
                                 language=language, channel=channel, text="?",
                                 decision=decision, data=data))


@pytest.fixture
def logged(database_url):
    """borsa-aurora: 4 on fits (3 answered from the catalogue, 1 escalated), 2 on
    dimensions escalated, 1 English on price answered by a note. sciarpa-merino: 3 on
    availability answered, 1 clarified without attribute. stivali: 1 on care escalated.
    Outside: a borsa question on 31 October at 23:30 in Rome, and noise that is no product
    question (no product, other kinds, malformed product data)."""
    with session_scope(database_url) as session:
        for day in (2, 3, 4):
            _ask(session, f"2026-11-0{day}T10:00", "answer",
                 product("borsa-aurora", "fits", "catalogue"))
        _ask(session, "2026-11-05T10:00", "escalate", product("borsa-aurora", "fits"))
        _ask(session, "2026-11-06T10:00", "escalate", product("borsa-aurora", "dimensions"))
        _ask(session, "2026-11-30T23:30", "escalate", product("borsa-aurora", "dimensions"))
        _ask(session, "2026-11-07T10:00", "answer", product("borsa-aurora", "price", "note"),
             language="en", channel="rest")
        for day in (10, 11, 12):
            _ask(session, f"2026-11-{day}T10:00", "answer",
                 product("sciarpa-merino", "availability", "catalogue"))
        _ask(session, "2026-11-13T10:00", "clarify", product("sciarpa-merino"))
        _ask(session, "2026-11-14T10:00", "escalate", product("stivali", "care"))
        # outside the period or no product question at all
        _ask(session, "2026-10-31T23:30", "escalate", product("borsa-aurora", "fits"))
        _ask(session, "2026-12-01T00:10", "escalate", product("borsa-aurora", "fits"))
        _ask(session, "2026-11-15T10:00", "escalate", {})
        _ask(session, "2026-11-15T10:00", "answer", {"helpful": True})
        _ask(session, "2026-11-15T10:00", "answer", product("borsa-aurora", "fits"),
             kind="feedback")
        # malformed: the log is ours, but a bad row must not break marketing's page
        for data in ({"product": "borsa-aurora"}, {"product": ["borsa-aurora"]},
                     {"product": None}, {"product": {"slug": 42}},
                     {"product": {"slug": {"nested": "x"}}}, {"product": {"slug": ""}},
                     {"product": {"slug": "x" * 5000, "attribute": "fits"}},
                     {"product": {"attribute": "fits"}}):
            _ask(session, "2026-11-16T10:00", "escalate", data)
        # a known product with an attribute and a source nobody defined: counted as "altro"
        _ask(session, "2026-11-17T10:00", "escalate",
             product("stivali", "y" * 3000, "oracle"))
    return database_url


def _report(url: str, period: Period = NOVEMBER, filters: Filters = ALL, **kw):
    with session_scope(url) as session:
        return pq.product_questions(period, filters, session=session, **kw)


def _by_slug(report) -> dict[str, pq.ProductQuestions]:
    return {p.slug: p for p in report.products}


def test_counts_per_product_and_attribute(logged):
    report = _report(logged)
    products = _by_slug(report)
    assert set(products) == {"borsa-aurora", "sciarpa-merino", "stivali"}
    bag = products["borsa-aurora"]
    assert bag.counts == pq.Counts(asked=7, answered=4, escalated=3, clarified=0)
    assert bag.counts.answered_share == pytest.approx(4 / 7)
    assert (bag.from_catalogue, bag.from_notes) == (3, 1)
    attributes = {a.attribute: a.counts for a in bag.attributes}
    assert attributes == {"fits": pq.Counts(4, 3, 1, 0), "dimensions": pq.Counts(2, 0, 2, 0),
                          "price": pq.Counts(1, 1, 0, 0)}
    assert bag.missing_text == "2 × misure, 1 × cosa ci sta"
    scarf = products["sciarpa-merino"]
    assert scarf.counts == pq.Counts(4, 3, 0, 1) and scarf.missing_text == ""
    assert [a.label for a in scarf.attributes] == ["disponibilità", "altro"]
    boots = products["stivali"]
    assert {a.attribute: a.counts.escalated for a in boots.attributes} == {"care": 1, "": 1}
    assert report.total == pq.Counts(asked=13, answered=7, escalated=5, clarified=1)
    assert report.product_count == 3
    assert {a.attribute: a.counts.asked for a in report.attributes} == {
        "fits": 4, "dimensions": 2, "price": 1, "availability": 3, "": 2, "care": 1}


def test_a_row_of_malformed_json_is_skipped(logged):
    """SQLite keeps JSON as text: a row written by hand with broken JSON must not take the
    page down (PostgreSQL refuses such a row on insert)."""
    if not logged.startswith("sqlite"):
        pytest.skip("PostgreSQL validates JSON on insert")
    with session_scope(logged) as session:
        session.execute(text(
            "INSERT INTO interaction_events (occurred_at, kind, conversation_id, channel, "
            "language, page, text, decision, data) VALUES (:at, 'message', 'c', 'socketio', "
            "'it', '', '?', 'escalate', :data)"),
            {"at": local("2026-11-20T10:00"), "data": '{"product": {"slug": "borsa-aurora"'})
    assert _report(logged).total.asked == 13


def test_the_pages_lacking_information_come_first(logged):
    report = _report(logged)
    # passed to a person first (borsa 3, stivali 2), then asked (sciarpa 4 asked, 0 passed)
    assert [p.slug for p in report.products] == ["borsa-aurora", "stivali", "sciarpa-merino"]
    assert [a.attribute for a in report.products[0].attributes] == ["dimensions", "fits", "price"]
    limited = _report(logged, limit=1)
    assert [p.slug for p in limited.products] == ["borsa-aurora"]
    assert limited.product_count == 3 and limited.total == report.total


def test_period_bounds_are_the_shop_s_local_days(logged):
    first_week = _report(logged, Period(date(2026, 11, 1), date(2026, 11, 7)))
    assert first_week.total.asked == 6  # 3 fits, 1 fits, 1 dimensions, 1 price
    last_day = _report(logged, Period(date(2026, 11, 30), date(2026, 11, 30)))
    assert last_day.total == pq.Counts(1, 0, 1, 0)  # 23:30 in Rome is still 30 November
    october = _report(logged, Period(date(2026, 10, 31), date(2026, 10, 31)))
    assert october.total.asked == 1
    empty = _report(logged, Period(date(2026, 9, 1), date(2026, 9, 30)))
    assert empty.products == () and empty.total == pq.Counts() and empty.product_count == 0


def test_language_and_channel_filters(logged):
    english = _report(logged, filters=Filters(language="en"))
    assert [(p.slug, p.counts.asked) for p in english.products] == [("borsa-aurora", 1)]
    rest = _report(logged, filters=Filters(channel="rest"))
    assert rest.total.asked == 1
    italian = _report(logged, filters=Filters(language="it", channel="socketio"))
    assert italian.total.asked == 12


def test_a_bad_limit_is_refused(logged):
    for limit in (0, pq.MAX_PRODUCTS + 1):
        with pytest.raises(AnalyticsError):
            _report(logged, limit=limit)


def test_attribute_names_follow_the_catalogue():
    from catalogue.records import Attribute

    assert set(pq.ATTRIBUTE_NAMES) == {a.value for a in Attribute} | {""}


def test_a_long_log_is_counted_in_the_database(database_url, capsys):
    """200,000 questions (a fifth about products): the aggregate returns a few dozen groups;
    the time is printed for the report, and bounded loosely so a slow machine still passes."""
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    slugs = [f"prodotto-{i}" for i in range(40)]
    attributes = [a for a in pq.ATTRIBUTE_NAMES if a]
    rows = []
    for i in range(200_000):
        data = (product(slugs[i // 5 % 40], attributes[i // 5 % 9], "catalogue") if i % 5 == 0
                else {})
        rows.append(dict(kind="message", occurred_at=start + timedelta(seconds=12 * i),
                         conversation_id=f"c{i}", language="it", channel="socketio",
                         page="", text="?", decision=("answer", "escalate")[i % 2],
                         data=data))
    with session_scope(database_url) as session:
        for chunk in range(0, len(rows), 20_000):
            session.execute(insert(InteractionEvent), rows[chunk:chunk + 20_000])
    period = Period(date(2026, 11, 1), date(2026, 12, 31))
    with session_scope(database_url) as session:
        began = time.perf_counter()
        report = pq.product_questions(period, ALL, session=session)
        elapsed = time.perf_counter() - began
    assert report.total.asked == 40_000 and report.product_count == 40
    with capsys.disabled():
        print(f"\nproduct questions over 200,000 events: {elapsed * 1000:.0f} ms")
    assert elapsed < 20
