"""The marketing dashboard in real headless Chromium, served by the real app over HTTP from
a seeded database: marketing signs in, the charts draw (their screenshots are checked for
ink), a filter changes the figures, and a click on a bar drills down to its questions."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image

from analytics.models import EventKind, InteractionEvent
from bot.app import create_app
from bot.console.auth import set_account, users_file
from bot.conversation.assistant import Assistant
from bot.jobs.insights_job import InsightsRefresher
from core import session_scope, utcnow
from tests.bot.axe import describe, violations
from tests.bot.console_fixtures import served

pytestmark = [pytest.mark.browser]

EMAIL, PASSWORD = "marketing@shop.example", "a long marketing password"
QUESTIONS = {  # text, language, page; the numbers below count them
    ("Quanto costa la spedizione?", "it", "product:stivali"): 9,
    ("Avete la taglia 42 degli stivali?", "it", "product:stivali"): 4,
    ("La borsa è in vera pelle?", "it", "product:borsa-aurora"): 5,
    ("Dov'è il mio ordine?", "it", "order:status"): 3,
    ("How much is shipping?", "en", "product:stivali"): 2,
    ("Where is my order?", "en", "order:status"): 1,
}


@pytest.fixture
def dashboard_url(kb, tmp_path, monkeypatch):
    monkeypatch.delenv("SUPPORTBOT_CONSOLE_USERS", raising=False)
    set_account(users_file(kb.settings), EMAIL, PASSWORD, "marketing")
    url = kb.settings.resolved_database_url
    n = 0
    with session_scope(url) as session:
        for day in range(14):
            at = utcnow() - timedelta(days=day, hours=1)
            for (text, language, page), times in QUESTIONS.items():
                for _ in range(times if day % 2 == 0 else 1):
                    n += 1
                    common = dict(conversation_id=f"b-{n}", language=language, page=page,
                                  channel="socketio", occurred_at=at)
                    session.add(InteractionEvent(kind=EventKind.CONVERSATION_START.value, **common))
                    session.add(InteractionEvent(kind=EventKind.MESSAGE.value, text=text,
                                                 decision="answer", **common))
                    if n % 5 == 0:
                        session.add(InteractionEvent(kind=EventKind.RATING.value,
                                                     data={"rating": 1 + n % 5 + (n % 3 > 0),
                                                           "comment": ""}, **common))
    InsightsRefresher(url, kb.embedder, tmp_path / "models").run_once(recluster=True)
    with served(create_app(Assistant(kb.settings, kb))) as base:
        yield base


def inked(png: bytes) -> float:
    """The share of the image's pixels in colour: bars, slices and lines are drawn in the
    palette's saturated colours; an empty chart has only grey axes, grid and text."""
    saturation = Image.open(io.BytesIO(png)).convert("RGB").convert("HSV").split()[1]
    histogram = saturation.histogram()
    return sum(histogram[100:]) / sum(histogram)


def charts_ready(page) -> None:
    page.wait_for_selector("body[data-charts-ready='1']", timeout=15_000)


def kpi(page, name: str) -> str:
    return page.locator(f"[data-testid=kpi-{name}]").inner_text()


def test_marketing_sees_living_charts_filters_them_and_drills_down(page, dashboard_url):
    page.goto(dashboard_url + "/dashboard")
    assert "/console/login" in page.url
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    charts_ready(page)
    canvases = page.locator("canvas")
    assert canvases.count() == 3
    for i in range(canvases.count()):
        canvas = canvases.nth(i)
        assert canvas.get_attribute("data-drawn") == "1"
        assert inked(canvas.screenshot()) > 0.05, canvas.get_attribute("id")
    # 7 days with the full set (24 questions) and 7 with one of each (6): 210 in all
    assert kpi(page, "questions") == "210"

    page.select_option("select[name=language]", "en")
    page.click("text=Aggiorna")
    page.wait_for_url("**language=en**")
    charts_ready(page)
    assert kpi(page, "questions") == str(7 * 3 + 7 * 2)
    assert inked(page.locator("#chart-volume").screenshot()) > 0.01

    page.goto(dashboard_url + "/dashboard?from=2030-01-01&to=2030-01-31")  # nothing logged
    charts_ready(page)
    assert inked(page.locator("#chart-volume").screenshot()) < 0.005  # legend swatches only

    page.goto(dashboard_url + "/dashboard/purchase")
    charts_ready(page)
    assert inked(page.locator("#chart-products").screenshot()) > 0.01
    # the first bar is the most asked product; clicking it opens its questions
    box = page.locator("#chart-products").bounding_box()
    label, x, y = page.evaluate("""() => {
        const chart = Chart.getChart(document.getElementById('chart-products'));
        const bar = chart.getDatasetMeta(0).data[0];
        return [chart.data.labels[0], bar.x - 5, bar.y];
    }""")
    assert label == "Stivali"  # a product's name, not its slug
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url("**/dashboard/questions**subject=stivali**")
    rows = page.locator("[data-testid=questions] tbody tr")
    assert rows.count() > 0
    texts = rows.all_inner_texts()
    assert any("Quanto costa la spedizione?" in t for t in texts)
    assert not any("La borsa" in t for t in texts)


