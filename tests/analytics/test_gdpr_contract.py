"""The functions analytics exports for GDPR export and erasure (`analytics.gdpr`, called
by `bot.gdpr` inside its one transaction): the columns they read exist, and they find,
export, erase and purge a customer's part of the log on a real, migrated database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from analytics import gdpr
from analytics.models import EventKind, InteractionEvent, QuestionInsight, QuestionTopic
from analytics.purchase_stage import clean_for_model
from core import session_scope

AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
READS = {InteractionEvent: {"id", "conversation_id", "occurred_at", "kind", "text",
                            "decision", "language", "channel", "page", "data"},
         QuestionInsight: {"event_id", "occurred_at"},
         QuestionTopic: {"name", "examples"}}


def test_the_columns_the_functions_read_exist():
    for model, columns in READS.items():
        assert columns <= set(model.__table__.c.keys()), model.__tablename__


def test_the_erasure_summary_is_a_frozen_dataclass():
    assert gdpr.ErasedInteractions.__dataclass_params__.frozen
    assert [f.name for f in dataclasses.fields(gdpr.ErasedInteractions)] == [
        "events", "labels", "examples"]


def _log(session, conversation: str, minutes: int, text: str = "") -> int:
    event = InteractionEvent(conversation_id=conversation, kind=EventKind.MESSAGE.value,
                             occurred_at=AT + timedelta(minutes=minutes), text=text,
                             language="it", channel="socketio", page="/scarpe")
    session.add(event)
    session.flush()
    session.add(QuestionInsight(event_id=event.id, occurred_at=event.occurred_at,
                                day=date(2026, 10, 5), stage="other", stage_confidence=0.5))
    return event.id


def test_find_and_export_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        _log(session, "c1", 0, "Spedite in Svizzera?")
        _log(session, "c2", 1, "Altro?")
    with session_scope(database_url) as session:
        assert gdpr.logged_conversations(["c1", "c9"], session=session) == {"c1"}
        exported = gdpr.interactions_of(["c1"], session=session)
    assert [set(row) for row in exported] == [{"at", "conversation", "kind", "text", "decision",
                                               "language", "channel", "page", "data"}]
    assert exported[0]["conversation"] == "c1" and exported[0]["text"] == "Spedite in Svizzera?"
    assert exported[0]["at"].startswith("2026-10-05T09:00:00")


def test_erase_and_purge_on_a_real_database(database_url):
    asked = clean_for_model("Spedite in Svizzera?").upper()
    with session_scope(database_url) as session:
        _log(session, "c1", 0, "Spedite in Svizzera?")
        kept = _log(session, "c2", 1, "Altro?")
        session.add(QuestionTopic(run=1, embedder="hashing", size=2, centroid=b"", name=asked,
                                  examples=[asked, "ALTRO"]))
    with session_scope(database_url) as session:
        erased = gdpr.erase_interactions(["c1"], scrub=str.upper, session=session)
    assert erased == gdpr.ErasedInteractions(events=1, labels=1, examples=1)
    with session_scope(database_url) as session:
        topic = session.scalars(select(QuestionTopic)).one()
        assert (topic.name, topic.examples) == ("", ["ALTRO"])
        assert session.scalars(select(InteractionEvent.id)).all() == [kept]
        assert gdpr.purge_interactions_before(AT, session=session) == 0
        assert gdpr.purge_interactions_before(AT + timedelta(hours=1), session=session) == 1
    with session_scope(database_url) as session:
        assert session.scalar(select(func.count()).select_from(QuestionInsight)) == 0
