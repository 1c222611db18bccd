import pytest

from analytics import AppendOnlyViolation, EventKind, Interaction, InteractionEvent, events_of, record
from core import session_scope


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
