"""The marketing dashboard in real headless Chromium, served by the real app over HTTP from
a seeded database: marketing signs in, the charts draw (their screenshots are checked for
ink), a filter changes the figures, and a click on a bar drills down to its questions."""

from __future__ import annotations

import io
import socket
import threading
import time
from datetime import timedelta

import pytest
import uvicorn
from PIL import Image

from analytics.models import EventKind, InteractionEvent
from bot.app import create_app
from bot.assistant import Assistant
from bot.console.auth import USERS_ENV, set_account, users_file
from bot.insights_job import InsightsRefresher
from core import session_scope, utcnow

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dashboard_url(kb, tmp_path, monkeypatch):
    monkeypatch.delenv(USERS_ENV, raising=False)
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
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Assistant(kb.settings, kb)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


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
    assert label == "stivali"
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url("**/dashboard/questions**subject=stivali**")
    rows = page.locator("[data-testid=questions] tbody tr")
    assert rows.count() > 0
    texts = rows.all_inner_texts()
    assert any("Quanto costa la spedizione?" in t for t in texts)
    assert not any("La borsa" in t for t in texts)
