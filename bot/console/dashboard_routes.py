"""The marketing dashboard under /dashboard: key figures, topics and their weekly trend,
what people ask before buying, satisfaction and knowledge gaps, with drill-down to the
questions themselves and per-conversation exports for BI tools.

Pages read analytics' aggregates (analytics.dashboard, analytics.metrics); charts are drawn
in the browser by Chart.js from a JSON block the page carries (no inline script: the CSP
allows only our own files). Question texts are scrubbed of personal data before they are
shown: marketing reads what customers ask, not who they are.

Marketing may rename a topic and merge two (POST /dashboard/topics/{id}/rename|merge|split,
behind the console's CSRF check); what is stored, and how it outlives the weekly
re-clustering, is analytics.topic_names. An empty overview says why it is empty and when
it fills (analytics.freshness).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

import analytics
from analytics import dashboard as data
from analytics import export, freshness, rollup, topic_names
from analytics.learning_curve import learning_curve
from analytics.period import AnalyticsError, report_zone
from bot.console.auth import current_dashboard_user
from bot.console.dashboard_filters import (
    CHANNEL_NAMES,
    DECISION_NAMES,
    LANGUAGE_NAMES,
    STAGE_NAMES,
    BadFilter,
    View,
    view_of,
)
from bot.console.dashboard_products import product_section
from bot.console.deps import SessionDep
from bot.console.errors import NotFound
from bot.console.web import checked_form, config, flash, parse_id, redirect, render
from bot.jobs.insights_job import INTERVAL_S
from core import session_scope, utcnow
from knowledge.privacy import scrub

router = APIRouter(prefix="/dashboard", include_in_schema=False)
ROOT = Path(__file__).resolve().parents[2]
CHART_JS = ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"


def _page(request: Request, name: str, view: View, section: str, **context: Any) -> Response:
    return render(request, name, area="dashboard", section=section, view=view,
                  languages=LANGUAGE_NAMES, channels=CHANNEL_NAMES, stages=STAGE_NAMES,
                  decisions=DECISION_NAMES, subject_name=data.subject_name, **context)


def _url(request: Request) -> str:
    return config(request).database_url


def _masked(text: str) -> str:
    """Customers' words as the dashboard shows them: personal data masked."""
    return scrub(text or "")


# -- pages --------------------------------------------------------------------------------
@router.get("")
def overview(request: Request, session: SessionDep,
             user: str = Depends(current_dashboard_user)) -> Response:
    view = view_of(request)
    p, f = view.period, view.filters
    summary = data.key_figures(p, f, session=session)
    volume = data.daily_volume(p, f, session=session)
    stages = data.stage_totals(p, f, session=session)
    ratings = rollup.ratings(p, f, session=session)
    top = data.top_questions(p, f, session=session, limit=10)
    fresh = _freshness(session) if not summary.questions else None
    charts = [
        {"id": "chart-volume", "type": "bar", "stacked": True, "title": "Domande al giorno",
         "aspectRatio": 3,
         "labels": [d.strftime("%d/%m") for d in volume.days],
         "datasets": [{"label": DECISION_NAMES[k], "data": list(v)}
                      for k, v in volume.by_decision.items()]},
        {"id": "chart-stages", "type": "doughnut", "title": "Fase d'acquisto",
         "labels": [STAGE_NAMES[s] for s in stages],
         "datasets": [{"label": "Domande", "data": list(stages.values())}],
         "links": [view.link("/dashboard/questions", stage=s) for s in stages]},
        {"id": "chart-ratings", "type": "bar", "title": "Valutazioni di fine chat",
         "labels": [f"{'★' * score}" for score in ratings],
         "datasets": [{"label": "Chat", "data": list(ratings.values())}]},
    ]
    return _page(request, "dashboard/overview.html", view, "overview", s=summary,
                 top=[(_masked(q.text), q.count) for q in top], charts=charts, fresh=fresh)


