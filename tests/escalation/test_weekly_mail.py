"""The weekly report as mail: rendering (Italian, escaped, empty sections left out),
queueing once per week, the due check on a controlled clock, and delivery through the
outbox sender to a real SMTP server."""

import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from analytics.metrics import EntryVotes
from analytics.models import InteractionEvent
from analytics.weekly import TrendItem, build_weekly_report, due_week, iso_week
from core import Settings, session_scope, utcnow
from escalation.models import OutboxMessage
from escalation.outbox import send_due
from escalation.weekly_mail import (
    day_range,
    enqueue_weekly_report,
    queue_due_report,
    render_weekly_report,
    run_weekly_reporter,
)
from tests.analytics.test_metrics import local

W44 = date(2026, 10, 26)
MONDAY_9 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # 09:00 in Rome: W44's report is due
MARKETING = ["marketing@bottega-aurora.example", "direzione@bottega-aurora.example"]
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def settings_for(tmp_path, url, port=1025, **fields) -> Settings:
    return Settings(var_dir=tmp_path, database_url=url, secret_key="test-secret",
                    smtp_host="127.0.0.1", smtp_port=port, marketing_emails=MARKETING, **fields)


def build(url, week=W44):
    with session_scope(url) as session:
        return build_weekly_report(week, session=session, today=date(2026, 11, 2), now=MONDAY_9)


def outbox(url) -> list[OutboxMessage]:
    with session_scope(url) as session:
        return list(session.query(OutboxMessage).order_by(OutboxMessage.id))


def test_the_report_reads_in_italian_with_the_changes(dataset, tmp_path):
    url, _ = dataset
    mail = render_weekly_report(build(url), settings=settings_for(
        tmp_path, url, public_url="https://assistenza.example/"))
    assert mail.subject == ("Report settimanale Bottega Aurora: settimana 2026-W44 "
                            "(26 ottobre – 1 novembre 2026)")
    text = mail.text
    assert "Domande dei clienti" in text and "3 | 5 | ▼ −2 (−40%)" in text
    assert "33,3% (1 su 3) | 60,0% | ▼ −26,7 pp" in text  # deflection
    assert "— | 50,0% | —" in text  # helpful share: no thumbs this week, so no change either
    assert "Voto medio di fine chat" in text
    assert "3,0 / 5 (1 valutazione) | 3,0 / 5 | = invariato" in text
    assert "Risposte apprese riutilizzate" in text and "1 | 0 | ▲ +1" in text
    assert "1. do you ship to mars: 2 (▲ +2)" in text
    assert "LACUNE DELLA BASE DI CONOSCENZA" in text
    assert "Nessuna conversazione" not in text
    assert "ARGOMENTI DI TENDENZA" not in text and "PRIMA DELL'ACQUISTO" not in text
    assert "POCO UTILI" not in text  # no thumbs-down this week
    assert "Dashboard: https://assistenza.example/dashboard" in text
    assert 'href="https://assistenza.example/dashboard"' in mail.html
    assert "<table" in mail.html and "<style" not in mail.html and "class=" not in mail.html
    # a fall of the escalation rate is good news: green; a fall of deflection: red
    assert "color: #1a7f37; white-space: nowrap;\">▼ −40,0 pp" in mail.html
    assert "color: #b42318; white-space: nowrap;\">▼ −26,7 pp" in mail.html


def test_an_empty_week_still_renders(database_url, tmp_path):
    report = build(database_url)
    mail = render_weekly_report(report, settings=settings_for(tmp_path, database_url))
    for body in (mail.text, mail.html):
        assert "Nessuna conversazione in questa settimana." in body
        assert "domande più frequenti" not in body.lower()  # an empty section is left out
        assert "dashboard" not in body.lower()  # no public address, no link
    assert "Conversazioni" in mail.text and "0 | 0 | = invariato" in mail.text