def sign_in(page, dashboard_url: str, path: str = "/dashboard") -> None:
    page.goto(dashboard_url + path)
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**" + path)
    charts_ready(page)


def test_a_click_anywhere_on_a_topic_row_or_enter_on_its_link_opens_it(page, dashboard_url):
    sign_in(page, dashboard_url, "/dashboard/topics")
    row = page.locator("[data-testid=topic-row]").first
    href = row.locator("a.row-link").get_attribute("href")
    opened = re.compile(re.escape(href.split("?")[0]) + r"\?")
    # a click on the count, not the name: the row's link covers the whole row, so the
    # mouse lands on it (Playwright's element click would refuse, as the link is on top)
    row.scroll_into_view_if_needed()
    box = row.locator("td").nth(1).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(opened)
    page.go_back()
    charts_ready(page)
    page.locator("[data-testid=topic-row] a.row-link").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(opened)


def test_the_pie_chart_tooltip_gives_the_count_and_the_share(page, dashboard_url):
    sign_in(page, dashboard_url)
    page.locator("#chart-stages").scroll_into_view_if_needed()
    box = page.locator("#chart-stages").bounding_box()
    x, y, count = page.evaluate("""() => {
        const chart = Chart.getChart(document.getElementById('chart-stages'));
        const data = chart.data.datasets[0].data;
        const i = data.findIndex((n) => n > 0);
        const arc = chart.getDatasetMeta(0).data[i].tooltipPosition();
        return [arc.x, arc.y, data[i]];
    }""")
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = "Chart.getChart(document.getElementById('chart-stages')).tooltip"
    page.wait_for_function(f"() => {tooltip}.opacity > 0 && !!{tooltip}.body")
    lines = page.evaluate(f"() => {tooltip}.body.flatMap((b) => b.lines)")
    assert len(lines) == 1 and f": {count} (" in lines[0] and "%)" in lines[0], lines


def test_the_partial_week_is_drawn_dashed(page, dashboard_url):
    sign_in(page, dashboard_url, "/dashboard/topics")
    label, last, before = page.evaluate("""() => {
        const chart = Chart.getChart(document.getElementById('chart-topics'));
        const last = chart.data.labels.length - 1;
        const dash = chart.data.datasets[0].segment.borderDash;
        return [chart.data.labels[last], dash({p1DataIndex: last}) || null,
                dash({p1DataIndex: 1}) || null];
    }""")
    assert label.endswith("(parziale)") and last == [6, 4] and before is None


def test_the_dashboard_pages_have_no_serious_accessibility_violations(page, dashboard_url):
    sign_in(page, dashboard_url)
    found = violations(page)
    assert not found, describe(found)
    for path in ("/dashboard/purchase", "/dashboard/quality", "/dashboard/topics"):
        page.goto(dashboard_url + path)
        if path != "/dashboard/quality":  # the one page without charts
            charts_ready(page)
        found = violations(page)
        assert not found, path + "\n" + describe(found)
    page.locator("[data-testid=topic-row] a.row-link").first.click()
    page.wait_for_url("**/dashboard/topics/*")
    charts_ready(page)
    page.locator("[data-testid=topic-tools] summary").click()  # the rename and merge forms
    found = violations(page)
    assert not found, describe(found)


def test_the_dashboard_shows_figures_right_after_demo_traffic(page, kb, monkeypatch):
    """`supportbot demo-traffic`, as a new user runs it, then the dashboard at once: figures,
    drawn charts, no "no data yet" notice (it used to show 0 questions for 30 minutes)."""
    from tests.bot.test_cli_report import run

    monkeypatch.delenv("SUPPORTBOT_CONSOLE_USERS", raising=False)
    set_account(users_file(kb.settings), EMAIL, PASSWORD, "marketing")
    with session_scope(kb.settings.resolved_database_url) as session:  # the chat, tried first
        session.add(InteractionEvent(kind=EventKind.MESSAGE.value, conversation_id="tried",
                                     text="Quanto costa la spedizione?", decision="answer",
                                     language="it", channel="socketio"))
    done = run(kb.settings.var_dir, kb.settings.resolved_database_url, "demo-traffic",
               "--days", "3", "--per-day", "5")
    assert done.returncode == 0, done.stderr
    with served(create_app(Assistant(kb.settings, kb))) as base:
        page.goto(base + "/dashboard")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")
        charts_ready(page)
        assert int(kpi(page, "questions").replace(".", "")) > 0
        assert page.locator("[data-testid=no-data]").count() == 0
