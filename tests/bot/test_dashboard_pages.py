"""The marketing dashboard's pages: who may open them, what they show for a seeded log,
filters, drill-down and pagination, exports, and bad or hostile input."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from analytics.models import EventKind, InteractionEvent
from analytics.period import report_zone
from bot.console.auth import set_account, users_file
from bot.jobs.insights_job import InsightsRefresher
from core import session_scope, utcnow
from tests.bot.console_fixtures import HOSTILE

MARKETING, MARKETING_PASSWORD = "mk@shop.example", "marketing password"
PII = "scrivetemi a mario.rossi@example.com o al 333 123 4567"


def seed(url: str, refresher: InsightsRefresher) -> None:
    """Yesterday: 4 Italian and 2 English questions on product pages; one hostile, one with
    personal data; 60 more questions on the cart page for pagination."""
    at = utcnow() - timedelta(days=1)
    rows = [("Quanto costa la spedizione?", "it", "product:stivali", "answer"),
            ("Quanto costa la spedizione in Sicilia?", "it", "product:stivali", "answer"),
            (f"Avete la taglia 42? {HOSTILE}", "it", "product:stivali", "escalate"),
            (f"Il reso è gratis? {PII}", "it", "order:status", "answer"),
            ("=HYPERLINK(\"http://evil.example\")", "en", "product:borsa", "clarify"),
            ("How much is shipping?", "en", "product:borsa", "answer")]
    rows += [(f"Domanda numero {i} sul carrello", "it", "cart", "answer") for i in range(60)]
    with session_scope(url) as session:
        for i, (text, language, page, decision) in enumerate(rows):
            common = dict(conversation_id=f"conv-{i}", language=language, channel="socketio",
                          page=page)
            session.add(InteractionEvent(kind=EventKind.CONVERSATION_START.value,
                                         occurred_at=at, **common))
            session.add(InteractionEvent(kind=EventKind.MESSAGE.value, occurred_at=at,
                                         text=text, decision=decision, **common))
    refresher.run_once(recluster=True)


def numbers(page: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}">([^<]*)<', page).group(1)


# -- who may see what ---------------------------------------------------------------------
def test_signing_in_is_required_and_remembers_the_page(console):
    response = console.client.get("/dashboard/topics?language=it")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/dashboard/topics%3Flanguage%3Dit"
    assert console.client.get("/dashboard/static/chart.umd.min.js").status_code == 303


def test_marketing_sees_the_dashboard_but_not_the_console(dashboard):
    for path in ("/console", "/console/kb", "/console/mail", "/console/tickets/1"):
        refused = dashboard.client.get(path)
        assert refused.status_code == 403, path
        assert 'href="/dashboard"' in refused.text and "Coda" not in refused.text
    assert dashboard.client.get("/dashboard").status_code == 200


def test_operators_land_on_the_console_and_may_read_the_dashboard(dashboard):
    dashboard.client.cookies.clear()
    assert dashboard.login().headers["location"] == "/console"
    page = dashboard.client.get("/dashboard")
    assert page.status_code == 200 and 'href="/console">Console' in page.text


def test_a_changed_role_applies_at_the_next_click(dashboard):
    assert dashboard.client.get("/console").status_code == 403
    set_account(users_file(dashboard.settings), MARKETING, MARKETING_PASSWORD, "operator")
    assert dashboard.client.get("/console").status_code == 200


# -- what the pages show ------------------------------------------------------------------
def test_the_overview_counts_the_seeded_questions_and_a_filter_changes_them(dashboard):
    page = dashboard.client.get("/dashboard").text
    assert numbers(page, "kpi-questions") == "66" and numbers(page, "kpi-conversations") == "66"
    english = dashboard.client.get("/dashboard?language=en").text
    assert numbers(english, "kpi-questions") == "2"
    charts = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>',
                       page, re.DOTALL).group(1)
    assert '"chart-volume"' in charts and "<script>" not in charts  # JSON, escaped
    assert 'src="/dashboard/static/chart.umd.min.js"' in page


def test_questions_are_escaped_and_scrubbed_of_personal_data(dashboard):
    everything = ""
    before = None
    while True:
        page = dashboard.client.get("/dashboard/questions", params={"before": before} if before
                                    else {}).text
        everything += page
        more = re.search(r'href="([^"]+)" data-testid="more"', page)
        if not more:
            break
        before = re.search(r"before=([\d_-]+)", more.group(1).replace("&amp;", "&")).group(1)
    assert "Il reso è gratis?" in everything
    assert "<script>alert" not in everything and "&lt;script&gt;alert" in everything
    assert "mario.rossi@example.com" not in everything and "333 123 4567" not in everything
    assert everything.count("sul carrello") == 60  # every question once over the pages


def test_topics_and_exports_show_no_personal_data(dashboard):
    pages = dashboard.client.get("/dashboard/topics").text
    for link in set(re.findall(r'href="(/dashboard/topics/\d+)[^"]*"', pages)):
        pages += dashboard.client.get(link).text
    pages += dashboard.client.get("/dashboard/export.csv").text
    assert "Il reso è gratis?" in pages  # the question itself is there, its author is not
    assert "mario.rossi@example.com" not in pages and "333 123 4567" not in pages


def test_products_drill_down_to_their_questions(dashboard):
    page = dashboard.client.get("/dashboard/purchase").text
    link = re.search(r'href="(/dashboard/questions\?[^"]*subject=stivali[^"]*)"', page)
    assert link, page
    questions = dashboard.client.get(link.group(1).replace("&amp;", "&")).text
    assert "Quanto costa la spedizione?" in questions and "How much is shipping?" not in questions


def test_topics_drill_down_to_their_questions(dashboard):
    page = dashboard.client.get("/dashboard/topics").text
    links = re.findall(r'href="(/dashboard/topics/\d+)[^"]*"', page)
    assert links
    found = "".join(dashboard.client.get(link).text for link in set(links))
    assert "Quanto costa la spedizione in Sicilia?" in found
    assert dashboard.client.get("/dashboard/topics/999999").status_code == 404
    assert dashboard.client.get("/dashboard/topics/abc").status_code == 404


def test_the_quality_page_lists_gaps(dashboard):
    page = dashboard.client.get("/dashboard/quality").text
    assert "avete la taglia 42" in page  # the escalated question is a gap
    assert "<script>alert" not in page


# -- exports ------------------------------------------------------------------------------
def test_csv_export_is_one_row_per_conversation_and_spreadsheet_safe(dashboard):
    response = dashboard.client.get("/dashboard/export.csv")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 66
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values()
                   if value)


def test_parquet_export_reads_back(dashboard, tmp_path):
    response = dashboard.client.get("/dashboard/export.parquet?language=en")
    assert response.status_code == 200
    path = tmp_path / "out.parquet"
    path.write_bytes(response.content)
    assert pq.read_table(path).num_rows == 2


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("query, message", [
    ("from=2026-05-01&to=2026-04-01", "finisce prima di cominciare"),
    ("from=1900-01-01&to=2026-01-01", "fuori dall"),
    ("from=2020-01-01&to=2026-01-01", "al massimo 5 anni"),
    ("from=yesterday", "AAAA-MM-GG"),
    ("from=" + "9" * 5000, "AAAA-MM-GG"),
    ("language=xx", "Lingua sconosciuta"),
    ("channel=%3Cscript%3E", "Canale sconosciuto"),
    ("colour=red", "Filtro sconosciuto"),
    ("before=-1", "segnalibro"),
    ("before=2026-01-01_x", "segnalibro"),
    ("before=2026-13-01_5", "segnalibro"),
    ("from=2026W471", "AAAA-MM-GG"),
    ("subject=stivali%00", "prodotto o della categoria"),
    ("subject=" + "x" * 300, "prodotto o della categoria"),
])
def test_bad_filters_get_a_clear_page(dashboard, query, message):
    response = dashboard.client.get(f"/dashboard/questions?{query}")
    assert response.status_code == 400
    assert message in response.text and "<script>" not in response.text


def test_a_bad_comment_page_number_is_refused(dashboard):
    for offset in ("-3", "abc", "9" * 30):
        response = dashboard.client.get(f"/dashboard/quality?offset={offset}")
        assert response.status_code == 400 and "numero di pagina" in response.text


def test_the_stage_filter_is_validated(dashboard):
    response = dashboard.client.get("/dashboard/topics?stage=buying")
    assert response.status_code == 400 and "Fase sconosciuta" in response.text


def test_an_empty_period_says_so(dashboard):
    today = utcnow().astimezone(report_zone()).date()
    page = dashboard.client.get(f"/dashboard?from={today + timedelta(days=10)}"
                                f"&to={today + timedelta(days=12)}").text
    assert 'data-testid="no-data"' in page and numbers(page, "kpi-questions") == "0"
    topics = dashboard.client.get(f"/dashboard/topics?from={today + timedelta(days=10)}"
                                  f"&to={today + timedelta(days=12)}").text
    assert 'data-testid="no-topics"' in topics


def test_the_average_rating_is_written_the_italian_way(dashboard):
    at = utcnow()  # today: yesterday's figures were summed when the fixture refreshed
    with session_scope(dashboard.url) as session:
        for i, score in enumerate((4, 5)):
            session.add(InteractionEvent(kind=EventKind.RATING.value, occurred_at=at,
                                         conversation_id=f"conv-{i}", language="it",
                                         channel="socketio", data={"rating": score}))
    page = dashboard.client.get("/dashboard").text
    assert numbers(page, "kpi-rating") == "4,5"
