"""The dashboard's rough edges, fixed: an empty dashboard says why and when it fills,
topics carry readable names that marketing can change and merge (kept when topics are
found again), weeks under way are marked partial, products show names, not slugs."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from analytics.models import EventKind, InteractionEvent
from analytics.period import report_zone
from bot.console.auth import set_account, users_file
from bot.jobs.insights_job import InsightsRefresher
from core import session_scope, utcnow
from tests.bot.console_fixtures import CSRF
from tests.bot.test_dashboard_pages import MARKETING, MARKETING_PASSWORD, numbers

TOPIC_LINK = re.compile(r'<a class="row-link" href="/dashboard/topics/(\d+)[^"]*">([^<]*)</a>')


def charts(page: str) -> list[dict]:
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page,
                      re.DOTALL).group(1)
    return json.loads(block)


def marketing(console, models):
    set_account(users_file(console.settings), MARKETING, MARKETING_PASSWORD, "marketing")
    console.login(MARKETING, MARKETING_PASSWORD)
    return InsightsRefresher(console.url, console.assistant.kb.embedder, models)


def topics(client) -> dict[str, int]:
    """{name: topic id} from the topics page."""
    page = client.get("/dashboard/topics").text
    return {name: int(tid) for tid, name in TOPIC_LINK.findall(page)}


def post(client, path: str, **data):
    token = CSRF.search(client.get("/dashboard/topics").text).group(1)
    return client.post(path, data={"csrf_token": token, **data})


# -- an empty dashboard says why ----------------------------------------------------------
def test_a_dashboard_never_refreshed_says_so_and_how_to_fill_it(console, models):
    marketing(console, models)
    page = console.client.get("/dashboard").text
    assert numbers(page, "kpi-questions") == "0"
    assert "Nessuna domanda ancora" in page and "ogni 5 minuti" in page
    assert "non sono ancora mai" in page and "supportbot demo-traffic" in page


def test_questions_still_settling_are_announced_with_the_last_refresh(console, models):
    refresher = marketing(console, models)
    with session_scope(console.url) as session:
        session.add(InteractionEvent(kind=EventKind.MESSAGE.value, conversation_id="now",
                                     text="Quanto costa la spedizione?", language="it",
                                     channel="socketio", decision="answer"))
    refresher.run_once()
    page = console.client.get("/dashboard").text
    assert numbers(page, "kpi-questions") == "0"
    assert "ultimo aggiornamento:" in page
    waiting = re.search(r'data-testid="waiting-note">(.*?)</p>', page, re.DOTALL).group(1)
    assert "1 domanda registrata è" in waiting and "30 minuti" in waiting


def test_an_empty_period_with_labelled_questions_says_to_widen_it(dashboard):
    today = utcnow().astimezone(report_zone()).date()
    page = dashboard.client.get(f"/dashboard?from={today + timedelta(days=10)}"
                                f"&to={today + timedelta(days=12)}").text
    assert "allarga le date" in page and "ultimo aggiornamento:" in page
    assert "waiting-note" not in page


# -- topics -------------------------------------------------------------------------------
def test_topics_are_named_by_a_question_and_the_whole_row_is_a_link(dashboard):
    page = dashboard.client.get("/dashboard/topics").text
    names = topics(dashboard.client)
    assert names and all("?" in name or " " in name for name in names)  # questions, not lists
    assert page.count('data-testid="topic-row"') == len(names)
    assert 'href="/console/static/dashboard.css"' in page


def test_a_renamed_topic_keeps_its_name_when_topics_are_found_again(dashboard, models):
    first, tid = next(iter(topics(dashboard.client).items()))
    done = post(dashboard.client, f"/dashboard/topics/{tid}/rename", name="Spedizioni <b>")
    assert done.status_code == 303
    assert "Spedizioni &lt;b&gt;" in dashboard.client.get(done.headers["location"]).text
    InsightsRefresher(dashboard.url, dashboard.assistant.kb.embedder, models).run_once(
        recluster=True)
    InsightsRefresher(dashboard.url, dashboard.assistant.kb.embedder, models).run_once()
    after = topics(dashboard.client)
    assert "Spedizioni &lt;b&gt;" in after and after["Spedizioni &lt;b&gt;"] != tid
    assert first not in after


def test_a_merged_topic_counts_under_the_kept_one(dashboard):
    page = dashboard.client.get("/dashboard/topics").text
    counts = [int(n) for n in re.findall(r'</td>\s*<td>(\d+)</td>', page)]
    names = list(topics(dashboard.client).items())
    (_, keep_id), (gone, gone_id) = names[0], names[1]
    done = post(dashboard.client, f"/dashboard/topics/{keep_id}/merge", other=str(gone_id))
    assert done.status_code == 303
    after = dashboard.client.get("/dashboard/topics").text
    assert gone not in topics(dashboard.client)
    assert re.search(r'</td>\s*<td>(\d+)</td>', after).group(1) == str(counts[0] + counts[1])
    merged = dashboard.client.get(f"/dashboard/topics/{gone_id}")  # its page is the kept one
    assert merged.status_code == 303
    assert f"/dashboard/topics/{keep_id}" in merged.headers["location"]
    assert post(dashboard.client, f"/dashboard/topics/{keep_id}/split").status_code == 303
    assert gone in topics(dashboard.client)


def test_topic_changes_need_the_form_token_and_a_known_topic(dashboard):
    tid = next(iter(topics(dashboard.client).values()))
    assert dashboard.client.post(f"/dashboard/topics/{tid}/rename",
                                 data={"name": "x"}).status_code == 403
    assert post(dashboard.client, "/dashboard/topics/999999/rename", name="x").status_code == 404
    assert post(dashboard.client, f"/dashboard/topics/{tid}/explode").status_code == 404
    assert post(dashboard.client, f"/dashboard/topics/{tid}/merge",
                other=str(tid)).status_code == 400


# -- weeks and products -------------------------------------------------------------------
def test_the_week_under_way_is_marked_partial(dashboard):
    for path, chart in (("/dashboard/topics", 0), ("/dashboard/purchase", 1)):
        spec = charts(dashboard.client.get(path).text)[chart]
        assert spec["labels"][-1].endswith("(parziale)"), spec["labels"]
        assert len(spec["labels"]) - 1 in spec["partial"]


def test_products_show_names_not_slugs(dashboard):
    page = dashboard.client.get("/dashboard/purchase").text
    assert ">Stivali</a>" in page and ">stivali</a>" not in page
    assert "Stivali" in charts(page)[0]["labels"]
