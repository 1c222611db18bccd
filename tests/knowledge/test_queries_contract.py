"""The read functions knowledge exports to other packages (`knowledge.queries`, for
escalation's transcripts and the operator console's pages): the columns they read exist on
knowledge's models, and they return the documented plain values and frozen dataclasses on
a real, migrated database."""

from __future__ import annotations

import dataclasses

import pytest

from core import session_scope
from knowledge import EntryNotFound, queries
from knowledge import repository as repo
from knowledge.models import Entry, EntryVersion, Question, Status

ENTRY_ROW = ["id", "key", "answer", "language", "category", "status", "version",
             "created_by", "ticket_id", "questions"]


def test_the_columns_the_queries_read_exist():
    assert {"id", "entry_id", "text"} <= set(Question.__table__.c.keys())
    assert {*ENTRY_ROW, "source", "updated_by", "updated_at"} - {"questions"} <= set(
        Entry.__table__.c.keys())
    assert {"version", "status", "reason", "changed_by", "changed_at"} <= set(
        EntryVersion.__table__.c.keys())


def test_the_exported_shapes_are_frozen_dataclasses():
    for shape, names in ((queries.QuestionText, ["text"]),
                         (queries.EntryRow, ENTRY_ROW),
                         (queries.EntrySearch, ["drafts", "entries", "more"]),
                         (queries.VersionRow, ["version", "status", "reason", "changed_by",
                                               "changed_at"]),
                         (queries.EntryDetail, [*ENTRY_ROW, "source", "updated_by",
                                                "updated_at", "versions"])):
        assert shape.__dataclass_params__.frozen
        assert [f.name for f in dataclasses.fields(shape)] == names


def test_first_questions_on_a_real_database(database_url, add_entry):
    shipping = add_entry("Spediamo in tutta Europa.", "Spedite in Svizzera?", "Spedite all'estero?",
                         language="it")
    returns = add_entry("Returns are free.", "Are returns free?")
    with session_scope(database_url) as session:
        assert queries.first_questions([returns, shipping, shipping, 10_000], session=session) == {
            shipping: "Spedite in Svizzera?", returns: "Are returns free?"}
        assert queries.first_questions([], session=session) == {}
        many = range(returns + 1, returns + 1 + 2 * queries.MAX_ENTRIES)
        assert queries.first_questions(many, session=session) == {}


def test_search_and_detail_on_a_real_database(database_url, add_entry):
    shipping = add_entry("Spediamo in tutta Europa.", "Spedite in Svizzera?", "Spedite 100%?",
                         language="it")
    returns = add_entry("Returns are free.", "Are returns free?")
    with session_scope(database_url) as session:
        entry = repo.get_entry(returns, session=session)
        repo.update_entry(entry, session=session, by="ops", reason="draft", status="draft")
    with session_scope(database_url) as session:
        found = queries.search_entries("", "", offset=0, page=1, session=session)
        assert [e.id for e in found.drafts] == [returns]
        assert [e.id for e in found.entries] == [shipping] and found.more
        assert found.entries[0].questions == (queries.QuestionText("Spedite in Svizzera?"),
                                              queries.QuestionText("Spedite 100%?"))
        assert found.entries[0].status is Status.PUBLISHED
        assert [e.id for e in queries.search_entries("100%", "", offset=0, page=5,
                                                     session=session).entries] == [shipping]
        assert queries.search_entries("0%", "draft", offset=0, page=5,
                                      session=session).entries == []
        detail = queries.entry_detail(str(returns), session=session)
        assert (detail.status, detail.updated_by) == (Status.DRAFT, "ops")
        assert [v.reason for v in detail.versions][0] == "draft"
        assert [v.version for v in detail.versions] == sorted(
            (v.version for v in detail.versions), reverse=True)
        with pytest.raises(EntryNotFound):
            queries.entry_detail("no-such-key", session=session)


def test_entry_rows_on_a_real_database(database_url, add_entry):
    shipping = add_entry("Spediamo in tutta Europa.", "Spedite in Svizzera?", "Spedite 100%?",
                         language="it", key="it-ship")
    returns = add_entry("Returns are free.", "Are returns free?")
    with session_scope(database_url) as session:
        repo.update_entry(repo.get_entry(returns, session=session), session=session, by="ops",
                          reason="ritirata", status="retired")
    with session_scope(database_url) as session:
        rows = queries.entry_rows([returns, shipping, shipping, 10_000], session=session)
        assert queries.entry_rows([], session=session) == {}
    assert set(rows) == {shipping, returns}  # a retired entry too; a missing one left out
    assert rows[returns].status is Status.RETIRED and rows[returns].version == 2
    assert (rows[shipping].key, rows[shipping].answer, rows[shipping].language) == (
        "it-ship", "Spediamo in tutta Europa.", "it")
    assert rows[shipping].questions == (queries.QuestionText("Spedite in Svizzera?"),
                                        queries.QuestionText("Spedite 100%?"))
