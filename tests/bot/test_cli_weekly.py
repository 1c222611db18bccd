"""`supportbot weekly-report`, run as a subprocess the way an operator runs it."""

import json

import pytest

from core import session_scope
from escalation.models import OutboxMessage
from tests.bot.test_cli_report import run


def test_prints_writes_html_and_queues_once(dataset, tmp_path, monkeypatch):
    url, _ = dataset
    printed = run(tmp_path, url, "weekly-report", "--week", "2026-w44")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("Report settimanale dell'assistenza clienti")
    assert "Settimana 2026-W44: 26 ottobre – 1 novembre 2026" in printed.stdout
    assert "1. do you ship to mars: 2 (▲ +2)" in printed.stdout

    html = tmp_path / "report.html"
    written = run(tmp_path, url, "weekly-report", "--week", "2026-W44", "--html", str(html))
    assert written.returncode == 0 and written.stdout == ""
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    nobody = run(tmp_path, url, "weekly-report", "--week", "2026-W44", "--send")
    assert nobody.returncode == 2 and "SUPPORTBOT_MARKETING_EMAILS" in nobody.stderr

    monkeypatch.setenv("SUPPORTBOT_MARKETING_EMAILS", json.dumps(["marketing@shop.example"]))
    sent = run(tmp_path, url, "weekly-report", "--week", "2026-W44", "--send")
    assert sent.returncode == 0, sent.stderr
    assert "2026-W44 is queued for marketing@shop.example" in sent.stdout
    again = run(tmp_path, url, "weekly-report", "--week", "2026-W44", "--send")
    assert again.returncode == 0 and "queued already (pending)" in again.stdout
    with session_scope(url) as session:
        assert [r.dedupe_key for r in session.query(OutboxMessage)] == ["weekly-report:2026-W44"]


@pytest.mark.parametrize(("week", "words"), [
    ("2026-47", "written like 2026-W47"),
    ("2025-W53", "2025 has no week 53"),
    ("1999-W10", "between 2000 and 2100"),
    ("2099-W10", "can be made from"),  # not over yet
])
def test_bad_weeks_exit_2_with_one_line(tmp_path, week, words):
    result = run(tmp_path, f"sqlite:///{tmp_path / 'cli.db'}", "weekly-report", "--week", week)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and words in line, line
