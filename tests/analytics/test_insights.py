"""Labelling questions for the dashboard: incremental, once per question, on the shop's
local day, with the product page, the purchase stage and the topic; topics found again
relabel every question."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

import pytest
from sqlalchemy import func, select

from analytics.insights import (
    RECLUSTER_AFTER,
    current_topics,
    page_subject,
    pending_topics,
    refresh,
    relabel_batch,
    update_topics,
)
from analytics.models import EventKind, InteractionEvent, QuestionInsight, QuestionTopic
from analytics.purchase_stage import EXAMPLES, PurchaseStageClassifier, load_examples
from analytics.rollup import SETTLE
from core import session_scope
from knowledge.embedders import HashingEmbedder

EMBEDDER = HashingEmbedder()
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
SHIPPING = ["Quanto costa la spedizione in Sicilia?", "quanto costa la spedizione in Sardegna",
            "Costa tanto la spedizione in Sicilia?", "quanto costa spedire in Sicilia?"]
PASSWORD = ["Ho dimenticato la password dell'account", "password account dimenticata",
            "come recupero la password del mio account?", "reset password account"]


@cache
def classifier() -> PurchaseStageClassifier:
    return PurchaseStageClassifier.train(load_examples(EXAMPLES), EMBEDDER)


def log(url: str, *rows: tuple[str, datetime], kind: EventKind = EventKind.MESSAGE,
        page: str = "", language: str = "it", channel: str = "socketio",
        decision: str = "answer") -> list[int]:
    with session_scope(url) as session:
        events = [InteractionEvent(kind=kind.value, conversation_id=f"c{i}-{text[:5]}",
                                   occurred_at=at, text=text, page=page, language=language,
                                   channel=channel, decision=decision)
                  for i, (text, at) in enumerate(rows)]
        session.add_all(events)
        session.flush()
        return [e.id for e in events]


def run(url: str, **kwargs):
    """A refresh an hour after NOW: questions logged up to NOW have settled."""
    with session_scope(url) as session:
        return refresh(session, EMBEDDER, classifier(), now=kwargs.pop("now", LATER), **kwargs)


def insights(url: str) -> dict[int, QuestionInsight]:
    with session_scope(url) as session:
        rows = session.scalars(select(QuestionInsight)).all()
        session.expunge_all()
        return {row.event_id: row for row in rows}


@pytest.mark.parametrize("page, expected", [
    ("product:sciarpa-merino", ("product", "sciarpa-merino")),
    ("Category: Sciarpe ", ("category", "Sciarpe")),
    ("cart", ("cart", "")),
    ("order:status", ("order", "")),
    ("", ("", "")),
    ("product:" + "x" * 500, ("product", "x" * 200)),
    ("<script>:alert(1)", ("<script>", "")),
])
def test_the_page_names_the_product_or_category(page, expected):
    assert page_subject(page) == expected


def test_each_question_is_labelled_once_and_incrementally(database_url):
    first = log(database_url, *[(t, NOW - timedelta(days=1)) for t in SHIPPING],
                page="product:stivali", language="it", channel="rest", decision="clarify")
    log(database_url, ("not a question", NOW), kind=EventKind.FEEDBACK)
    result = run(database_url)
    assert result.labelled == 4 and result.reclustered and result.topics >= 1
    assert run(database_url).labelled == 0  # nothing new, nothing repeated
    later = log(database_url, ("Quanto costa la spedizione in Puglia?", NOW))
    assert run(database_url).labelled == 1
    rows = insights(database_url)
    assert sorted(rows) == sorted(first + later)  # the feedback event is no question
    row = rows[first[0]]
    assert (row.language, row.channel, row.decision) == ("it", "rest", "clarify")
    assert (row.subject_kind, row.subject) == ("product", "stivali")
    assert row.topic_id in {t.id for t in _topics(database_url)}


def test_a_question_waits_until_its_conversation_has_settled(database_url):
    # ids follow time in a live log; an older event behind a newer id must not be skipped
    recent, older = log(database_url, ("appena chiesto", NOW - SETTLE / 3),
                        ("chiesto prima", NOW - 2 * SETTLE))
    assert run(database_url, now=NOW).labelled == 0
    assert run(database_url, now=NOW + SETTLE).labelled == 2
    assert sorted(insights(database_url)) == [recent, older]


def test_outcomes_are_stored_with_the_question(database_url):
    at = NOW - timedelta(hours=2)
    with session_scope(database_url) as session:
        def add(conversation, kind, **fields):
            event = InteractionEvent(kind=kind, conversation_id=conversation, occurred_at=at,
                                     **fields)
            session.add(event)
            session.flush()
            return event.id
        clarified = add("a", "message", text="spedizione?", decision="clarify")
        add("a", "choice", decision="answer", entry_id=3)
        disliked = add("a", "message", text="e in Sicilia?", decision="answer", entry_id=4)
        add("a", "feedback", entry_id=4, data={"helpful": False})
        escalated = add("b", "message", text="corsi di cucito?", decision="escalate")
        add("b", "escalation", data={"ticket_id": 1})
        abandoned = add("c", "message", text="boh", decision="clarify")
    run(database_url)
    rows = insights(database_url)
    outcome = {i: (rows[i].answered, rows[i].escalated, rows[i].disliked)
               for i in (clarified, disliked, escalated, abandoned)}
    assert outcome == {clarified: (True, False, False), disliked: (True, False, True),
                       escalated: (False, True, False), abandoned: (False, False, False)}
    assert rows[disliked].entry_id == 4


def test_the_day_is_the_shops_local_day_across_dst(database_url):
    # 23:30 UTC is already the next day in Rome, at +1 in winter and +2 in summer; on
    # 29 March 2026 Italy moves to summer time, on 25 October back to winter time.
    ids = log(database_url, ("spring", datetime(2026, 3, 28, 23, 30, tzinfo=UTC)),
              ("summer", datetime(2026, 3, 29, 22, 30, tzinfo=UTC)),
              ("autumn", datetime(2026, 10, 24, 22, 30, tzinfo=UTC)),
              ("winter", datetime(2026, 10, 25, 22, 30, tzinfo=UTC)),
              ("before midnight", datetime(2026, 10, 25, 22, 59, tzinfo=UTC)))
    run(database_url, recluster=False)
    days = {eid: row.day for eid, row in insights(database_url).items()}
    assert [days[i] for i in ids] == [date(2026, 3, 29), date(2026, 3, 30), date(2026, 10, 25),
                                      date(2026, 10, 25), date(2026, 10, 25)]


def test_training_questions_get_their_stage(database_url):
    examples = {e.label: e.text for e in load_examples(EXAMPLES)}
    ids = log(database_url, *[(examples[label], NOW) for label in sorted(examples)],
              ("", NOW))
    run(database_url)
    rows = insights(database_url)
    assert [rows[i].stage for i in ids[:-1]] == sorted(examples)
    assert rows[ids[-1]].stage == "other"  # an empty message is no purchase question
    assert all(0.0 < rows[i].stage_confidence <= 1.0 for i in ids)


def test_topics_separate_unrelated_questions_and_count_questions(database_url):
    at = NOW - timedelta(days=2)
    shipping = log(database_url, *[(t, at) for t in SHIPPING * 3])
    password = log(database_url, *[(t, at) for t in PASSWORD])
    run(database_url)
    rows = insights(database_url)
    assert len({rows[i].topic_id for i in shipping}) == 1
    assert len({rows[i].topic_id for i in password}) == 1
    assert rows[shipping[0]].topic_id != rows[password[0]].topic_id
    topics = {t.id: t for t in _topics(database_url)}
    ship, pwd = topics[rows[shipping[0]].topic_id], topics[rows[password[0]].topic_id]
    assert ship.size == 12 and pwd.size == 4  # questions asked, not distinct texts
    assert "spedizione" in ship.keywords and "password" in pwd.keywords
    assert set(ship.examples) <= set(SHIPPING)


def test_new_topics_relabel_every_question_and_old_runs_are_pruned(database_url):
    at = NOW - timedelta(days=3)
    ids = log(database_url, *[(t, at) for t in SHIPPING + PASSWORD])
    run(database_url)
    first_run = {t.id for t in _topics(database_url)}
    assert not run(database_url, now=LATER + RECLUSTER_AFTER / 2).reclustered  # not due yet
    assert run(database_url, now=LATER + RECLUSTER_AFTER).reclustered  # a week on: found again
    second_run = {t.id for t in _topics(database_url)}
    assert first_run.isdisjoint(second_run)
    assert {insights(database_url)[i].topic_id for i in ids} <= second_run
    run(database_url, recluster=True)
    with session_scope(database_url) as session:  # the newest run and the one before it
        assert session.scalar(select(func.count(func.distinct(QuestionTopic.run)))) == 2


def test_an_empty_log_labels_nothing_and_finds_no_topics(database_url):
    result = run(database_url)
    assert (result.labelled, result.reclustered, result.topics) == (0, False, 0)
    assert _topics(database_url) == []


def test_a_classifier_of_another_embedder_is_refused(database_url):
    with session_scope(database_url) as session, pytest.raises(ValueError, match="trained on"):
        refresh(session, HashingEmbedder(128), classifier(), now=NOW)


def _topics(url: str) -> list[QuestionTopic]:
    with session_scope(url) as session:
        topics = current_topics(session)
        session.expunge_all()
        return topics


def test_a_new_run_becomes_current_only_when_every_question_has_moved(database_url):
    at = NOW - timedelta(days=3)
    log(database_url, *[(t, at) for t in SHIPPING + PASSWORD])
    run(database_url)
    first = {t.id for t in _topics(database_url)}
    with session_scope(database_url) as session:
        assert update_topics(session, EMBEDDER, now=LATER, recluster=True)
        assert not update_topics(session, EMBEDDER, now=LATER, recluster=True)  # one at a time
        assert {t.id for t in current_topics(session)} == first  # still the old run
        pending = {t.id for t in pending_topics(session)}
        steps = []
        while True:  # one distinct text per step, as a caller committing each step sees it
            moved, became_current = relabel_batch(session, EMBEDDER, batch=1)
            steps.append(moved)
            if became_current:
                break
            assert {t.id for t in current_topics(session)} == first
        assert steps == [1] * len(SHIPPING + PASSWORD) + [0]
        assert {t.id for t in current_topics(session)} == pending and not pending_topics(session)
        topic_ids = set(session.scalars(select(QuestionInsight.topic_id)))
    assert topic_ids <= pending


def test_topic_examples_are_kept_scrubbed(database_url):
    at = NOW - timedelta(days=1)
    log(database_url, *[("scrivete a mario@example.com per la spedizione", at)] * 3,
        *[(t, at) for t in PASSWORD])
    with session_scope(database_url) as session:
        refresh(session, EMBEDDER, classifier(), now=LATER,
                scrub=lambda text: text.replace("mario@example.com", "[email]"))
        examples = [e for t in current_topics(session) for e in t.examples]
    assert "scrivete a [email] per la spedizione" in examples
    assert not any("mario@example.com" in e for e in examples)