def _freshness(session) -> dict[str, Any]:
    """Why the figures are still zero and when they fill (analytics.freshness)."""
    return {**freshness.status(session), "every": int(INTERVAL_S // 60)}


def _weeks(view: View) -> tuple[list[str], list[str], list[int]]:
    return data.week_axis(view.period, utcnow().astimezone(report_zone()).date())


@router.get("/topics")
def topics(request: Request, session: SessionDep,
           user: str = Depends(current_dashboard_user)) -> Response:
    view = view_of(request, stage_filter=True)
    stats = data.topic_overview(view.period, view.filters, session=session, stage=view.stage)
    weeks, labels, partial = _weeks(view)
    shown = stats[:8]
    charts = [{"id": "chart-topics", "type": "line", "title": "Domande per argomento e settimana",
               "aspectRatio": 3, "partial": partial,
               "labels": labels,
               "datasets": [{"label": t.label, "data": [t.weekly[w] for w in weeks]}
                            for t in shown],
               "links": [view.link(f"/dashboard/topics/{t.id}") for t in shown]}]
    return _page(request, "dashboard/topics.html", view, "topics", topics=stats, charts=charts)


@router.get("/topics/{topic_id}")
def topic_detail(request: Request, topic_id: str, session: SessionDep,
                 user: str = Depends(current_dashboard_user)) -> Response:
    number = parse_id(topic_id)
    view = view_of(request, stage_filter=True)
    before = _bookmark(request)
    topics, mapping = data.current_map(session)
    if number not in topics:
        raise NotFound(f"L'argomento {number} non esiste (gli argomenti vengono ricalcolati "
                       "ogni settimana: riparti dall'elenco).")
    if mapping.root(number) != number:  # merged into another: its page is that one
        return redirect(view.link(f"/dashboard/topics/{mapping.root(number)}"))
    stats = {t.id: t for t in data.topic_overview(view.period, view.filters,
                                                  session=session, stage=view.stage)}
    page = data.questions(view.period, view.filters, session=session,
                          topic_id=mapping.members(number), stage=view.stage, before=before)
    others = [(tid, data.display_name(topics[tid], mapping)) for tid in topics
              if tid != number and mapping.root(tid) == tid]
    found = topics[number]
    name = data.display_name(found, mapping)
    weeks, labels, partial = _weeks(view)
    stat = stats.get(number)
    charts = [{"id": "chart-topic", "type": "bar", "title": "Domande per settimana",
               "aspectRatio": 3.5, "partial": partial, "labels": labels,
               "datasets": [{"label": "Domande",
                             "data": [stat.weekly[w] if stat else 0 for w in weeks]}]}]
    return _page(request, "dashboard/topic.html", view, "topics", topic=found, topic_name=name,
                 renamed=number in mapping.names, merged=mapping.members(number)[1:],
                 others=sorted(others, key=lambda o: o[1].casefold()), stat=stat,
                 page=_rows(page), charts=charts,
                 more=view.link(f"/dashboard/topics/{number}", before=page.next_before)
                 if page.next_before else "")


@router.post("/topics/{topic_id}/{action}")
async def change_topic(request: Request, topic_id: str, action: str, session: SessionDep,
                       user: str = Depends(current_dashboard_user)) -> Response:
    """Rename a topic, merge another into it, or undo its merges: stored against the
    topics' centres, so they hold when topics are found again (analytics.topic_names)."""
    number = parse_id(topic_id)
    if action not in ("rename", "merge", "split"):
        raise NotFound("Azione sconosciuta.")
    form = await checked_form(request)
    root, message = await asyncio.to_thread(_change, session, number, action, form, user)
    flash(request, "ok", message)
    return redirect(f"/dashboard/topics/{root}")


def _change(session, number: int, action: str, form: dict[str, str], user: str
            ) -> tuple[int, str]:
    """(the topic whose page to show, what was done) for the topic `number` names."""
    topics, mapping = data.current_map(session)
    topic = topics.get(mapping.root(number)) if number in topics else None
    if topic is None:
        raise NotFound(f"L'argomento {number} non esiste più: riparti dall'elenco.")
    return topic.id, _apply(session, topics, mapping, topic, action, form, user)


def _apply(session, topics, mapping, topic, action: str, form: dict[str, str],
           user: str) -> str:
    if action == "rename":
        name = topic_names.clean_name(form.get("name", ""))
        topic_names.rename(session, topic, name, by=user)
        return f"Argomento rinominato «{name}»." if name else "Ripristinato il nome automatico."
    if action == "split":
        undone = topic_names.split(session, list(topics.values()), topic.id)
        return f"Separati {undone} argomenti uniti." if undone else "Nessun argomento da separare."
    other = topics.get(mapping.root(parse_id(form.get("other", ""))))
    if other is None or other.id == topic.id:
        raise BadFilter("Scegli un altro argomento da unire a questo.")
    topic_names.merge(session, topic, other, by=user)
    return f"«{data.display_name(other, mapping)}» ora conta sotto questo argomento."


@router.get("/questions")
def question_list(request: Request, session: SessionDep,
                  user: str = Depends(current_dashboard_user)) -> Response:
    view = view_of(request, stage_filter=True)
    subject, kind = _text_param(request, "subject"), _text_param(request, "kind")
    before = _bookmark(request)
    page = data.questions(view.period, view.filters, session=session, stage=view.stage,
                          subject=subject, subject_kind=kind, before=before)
    more = view.link("/dashboard/questions", subject=subject, kind=kind,
                     before=page.next_before)
    return _page(request, "dashboard/questions.html", view, "purchase" if subject else "overview",
                 subject=subject, kind=kind, page=_rows(page),
                 more=more if page.next_before else "")


@router.get("/purchase")
def purchase(request: Request, session: SessionDep,
             user: str = Depends(current_dashboard_user)) -> Response:
    view = view_of(request)
    p, f = view.period, view.filters
    products = data.subjects(p, f, session=session)
    weekly = data.stage_by_week(p, f, session=session)
    weeks, labels, partial = _weeks(view)
    charts = [
        {"id": "chart-products", "type": "bar", "horizontal": True,
         "title": "Prodotti e categorie più chiesti prima dell'acquisto",
         "labels": [data.subject_name(s.subject) for s in products],
         "datasets": [{"label": "Domande", "data": [s.questions for s in products]},
                      {"label": "Periodo precedente", "data": [s.previous for s in products]}],
         "links": [view.link("/dashboard/questions", subject=s.subject, kind=s.kind,
                             stage="pre_purchase") for s in products]},
        {"id": "chart-stage-weeks", "type": "bar", "stacked": True,
         "title": "Fase d'acquisto per settimana", "labels": labels, "partial": partial,
         "datasets": [{"label": STAGE_NAMES[s], "data": [counts[w] for w in weeks]}
                      for s, counts in weekly.items()]},
    ]
    return _page(request, "dashboard/purchase.html", view, "purchase", products=products,
                 charts=charts,
                 product_questions=product_section(view, _url(request), session=session))


@router.get("/quality")
def quality(request: Request, session: SessionDep,
            user: str = Depends(current_dashboard_user)) -> Response:
    view = view_of(request)
    p, f = view.period, view.filters
    offset = _offset(request)
    today = utcnow().astimezone(config(request).settings.zone).date()
    gaps = data.top_questions(p, f, session=session, limit=15, gaps_only=True)
    unhelpful = analytics.unhelpful_entries(p, f, session=session, limit=15)
    stale = analytics.stale_entries(session=session, today=today)
    learning = learning_curve(p, f, session=session, today=today)
    comments = analytics.rating_comments(p, f, session=session, limit=data.PAGE_SIZE + 1,
                                         offset=offset)
    more = len(comments) > data.PAGE_SIZE
    return _page(request, "dashboard/quality.html", view, "quality", learning=learning,
                 gaps=[(_masked(g.text), g.count) for g in gaps], unhelpful=unhelpful,
                 stale=stale[:50], stale_total=len(stale),
                 comments=[(c, _masked(c.text)) for c in comments[:data.PAGE_SIZE]],
                 more=view.link("/dashboard/quality", offset=offset + data.PAGE_SIZE)
                 if more else "")


def _text_param(request: Request, name: str) -> str | None:
    """A free-text filter (a product's name): bounded, and no control characters (a NUL
    would reach the database)."""
    text = request.query_params.get(name) or ""
    if len(text) > 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise BadFilter("Il nome del prodotto o della categoria non è valido.")
    return text or None


def _bookmark(request: Request) -> data.Bookmark | None:
    text = request.query_params.get("before")
    if not text:
        return None
    try:
        return data.Bookmark.parse(text)
    except AnalyticsError as exc:
        raise BadFilter("Il segnalibro di pagina non è valido: "
                        "riparti dalla prima pagina.") from exc


def _offset(request: Request) -> int:
    text = request.query_params.get("offset") or "0"
    if text.isascii() and text.isdigit() and len(text) < 9:
        return int(text)
    raise BadFilter("Il numero di pagina non è valido: riparti dalla prima pagina.")


def _rows(page: data.QuestionPage) -> data.QuestionPage:
    rows = tuple(data.QuestionRow(r.event_id, r.occurred_at, _masked(r.text), r.language,
                                  r.decision, r.stage) for r in page.rows)
    return data.QuestionPage(rows, page.total, page.next_before)


# -- exports and the chart library --------------------------------------------------------
@router.get("/export.csv")
def export_csv(request: Request, user: str = Depends(current_dashboard_user)) -> Response:
    """One row per conversation in the period, spreadsheet-safe; streamed page by page."""
    view = view_of(request)
    url = _url(request)
    key = config(request).settings.resolved_secret_key  # pseudonyms of conversation ids

    # Starlette runs a sync generator in a worker thread, chunk by chunk, after this function
    # has returned (and the request's session with it): the body reads in a session of its own.
    def chunks():
        with session_scope(url) as session:
            yield from export.csv_chunks(_scrubbed(
                export.conversation_rows(view.period, view.filters, session=session, key=key)))

    name = f"conversazioni-{view.period.start}-{view.period.end}.csv"
    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/export.parquet")
def export_parquet(request: Request, session: SessionDep,
                   user: str = Depends(current_dashboard_user)) -> Response:
    view = view_of(request)
    key = config(request).settings.resolved_secret_key  # pseudonyms of conversation ids
    handle = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)
    handle.close()
    path = Path(handle.name)
    try:
        export.write_parquet(_scrubbed(export.conversation_rows(
            view.period, view.filters, session=session, key=key)), path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    name = f"conversazioni-{view.period.start}-{view.period.end}.parquet"
    return FileResponse(path, media_type="application/vnd.apache.parquet", filename=name,
                        background=BackgroundTask(path.unlink, missing_ok=True))


def _scrubbed(rows):
    """Exports leave the app for BI tools: the first question goes scrubbed, as on the pages."""
    for row in rows:
        row.first_question = _masked(row.first_question)
        yield row


@router.get("/static/chart.umd.min.js")
def chart_js(user: str = Depends(current_dashboard_user)) -> Response:
    if not CHART_JS.exists():
        raise NotFound("Chart.js non è installato: esegui `make setup` (npm ci).")
    return FileResponse(CHART_JS, media_type="text/javascript",
                        headers={"Cache-Control": "max-age=86400"})
