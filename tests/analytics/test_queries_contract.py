"""The read functions analytics exports to other packages (`analytics.queries`: escalation
asks whether a chat is live, the rating endpoint where a conversation stands): their
columns exist on the interaction log and they return the documented shape on a real,
migrated database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from analytics import queries
from analytics.models import EventKind, InteractionEvent
from core import session_scope

COLUMNS = {"conversation_id", "occurred_at", "kind", "language", "channel", "page", "id"}
AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def test_the_columns_the_queries_read_exist_on_the_log():
    assert COLUMNS <= set(InteractionEvent.__table__.c.keys())


def test_the_exported_shapes():
    assert dataclasses.is_dataclass(queries.ConversationContext)
    assert queries.ConversationContext.__dataclass_params__.frozen
    assert [f.name for f in dataclasses.fields(queries.ConversationContext)] == [
        "language", "channel", "page", "last_kind"]


def _log(session, conversation: str, kind: EventKind, minutes: int, **fields) -> None:
    session.add(InteractionEvent(conversation_id=conversation, kind=kind.value,
                                 occurred_at=AT + timedelta(minutes=minutes), **fields))


def test_the_queries_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        _log(session, "c1", EventKind.CONVERSATION_START, 0, language="it", channel="socketio",
             page="/scarpe")
        _log(session, "c1", EventKind.MESSAGE, 1, language="it", text="Spedite in Svizzera?")
        _log(session, "c1", EventKind.CONVERSATION_END, 5)
        _log(session, "quiet", EventKind.CONVERSATION_START, 2, language="en")
    with session_scope(database_url) as session:
        assert queries.last_activity_at("c1", session=session) == AT + timedelta(minutes=5)
        assert queries.last_activity_at("nobody", session=session) is None
        assert queries.conversation_context("c1", session=session) == queries.ConversationContext(
            "it", "socketio", "/scarpe", EventKind.CONVERSATION_END.value)
        assert queries.conversation_context("nobody", session=session) == (
            queries.ConversationContext("", "", "", ""))
        assert queries.asked_a_question("c1", session=session)
        assert not queries.asked_a_question("quiet", session=session)