def test_customer_text_is_escaped_in_html(database_url, tmp_path):
    with session_scope(database_url) as session:
        session.add(InteractionEvent(occurred_at=local("2026-10-27T10:00"), kind="message",
                                     conversation_id="h", text=HOSTILE, decision="escalate"))
    report = replace(build(database_url),
                     topics=(TrendItem(HOSTILE, 3, 1),), products=(TrendItem("<b>borsa</b>", 2),),
                     top_questions=(TrendItem(HOSTILE, 1, 1),),
                     unhelpful=(EntryVotes(1, "<i>key</i>", 2, 0),))
    mail = render_weekly_report(report, settings=settings_for(tmp_path, database_url))
    assert "<script" not in mail.html and "<img" not in mail.html and "<b>borsa" not in mail.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in mail.html
    assert "&lt;b&gt;borsa&lt;/b&gt;" in mail.html and "&lt;i&gt;key&lt;/i&gt;" in mail.html
    assert HOSTILE in mail.text  # plain text shows it as it was written
    assert "Argomenti di tendenza questa settimana" in mail.html
    assert "Prodotti e categorie più chiesti prima dell&#39;acquisto" in mail.html
    # from the log, the question is folded (punctuation dropped) before it is ranked
    logged = render_weekly_report(build(database_url), settings=settings_for(tmp_path,
                                                                             database_url))
    assert "script alert x script img src x onerror alert 1" in logged.html
    assert "<script" not in logged.html


def test_a_week_is_queued_once(dataset, tmp_path):
    url, _ = dataset
    settings = settings_for(tmp_path, url)
    report = build(url)
    for _ in range(2):
        with session_scope(url) as session:
            enqueue_weekly_report(report, MARKETING, session=session, settings=settings,
                                  now=MONDAY_9)
    assert queue_due_report(url, settings, now=MONDAY_9) is None  # already there
    [row] = outbox(url)
    assert (row.kind, row.dedupe_key, row.ticket_id) == ("weekly_report", "weekly-report:2026-W44",
                                                         None)
    assert row.to_addrs == MARKETING and row.status == "pending"
    assert row.message_id == "<weekly-report.2026-W44@bottega-aurora.example>"


def test_the_due_check_queues_last_week_once_it_is_due(dataset, tmp_path):
    url, _ = dataset
    settings = settings_for(tmp_path, url)
    sunday_night = local("2026-11-01T23:59")  # W44 is not over: W43's report is the due one
    row = queue_due_report(url, settings, now=sunday_night)
    assert row is not None and row.dedupe_key == "weekly-report:2026-W43"
    assert queue_due_report(url, settings, now=local("2026-11-02T07:59")) is None
    row = queue_due_report(url, settings, now=local("2026-11-02T08:00"))
    assert row is not None and row.dedupe_key == "weekly-report:2026-W44"
    assert queue_due_report(url, settings, now=local("2026-11-04T12:00")) is None  # a restart
    assert [r.dedupe_key for r in outbox(url)] == ["weekly-report:2026-W43",
                                                   "weekly-report:2026-W44"]
    nobody = settings.model_copy(update={"marketing_emails": []})
    assert queue_due_report(url, nobody, now=local("2026-11-09T09:00")) is None
    assert len(outbox(url)) == 2


def test_the_sender_delivers_both_parts_to_the_marketing_list(dataset, tmp_path,
                                                               smtp_server):
    url, _ = dataset
    capture, port = smtp_server
    settings = settings_for(tmp_path, url, port)
    assert queue_due_report(url, settings, now=MONDAY_9) is not None
    assert send_due(url, settings, now=MONDAY_9) == 1
    [mail] = capture.messages
    assert mail["To"] == ", ".join(MARKETING)
    assert mail["Subject"].startswith("Report settimanale Bottega Aurora: settimana 2026-W44")
    assert mail["Message-ID"] == "<weekly-report.2026-W44@bottega-aurora.example>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "do you ship to mars" in text and "do you ship to mars" in html
    assert "<table" in html and "<table" not in text
    [row] = outbox(url)
    assert row.status == "sent"


def test_the_loop_queues_the_due_report_and_stops(database_url, tmp_path):
    stop = threading.Event()
    loop = threading.Thread(target=run_weekly_reporter, args=(
        database_url, settings_for(tmp_path, database_url), stop), kwargs={"interval_s": 0.05})
    loop.start()
    deadline = time.monotonic() + 20
    while not outbox(database_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # a few more rounds: still one row
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive()
    assert [r.dedupe_key for r in outbox(database_url)] == [
        f"weekly-report:{iso_week(due_week(utcnow()))}"]


@pytest.mark.parametrize(("start", "end", "text"), [
    (date(2026, 11, 16), date(2026, 11, 22), "16–22 novembre 2026"),
    (date(2026, 11, 30), date(2026, 12, 6), "30 novembre – 6 dicembre 2026"),
    (date(2025, 12, 29), date(2026, 1, 4), "29 dicembre 2025 – 4 gennaio 2026"),
])
def test_day_ranges_in_italian(start, end, text):
    assert day_range(start, end) == text
