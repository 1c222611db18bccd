"""Metrics on a generated event set whose true figures are worked out by hand below."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.metrics import (
    AnalyticsError,
    Filters,
    Period,
    knowledge_gaps,
    rating_comments,
    ratings_by_score,
    stale_entries,
    summary,
    top_questions,
    unhelpful_entries,
)
from analytics.models import InteractionEvent
from core import session_scope
from escalation.models import Ticket
from knowledge.models import Entry, Source, Status

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OCTOBER = Period(date(2026, 10, 20), date(2026, 10, 31))
DST_DAY = Period(date(2026, 10, 25), date(2026, 10, 25))  # Rome leaves summer time: 25 hours


def local(text: str) -> datetime:
    """A Rome wall-clock time, stored in UTC as the bot stores it."""
    return datetime.fromisoformat(text).replace(tzinfo=ROME).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _entry(session, key: str, language: str, **fields) -> int:
    entry = Entry(key=key, answer=f"answer {key}", language=language, **fields)
    session.add(entry)
    session.flush()
    return entry.id


def _events(session, conversation: str, language: str, channel: str, rows) -> None:
    """rows: (local time, kind, fields); inserted in order so ids follow time, as in the live
    log."""
    for when, kind, fields in rows:
        session.add(InteractionEvent(occurred_at=local(when), kind=kind,
                                     conversation_id=conversation,
                                     language=language, channel=channel, **fields))
        session.flush()


def ask(text: str, decision: str, entry: int | None = None) -> tuple[str, dict]:
    return "message", {"text": text, "decision": decision, "entry_id": entry}


def choose(entry: int) -> tuple[str, dict]:
    return "choice", {"entry_id": entry, "decision": "answer"}


def thumbs(entry: int, helpful: bool) -> tuple[str, dict]:
    return "feedback", {"entry_id": entry, "data": {"helpful": helpful}}


def escalated(ticket: int) -> tuple[str, dict]:
    return "escalation", {"data": {"ticket_id": ticket, "reason": "kb_escalate"}}


def rated(score, comment: str = "") -> tuple[str, dict]:
    return "rating", {"data": {"rating": score, "comment": comment}}


def _ticket(session, conversation: str, language: str, opened: str, due: str,
            answered: str | None = None, learned: int | None = None) -> None:
    session.add(Ticket(conversation_id=conversation, question="?", language=language,
                       opened_at=utc(opened), due_at=utc(due),
                       answered_at=utc(answered) if answered else None, learned_entry_id=learned))


def seed_october(database_url):
    """Seven questions in the October period, one before it, four tickets, five ratings.

    A (it, socketio) 25 Oct 00:30: answered, thumbs up             -> deflected
    B (it, socketio) 25 Oct 23:30: answered, thumbs down, ticket   -> not deflected, escalated
    C (en, rest)     24 Oct: clarify + choice -> deflected; refund -> escalate + ticket
    D (en, rest)     26 Oct: answered by a learned (operator) entry; paraphrase -> clarify, no
    choice F (it, socketio) 26 Oct 00:10 local (still 25 Oct in UTC): escalate, abandoned G (en,
    socketio) 19 Oct: answered, outside the period Ratings: A 5 "Velocissimi", B 2, C 4
    "<b>Refund</b>...", H (it, rest, 31 Oct 23:30) 3
    "ok", G 1 (outside): October has 4, average 3.5.
    """
    with session_scope(database_url) as s:
        e1 = _entry(s, "it-shipping", "it")
        e2 = _entry(s, "en-order", "en")
        e3 = _entry(s, "en-mars", "en", source=Source.OPERATOR, created_at=utc("2026-10-24T15:05"))
        _events(s, "A", "it", "socketio", [
            ("2026-10-25T00:30", "conversation_start", {}),
            ("2026-10-25T00:30:05", *ask("Quanto costa la spedizione?", "answer", e1)),
            ("2026-10-25T00:31", *thumbs(e1, True)),
            ("2026-10-25T00:35", *rated(5, "Velocissimi, grazie!"))])
        _events(s, "B", "it", "socketio", [
            ("2026-10-25T23:30", "conversation_start", {}),
            ("2026-10-25T23:30:05", *ask("quanto costa la SPEDIZIONE", "answer", e1)),
            ("2026-10-25T23:31", *thumbs(e1, False)),
            ("2026-10-25T23:32", *escalated(2)),
            ("2026-10-25T23:40", *rated(2))])
        _events(s, "C", "en", "rest", [
            ("2026-10-24T12:00", *ask("Where is my order?", "clarify", e2)),
            ("2026-10-24T12:01", *choose(e2)),
            ("2026-10-24T12:04", *ask("I want a refund", "escalate")),
            ("2026-10-24T12:05", *escalated(1)),
            ("2026-10-24T12:10", *rated(4, "<b>Refund</b> needed a person"))])
        _events(s, "D", "en", "rest", [
            ("2026-10-26T10:00", *ask("Do you ship to Mars?", "answer", e3)),
            ("2026-10-26T10:02", *ask("do you ship to mars", "clarify", e3))])
        _events(s, "F", "it", "socketio", [
            ("2026-10-26T00:10", *ask("Posso pagare a rate?", "escalate"))])
        _events(s, "G", "en", "socketio", [
            ("2026-10-19T10:00", *ask("Where is my order", "answer", e2)),
            ("2026-10-19T10:05", *rated(1, "slow"))])
        _events(s, "H", "it", "rest", [("2026-10-31T23:30", *rated(3, "ok"))])
        _ticket(s, "C", "en", "2026-10-24T10:05", "2026-10-24T12:05", "2026-10-24T11:05",
                learned=e3)
        _ticket(s, "B", "it", "2026-10-25T09:00", "2026-10-25T11:00", "2026-10-25T12:00")
        _ticket(s, "D", "en", "2026-10-26T09:00", "2026-10-26T11:00")  # overdue, unanswered
        _ticket(s, "X", "it", "2026-10-27T09:00", "2026-11-05T09:00")  # not yet due: left out
    return database_url, {"e1": e1, "e2": e2, "e3": e3}


def test_summary_of_the_whole_period(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        s = summary(OCTOBER, Filters(), session=session, now=NOW)
    assert (s.conversations, s.questions, s.answered, s.deflected) == (5, 7, 4, 3)
    assert s.deflection_rate == pytest.approx(3 / 7)
    assert s.escalation_rate == pytest.approx(2 / 7) and s.clarify_rate == pytest.approx(2 / 7)
    assert (s.thumbs_up, s.thumbs_down, s.helpful_share) == (1, 1, 0.5)
    assert (s.tickets, s.sla_due, s.sla_met) == (4, 3, 1)
    assert s.sla_compliance == pytest.approx(1 / 3)
    assert ((s.first_response_p50_min, s.first_response_p90_min)
            == (pytest.approx(60), pytest.approx(180)))
    assert s.learning_p50_min == pytest.approx(300)  # opened 10:05, entry learned 15:05
    assert s.learned_reuse == 1


def test_a_local_day_across_the_dst_change(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        s = summary(DST_DAY, Filters(), session=session, now=NOW)
    # A at 00:30 and B at 23:30 local both count; F at 00:10 on the 26th (25th in UTC) does not.
    assert ((s.conversations, s.questions, s.deflected, s.thumbs_up, s.thumbs_down)
            == (2, 2, 1, 1, 1))
    assert ((s.tickets, s.sla_due, s.sla_met, s.first_response_p50_min)
            == (1, 1, 0, pytest.approx(180)))
    assert DST_DAY.end_utc - DST_DAY.start_utc == timedelta(hours=25)


def test_language_and_channel_filters(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        it = summary(OCTOBER, Filters(language="it"), session=session, now=NOW)
        rest = summary(OCTOBER, Filters(channel="rest"), session=session, now=NOW)
        both = summary(OCTOBER, Filters(language="it", channel="rest"), session=session, now=NOW)
    assert ((it.conversations, it.questions, it.deflected, it.escalated, it.clarified)
            == (3, 3, 1, 1, 0))
    assert (it.tickets, it.sla_due, it.sla_met, it.learned_reuse) == (2, 1, 0, 0)
    assert (rest.conversations, rest.questions, rest.deflected, rest.escalated) == (2, 4, 2, 1)
    assert rest.clarify_rate == 0.5 and rest.helpful_share is None and rest.learned_reuse == 1
    assert (rest.tickets, rest.sla_due, rest.sla_met) == (2, 2, 1)
    assert both.questions == 0 and both.deflection_rate is None


def test_empty_and_one_event_ranges(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        empty = summary(Period(date(2026, 12, 1), date(2026, 12, 1)), Filters(), session=session)
        one = summary(Period(date(2026, 10, 19), date(2026, 10, 19)), Filters(), session=session)
        assert top_questions(Period(date(2026, 12, 1), date(2026, 12, 2)), Filters(),
                             session=session) == []
    assert ((empty.conversations, empty.questions, empty.tickets, empty.learned_reuse)
            == (0, 0, 0, 0))
    assert empty.deflection_rate is None and empty.sla_compliance is None
    assert empty.first_response_p50_min is None and empty.learning_p50_min is None
    assert (one.conversations, one.questions, one.deflected, one.deflection_rate) == (1, 1, 1, 1.0)


def test_top_questions_gaps_and_unhelpful_entries(dataset):
    url, ids = dataset
    with session_scope(url) as session:
        top = top_questions(OCTOBER, Filters(), session=session, limit=3)
        gaps = knowledge_gaps(OCTOBER, Filters(), session=session)
        bad = unhelpful_entries(OCTOBER, Filters(), session=session)
        it_top = top_questions(OCTOBER, Filters(language="it"), session=session)
    assert [(q.text, q.count) for q in top] == [
        ("do you ship to mars", 2), ("quanto costa la spedizione", 2), ("i want a refund", 1)]
    assert [(q.text, q.count) for q in it_top] == [
        ("quanto costa la spedizione", 2), ("posso pagare a rate", 1)]
    assert sorted((g.text, g.count) for g in gaps) == [
        ("i want a refund", 1), ("posso pagare a rate", 1), ("quanto costa la spedizione", 1)]
    assert [(b.entry_id, b.key, b.thumbs_down, b.thumbs_up) for b in bad] == [
        (ids["e1"], "it-shipping", 1, 1)]


def test_stale_entries(database_url):
    with session_scope(database_url) as s:
        used = _entry(s, "used", "en")
        unused = _entry(s, "unused", "en", created_at=utc("2026-01-01T00:00"))
        disliked = _entry(s, "disliked", "en")
        overdue = _entry(s, "overdue", "en", review_by=date(2026, 10, 1))
        _entry(s, "retired", "en", status=Status.RETIRED)
        _events(s, "c", "en", "rest", [
            ("2026-10-30T10:00", *ask("q", "answer", used)),
            ("2026-10-30T10:01", *choose(disliked)),
            ("2026-10-30T10:02", *ask("q", "answer", overdue)),
            ("2026-10-30T10:03", *thumbs(disliked, False)),
            ("2026-10-30T10:04", *thumbs(used, True)),
            ("2026-05-01T10:00", *ask("q", "answer", unused))])
    with session_scope(database_url) as session:
        stale = stale_entries(session=session, today=date(2026, 11, 1))
    assert {(e.key, e.reasons) for e in stale} == {
        ("unused", ("unused",)), ("disliked", ("disliked",)), ("overdue", ("review overdue",))}
    assert all(e.entry_id != used for e in stale)


@pytest.mark.parametrize(("start", "end", "words"), [
    (date(2026, 10, 31), date(2026, 10, 1), "before"),
    (date(1970, 1, 1), date(1970, 1, 2), "between"),
    (date(2020, 1, 1), date(2026, 1, 1), "5 years"),
    ("2026-10-01", date(2026, 10, 2), "date"),
    (datetime(2026, 10, 1, 12), date(2026, 10, 2), "date"),
])
def test_bad_periods_are_refused(start, end, words):
    with pytest.raises(AnalyticsError, match=words):
        Period(start, end)


def test_unknown_timezone_and_filter_values_are_refused():
    with pytest.raises(AnalyticsError, match="time zone"):
        Period(date(2026, 10, 1), date(2026, 10, 2), timezone="Mars/Olympus")
    with pytest.raises(AnalyticsError, match="language"):
        Filters(language="klingon")
    with pytest.raises(AnalyticsError, match="channel"):
        Filters(channel="pigeon")


def test_ratings_in_the_summary(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        october = summary(OCTOBER, Filters(), session=session, now=NOW)
        dst = summary(DST_DAY, Filters(), session=session, now=NOW)
        it = summary(OCTOBER, Filters(language="it"), session=session, now=NOW)
        rest = summary(OCTOBER, Filters(channel="rest"), session=session, now=NOW)
        both = summary(OCTOBER, Filters(language="it", channel="rest"), session=session, now=NOW)
        english_socket = summary(OCTOBER, Filters(language="en", channel="socketio"),
                                 session=session, now=NOW)
        before = summary(Period(date(2026, 10, 19), date(2026, 10, 19)), Filters(), session=session)
        empty = summary(Period(date(2026, 12, 1), date(2026, 12, 1)), Filters(), session=session)
    assert (october.ratings, october.rating_average) == (4, pytest.approx(3.5))
    assert (dst.ratings, dst.rating_average) == (2, pytest.approx(3.5))  # A 5 and B 2
    assert (it.ratings, it.rating_average) == (3, pytest.approx(10 / 3))
    assert (rest.ratings, rest.rating_average) == (2, pytest.approx(3.5))
    assert (both.ratings, both.rating_average) == (1, pytest.approx(3.0))
    assert (english_socket.ratings, english_socket.rating_average) == (0, None)
    assert (before.ratings, before.rating_average) == (1, pytest.approx(1.0))
    assert (empty.ratings, empty.rating_average) == (0, None)
    # ratings are not conversations or questions of their own (H only rated)
    assert (october.conversations, october.questions) == (5, 7)


def test_ratings_by_score(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        assert ratings_by_score(OCTOBER, Filters(), session=session) == {
            1: 0, 2: 1, 3: 1, 4: 1, 5: 1}
        assert ratings_by_score(OCTOBER, Filters(language="it"), session=session) == {
            1: 0, 2: 1, 3: 1, 4: 0, 5: 1}
        assert ratings_by_score(Period(date(2026, 12, 1), date(2026, 12, 1)), Filters(),
                                session=session) == dict.fromkeys(range(1, 6), 0)


def test_rating_comments_newest_first_and_paginated(dataset):
    url, _ = dataset
    with session_scope(url) as session:
        comments = rating_comments(OCTOBER, Filters(), session=session)
        second = rating_comments(OCTOBER, Filters(), session=session, offset=1, limit=1)
        past_the_end = rating_comments(OCTOBER, Filters(), session=session, offset=3)
        english = rating_comments(OCTOBER, Filters(language="en"), session=session)
    # B rated without a comment: not listed; G is before the period
    assert [(c.text, c.rating, c.language) for c in comments] == [
        ("ok", 3, "it"), ("Velocissimi, grazie!", 5, "it"),
        ("<b>Refund</b> needed a person", 4, "en")]
    assert comments[0].occurred_at == local("2026-10-31T23:30")
    assert comments[0].occurred_at.tzinfo is not None
    assert [c.text for c in second] == ["Velocissimi, grazie!"]
    assert past_the_end == [] and [c.rating for c in english] == [4]


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, 501)])
def test_rating_comments_refuse_bad_pages(database_url, offset, limit):
    with session_scope(database_url) as session, pytest.raises(AnalyticsError, match="limit"):
        rating_comments(OCTOBER, Filters(), session=session, offset=offset, limit=limit)


def test_rating_events_out_of_range_are_ignored(database_url):
    """Only the endpoint writes ratings (1-5); a hand-made row outside the scale is no figure."""
    with session_scope(database_url) as s:
        _events(s, "Z", "it", "socketio", [("2026-10-26T10:00", *rated(9, "nine")),
                                           ("2026-10-26T10:01", *rated(0)),
                                           ("2026-10-26T10:02", *rated(4, "fine"))])
    with session_scope(database_url) as session:
        figures = summary(OCTOBER, Filters(), session=session, now=NOW)
        assert (figures.ratings, figures.rating_average) == (1, 4.0)
        assert ratings_by_score(OCTOBER, Filters(), session=session)[4] == 1
        assert [c.text for c in rating_comments(OCTOBER, Filters(), session=session)] == ["fine"]
