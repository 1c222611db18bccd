from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from analytics import (
    AppendOnlyViolation,
    EventKind,
    Interaction,
    InteractionEvent,
    events_of,
    record,
)
from core import DecisionKind, session_scope


def test_events_are_appended_and_read_in_order(database_url):
    with session_scope(database_url) as session:
        record(Interaction(EventKind.CONVERSATION_START, "c1", channel="socketio"), session=session)
        record(Interaction(EventKind.MESSAGE, "c1", text="x" * 5000, decision="answer", entry_id=4,
                           score=0.9, latency_ms=12.5, data={"candidates": [4]}), session=session)
        record(Interaction(EventKind.MESSAGE, "c2", text="other"), session=session)
    with session_scope(database_url) as session:
        events = events_of("c1", session=session)
        assert [e.kind for e in events] == ["conversation_start", "message"]
        assert len(events[1].text) == 2000 and events[1].data == {"candidates": [4]}
        assert events[1].occurred_at is not None


def test_decisions_are_stored_as_plain_words_and_counted_either_way(database_url):
    """Rows logged before decisions had a type hold plain words; the typed ones must store
    the same words, or reports would split one decision in two."""
    from analytics.log import most_answered_entries
    with session_scope(database_url) as session:
        for conversation, decision in (("c1", DecisionKind.ANSWER), ("c2", "answer"),
                                       ("c3", DecisionKind.CLARIFY)):
            record(Interaction(EventKind.MESSAGE, conversation, language="it", text="q",
                               decision=decision, entry_id=7), session=session)
    with session_scope(database_url) as session:
        stored = session.execute(text(
            "SELECT decision FROM interaction_events ORDER BY id")).scalars().all()
        assert stored == ["answer", "answer", "clarify"]
        since = datetime(2000, 1, 1, tzinfo=UTC)
        assert most_answered_entries("it", since, session=session) == [7]


def test_logged_events_cannot_be_changed_or_deleted(database_url):
    with session_scope(database_url) as session:
        record(Interaction(EventKind.MESSAGE, "c1", text="hello"), session=session)
    with pytest.raises(AppendOnlyViolation):
        with session_scope(database_url) as session:
            session.query(InteractionEvent).one().text = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        with session_scope(database_url) as session:
            session.delete(session.query(InteractionEvent).one())
    with session_scope(database_url) as session:
        assert session.query(InteractionEvent).one().text == "hello"


def test_text_any_database_refuses_is_made_safe(database_url):
    with session_scope(database_url) as session:
        record(Interaction(EventKind.INVALID, "c\x001", text="a\x00b\ud800c", page="p\x00"),
               session=session)
    with session_scope(database_url) as session:
        [event] = events_of("c1", session=session)
        assert (event.text, event.page) == ("ab?c", "p")


def test_answer_verdicts_pair_each_thumb_and_pick_with_its_question(database_url):
    from analytics.log import answer_verdicts, recent_questions

    def log(kind, conversation, **fields):
        record(Interaction(kind, conversation, **fields), session=session)

    with session_scope(database_url) as session:
        log(EventKind.MESSAGE, "a", text="how much is shipping", decision="answer", entry_id=1)
        log(EventKind.FEEDBACK, "a", entry_id=1, data={"helpful": False})
        log(EventKind.MESSAGE, "a", text="and returns?", decision="answer", entry_id=2)
        log(EventKind.FEEDBACK, "a", entry_id=2, data={"helpful": True})
        log(EventKind.MESSAGE, "b", text="size or colour", decision="clarify", entry_id=3,
            data={"candidates": [3, 4]})
        log(EventKind.CHOICE, "b", entry_id=4, decision="answer")
        # A pick of an entry the clarify never offered: the payload is the client's, forged.
        log(EventKind.MESSAGE, "e", text="opening hours", decision="clarify", entry_id=7,
            data={"candidates": [7, 8]})
        log(EventKind.CHOICE, "e", entry_id=99, decision="answer")
        log(EventKind.MESSAGE, "b", text="weather tomorrow", decision="escalate")
        log(EventKind.FEEDBACK, "c", entry_id=5, data={"helpful": False})  # no question before it
        log(EventKind.MESSAGE, "d", text="gift cards", decision="answer", entry_id=6)
        log(EventKind.FEEDBACK, "d", entry_id=6, data={"helpful": "yes"})  # not a verdict
    with session_scope(database_url) as session:
        verdicts = answer_verdicts(session=session)
        questions = recent_questions(session=session, limit=3)
    assert [(v.question, v.entry_id, v.verdict) for v in verdicts] == [
        ("size or colour", 4, "picked"),  # newest first; the escalated question came after it
        ("and returns?", 2, "helpful"),
        ("how much is shipping", 1, "unhelpful"),
    ]
    assert questions == [("gift cards", ""), ("weather tomorrow", ""), ("opening hours", "")]


def test_a_flood_of_clicks_from_one_conversation_counts_once_per_question(database_url):
    """Twenty picks on one clarify, and thumbs on ten questions of one chat, teach the
    confidence model one verdict per question and three per conversation at most."""
    from analytics.log import MAX_VERDICTS_PER_CONVERSATION, answer_verdicts

    with session_scope(database_url) as session:
        def log(kind, conversation, **fields):
            record(Interaction(kind, conversation, **fields), session=session)

        log(EventKind.MESSAGE, "flood", text="size or colour", decision="clarify", entry_id=3,
            data={"candidates": [3, 4, 5]})
        for entry in [4] * 19 + [5]:
            log(EventKind.CHOICE, "flood", entry_id=entry, decision="answer")
        for i in range(10):
            log(EventKind.MESSAGE, "thumbs", text=f"question {i}", decision="answer", entry_id=i)
            log(EventKind.FEEDBACK, "thumbs", entry_id=i, data={"helpful": False})
        log(EventKind.MESSAGE, "other", text="how much is shipping", decision="answer", entry_id=1)
        log(EventKind.FEEDBACK, "other", entry_id=1, data={"helpful": True})
    with session_scope(database_url) as session:
        verdicts = answer_verdicts(session=session)
    flood = [(v.question, v.entry_id) for v in verdicts if v.question == "size or colour"]
    assert flood == [("size or colour", 5)]  # the latest pick only
    thumbs = [v for v in verdicts if v.question.startswith("question ")]
    assert len(thumbs) == MAX_VERDICTS_PER_CONVERSATION
    assert [v.question for v in thumbs] == ["question 9", "question 8", "question 7"]
    assert ("how much is shipping", 1, "helpful") in [(v.question, v.entry_id, v.verdict)
                                                      for v in verdicts]
