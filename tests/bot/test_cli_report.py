"""`supportbot report`, run as a subprocess the way an operator runs it."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.models import InteractionEvent
from core import session_scope

SUPPORTBOT = Path(sys.executable).parent / "supportbot"


def run(var_dir, database_url, *args):
    env = {**os.environ, "SUPPORTBOT_VAR_DIR": str(var_dir), "SUPPORTBOT_EMBEDDER": "hashing",
           "SUPPORTBOT_DATABASE_URL": database_url, "NO_COLOR": "1"}
    command = ([str(SUPPORTBOT)] if SUPPORTBOT.exists()
               else [sys.executable, "-m", "bot.commands.main"])
    return subprocess.run(command + list(args), check=False, env=env, cwd=var_dir,
                          capture_output=True, text=True, timeout=120)


def table(result) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    columns = {len(line) - len(line.split("  ", 1)[1].lstrip()) for line in lines}
    assert len(columns) == 1, result.stdout  # every value starts in the same column
    return {name.strip(): value.strip() for name, value in (line.split("  ", 1) for line in lines)}


@pytest.fixture
def logged(database_url):
    """Two questions on 25 October 2026 (Rome): one answered, one escalated with a ticket."""
    at = datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    rows = [("c1", "message", "answer", {}), ("c2", "message", "escalate", {}),
            ("c2", "escalation", "", {"ticket_id": 1, "reason": "kb_escalate"})]
    with session_scope(database_url) as session:
        for conversation, kind, decision, data in rows:
            session.add(InteractionEvent(occurred_at=at, kind=kind, conversation_id=conversation,
                                         language="it", channel="socketio", text="Spedite?",
                                         decision=decision, data=data))
            session.flush()  # ids follow the order above, as in the live log
    return database_url


def test_report_prints_an_aligned_table(logged, tmp_path):
    result = run(tmp_path, logged, "report", "--from", "2026-10-20", "--to", "2026-10-26",
                 "--language", "it", "--channel", "socketio")
    figures = table(result)
    assert figures["period"] == "2026-10-20 .. 2026-10-26 (Europe/Rome)"
    assert figures["questions"] == "2"
    assert figures["deflection rate"] == "50.0% (1 of 2)"
    assert figures["escalation rate"] == "50.0% (1)"
    assert figures["helpful share"] == "-"
    english = table(run(tmp_path, logged, "report", "--from", "2026-10-20", "--to", "2026-10-26",
                        "--language", "en"))
    assert english["questions"] == "0" and english["deflection rate"] == "-"


def test_report_defaults_to_the_last_seven_days(database_url, tmp_path):
    figures = table(run(tmp_path, database_url, "report"))
    start, _, end = figures["period"].split()[:3]
    assert (datetime.fromisoformat(end) - datetime.fromisoformat(start)).days == 6
    assert figures["conversations"] == "0"


@pytest.mark.parametrize(("args", "words"), [
    (["--from", "2026-13-01"], ["--from", "YYYY-MM-DD"]),
    (["--to", "yesterday"], ["--to", "YYYY-MM-DD"]),
    (["--from", "2026-10-31", "--to", "2026-10-01"], ["before"]),
    (["--from", "2015-01-01", "--to", "2026-01-01"], ["5 years"]),
    (["--language", "klingon"], ["unknown language"]),
    (["--channel", "pigeon"], ["unknown channel"]),
])
def test_bad_arguments_exit_2_without_a_traceback(tmp_path, args, words):
    result = run(tmp_path, "", "report", *args)
    assert result.returncode == 2, result.stdout
    output = result.stderr + result.stdout
    assert "Traceback" not in output
    for word in words:
        assert word.lower() in output.lower(), output


def test_report_prints_the_ratings(logged, tmp_path):
    at = datetime(2026, 10, 25, 9, 5, tzinfo=UTC)
    with session_scope(logged) as session:
        for conversation, score in (("c1", 5), ("c2", 2), ("c3", 4)):
            session.add(InteractionEvent(occurred_at=at, kind="rating", language="it",
                                         conversation_id=conversation, channel="socketio",
                                         data={"rating": score, "comment": ""}))
    figures = table(run(tmp_path, logged, "report", "--from", "2026-10-20", "--to", "2026-10-26"))
    assert figures["end-of-chat ratings"] == "3"
    assert figures["rating average"] == "3.67 of 5"
    none = table(run(tmp_path, logged, "report", "--from", "2026-10-27", "--to", "2026-10-28"))
    assert (none["end-of-chat ratings"], none["rating average"]) == ("0", "-")


# -- does learning pay off: the learning curve by week -------------------------------------
def test_report_prints_the_learning_curve_by_week(logged, tmp_path):
    from knowledge.models import Entry, Source

    with session_scope(logged) as session:
        entry = Entry(key="it-spedite", answer="Sì, in tutta Europa.", language="it",
                      source=Source.OPERATOR, created_at=datetime(2026, 10, 26, 8, 0, tzinfo=UTC))
        session.add(entry)
        session.flush()
        for hour in (7, 9, 10):  # 7:00 UTC is before the entry was learned: not counted
            session.add(InteractionEvent(
                occurred_at=datetime(2026, 10, 26, hour, 0, tzinfo=UTC), kind="message",
                conversation_id=f"l{hour}", language="it", channel="socketio", text="Spedite?",
                decision="answer", entry_id=entry.id))
            session.flush()
    figures = table(run(tmp_path, logged, "report", "--from", "2026-10-20", "--to", "2026-10-26"))
    assert figures["learning curve"].startswith("by ISO week")
    assert figures["week 2026-W43 (partial)"] == (
        "2 questions; learned 0 (0.0% of questions, 0.0% of answers); 50.0 tickets per 100 (1); "
        "saved 0 (total 0)")
    assert figures["week 2026-W44 (partial)"] == (
        "3 questions; learned 2 (66.7% of questions, 66.7% of answers); 0.0 tickets per 100 (0); "
        "saved 2 (total 2)")
    whole = table(run(tmp_path, logged, "report", "--from", "2026-10-19", "--to", "2026-10-25"))
    assert "week 2026-W43" in whole and "(nothing learned from operators yet)" in \
        whole["learning curve"]


def test_report_says_why_the_learning_curve_is_empty(database_url, tmp_path):
    figures = table(run(tmp_path, database_url, "report", "--from", "2026-10-19",
                        "--to", "2026-10-25"))
    assert figures["learning curve"] == \
        "no questions in the period, nothing learned from operators yet"
    assert not any(name.startswith("week ") for name in figures)
