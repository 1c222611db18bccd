"""Why the dashboard's counts are still zero: nothing asked, nothing new, or questions
still settling; each refresh round is recorded so the page can say when it was."""

from __future__ import annotations

from datetime import timedelta

from analytics.freshness import backlog, explain, last_round
from analytics.insights import refresh
from analytics.rollup import SETTLE
from core import session_scope
from tests.analytics.test_insights import EMBEDDER, NOW, classifier, log


def round_at(url: str, moment, **kwargs):
    with session_scope(url) as session:
        return refresh(session, EMBEDDER, classifier(), now=moment, **kwargs)


def test_an_empty_log_says_so(database_url):
    result = round_at(database_url, NOW)
    assert result.labelled == 0 and result.backlog.logged == 0
    assert "no questions yet" in explain(0, result.backlog)
    with session_scope(database_url) as session:
        assert last_round(session) == NOW


def test_zero_labelled_says_whether_questions_are_settling_or_nothing_is_new(database_url):
    log(database_url, ("Quanto costa la spedizione?", NOW))
    early = round_at(database_url, NOW + timedelta(minutes=10))
    assert early.labelled == 0 and early.backlog.waiting == 1
    assert early.backlog.next_at == NOW + SETTLE
    why = explain(0, early.backlog)
    assert "1 newer question waits" in why and (NOW + SETTLE).strftime("%H:%M") in why
    assert round_at(database_url, NOW + timedelta(hours=1)).labelled == 1
    again = round_at(database_url, NOW + timedelta(hours=2))
    assert again.labelled == 0 and explain(0, again.backlog) == "nothing new since the last refresh"
    with session_scope(database_url) as session:
        assert last_round(session) == NOW + timedelta(hours=2)
        assert backlog(session).logged == 1


def test_no_settling_time_labels_what_was_just_asked(database_url):
    log(database_url, ("Quanto costa la spedizione?", NOW))
    result = round_at(database_url, NOW + timedelta(minutes=1), settle=timedelta(0))
    assert result.labelled == 1 and result.backlog.waiting == 0
