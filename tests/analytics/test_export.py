"""Per-conversation exports: the figures, spreadsheet-safe CSV, Parquet, and the CLI."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from analytics import EventKind, Filters, Period
from analytics.export import (
    COLUMNS,
    conversation_rows,
    neutralise,
    pseudonym,
    write_csv,
    write_parquet,
)
from analytics.models import InteractionEvent
from core import session_scope
from tests.bot.test_cli_report import run

DAY = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 11, 20), date(2026, 11, 20))
KEY = b"the product's secret key"


def log(session, conversation, kind, minutes, **fields):
    """A logged event at a chosen moment (record() always stamps now)."""
    fields = {"channel": "socketio", "language": "it", **fields}
    session.add(InteractionEvent(kind=kind.value, conversation_id=conversation,
                                 occurred_at=DAY + timedelta(minutes=minutes), **fields))
    session.flush()


@pytest.fixture
def events(database_url):
    with session_scope(database_url) as session:
        log(session, "c1", EventKind.CONVERSATION_START, 0, page="product:scarf")
        log(session, "c1", EventKind.MESSAGE, 1, text="=HYPERLINK(\"http://evil\")",
            decision="answer")
        log(session, "c1", EventKind.FEEDBACK, 2, data={"helpful": True})
        log(session, "c1", EventKind.MESSAGE, 3, text="Posso pagare?", decision="clarify")
        log(session, "c1", EventKind.RATING, 4, data={"rating": 4, "comment": "ok"})
        log(session, "c2", EventKind.MESSAGE, 5, text="<b>cane?</b>", decision="escalate",
            language="en", channel="rest")
        log(session, "c2", EventKind.ESCALATION, 6, data={"ticket_id": 1, "joined": False},
            language="en", channel="rest")
        log(session, "c2", EventKind.FEEDBACK, 7, data={"helpful": False}, language="en",
            channel="rest")
        log(session, "c3", EventKind.MESSAGE, 60 * 24 * 3, text="later", decision="answer")
    return database_url


def test_one_row_per_conversation_with_its_figures(events):
    with session_scope(events) as session:
        rows = list(conversation_rows(PERIOD, Filters(), session=session, key=KEY))
    # c3 is outside the period; the ids are pseudonyms (see below)
    assert [r.conversation_id for r in rows] == [pseudonym("c1", KEY), pseudonym("c2", KEY)]
    c1, c2 = rows
    assert ((c1.questions, c1.answered, c1.clarified, c1.thumbs_up, c1.page)
            == (2, 1, 1, 1, "product:scarf"))
    assert ((c2.escalated, c2.tickets, c2.thumbs_down, c2.language, c2.channel)
            == (1, 1, 1, "en", "rest"))
    assert c1.started_at == DAY and c1.first_question.startswith("=HYPERLINK")
    assert (c1.rating, c2.rating) == (4, None)  # None: not rated


def test_filters_apply(events):
    with session_scope(events) as session:
        rows = list(conversation_rows(PERIOD, Filters(channel="rest"), session=session, key=KEY))
    assert [r.conversation_id for r in rows] == [pseudonym("c2", KEY)]


@pytest.mark.parametrize("value, safe", [("=1+2", "'=1+2"), ("+39 347", "'+39 347"),
                                         ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
                                         ("\tx", "'\tx"), ("ok = fine", "ok = fine"), (3, 3)])
def test_formula_cells_are_neutralised(value, safe):
    assert neutralise(value) == safe


def test_csv_is_spreadsheet_safe_and_keeps_html_as_text(events):
    out = io.StringIO()
    with session_scope(events) as session:
        assert write_csv(conversation_rows(PERIOD, Filters(), session=session, key=KEY), out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["first_question"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[1]["first_question"] == "<b>cane?</b>"
    # an unrated chat is an empty cell, not a 0 that BI tools would average in
    assert (rows[0]["rating"], rows[1]["rating"]) == ("4", "")


def test_parquet_round_trip_and_empty_period(events, tmp_path):
    with session_scope(events) as session:
        assert write_parquet(conversation_rows(PERIOD, Filters(), session=session, key=KEY),
                             tmp_path / "c.parquet") == 2
        empty = Period(date(2020, 1, 1), date(2020, 1, 2))
        assert write_parquet(conversation_rows(empty, Filters(), session=session, key=KEY),
                             tmp_path / "empty.parquet") == 0
    table = pq.read_table(tmp_path / "c.parquet")
    assert table.column_names == list(COLUMNS) and table.num_rows == 2
    assert table.column("questions").to_pylist() == [2, 1]
    assert table.column("rating").to_pylist() == [4, None]  # null: not rated
    assert str(table.schema.field("rating").type) == "int64"
    assert table.column("first_question").to_pylist()[0] == "=HYPERLINK(\"http://evil\")"
    assert pq.read_table(tmp_path / "empty.parquet").num_rows == 0


def test_cli_exports_and_refuses_bad_arguments(events, tmp_path):
    done = run(tmp_path, events, "export-conversations", "--from", "2026-11-20", "--to",
               "2026-11-20")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == ",".join(COLUMNS) and len(done.stdout.splitlines()) == 3
    assert "2 conversations exported" in done.stderr
    parquet = run(tmp_path, events, "export-conversations", "--format", "parquet", "-o",
                  str(tmp_path / "x.parquet"), "--from", "2026-11-20", "--to", "2026-11-20")
    assert parquet.returncode == 0 and pq.read_table(tmp_path / "x.parquet").num_rows == 2
    for args in (["--format", "xls"], ["--format", "parquet"], ["--from", "2026-13-01"],
                 ["--from", "2026-11-22", "--to", "2026-11-01"], ["--language", "klingon"]):
        bad = run(tmp_path, events, "export-conversations", *args)
        assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_conversation_ids_are_pseudonymised_stably_and_keyed(events, tmp_path):
    """A conversation id is a bearer secret: the marketing export must not carry it."""
    def exported(key: bytes) -> list[dict]:
        out = io.StringIO()
        with session_scope(events) as session:
            write_csv(conversation_rows(PERIOD, Filters(), session=session, key=key), out)
        return list(csv.DictReader(io.StringIO(out.getvalue())))

    text = exported(KEY)
    ids = [row["conversation_id"] for row in text]
    assert not {"c1", "c2"} & set(ids)
    assert all(re.fullmatch(r"c-[0-9a-f]{24}", i) for i in ids) and len(set(ids)) == 2
    assert [row["conversation_id"] for row in exported(KEY)] == ids  # stable: analysts group
    assert not set(ids) & {row["conversation_id"] for row in exported(b"another key")}
    with session_scope(events) as session:
        write_parquet(conversation_rows(PERIOD, Filters(), session=session, key=KEY),
                      tmp_path / "p.parquet")
    assert pq.read_table(tmp_path / "p.parquet").column("conversation_id").to_pylist() == ids
