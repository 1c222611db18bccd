"""The commands that read the conversation log: `supportbot report`, `weekly-report`,
`export-conversations`, `analytics refresh` (the dashboard's labels) and `demo-traffic`
(a simulated history to read)."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import DEMO_KB, fail, migrated_database, open_knowledge_base
from core import ensure_secret_key, get_settings, session_scope
from knowledge import repository as repo

analytics_app = typer.Typer(help="The dashboard's question labels: purchase stage, topics.",
                            no_args_is_help=True)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        fail(f"{name} must be a date as YYYY-MM-DD, got {value!r}")


def _percent(part: float | None, detail: str = "") -> str:
    return "-" if part is None else f"{part:.1%}{detail}"


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} min"


def report(
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default today).")
                   ] = None,
    language: Annotated[str | None, typer.Option(help="Only this language.")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel, e.g. socketio.")] = None,
) -> None:
    """Key figures for a range of local days (default: the last 7 days)."""
    from analytics.learning_curve import learning_curve, text_rows
    from analytics.metrics import summary
    from core import utcnow

    period, filters = _period_and_filters(start, end, language, channel)
    with session_scope(migrated_database()) as session:
        s = summary(period, filters, session=session)
        curve = learning_curve(period, filters, session=session,
                               today=utcnow().astimezone(period.zone).date())
    rows = [
        ("period", f"{period.start} .. {period.end} ({period.timezone})"),
        ("filters", f"language={language or 'all'}, channel={channel or 'all'}"),
        ("conversations", str(s.conversations)),
        ("questions", str(s.questions)),
        ("answered", str(s.answered)),
        ("deflection rate", _percent(s.deflection_rate, f" ({s.deflected} of {s.questions})")),
        ("escalation rate", _percent(s.escalation_rate, f" ({s.escalated})")),
        ("clarify rate", _percent(s.clarify_rate, f" ({s.clarified})")),
        ("thumbs up / down", f"{s.thumbs_up} / {s.thumbs_down}"),
        ("helpful share", _percent(s.helpful_share)),
        ("tickets opened", str(s.tickets)),
        ("SLA compliance", _percent(s.sla_compliance, f" ({s.sla_met} of {s.sla_due} due)")),
        ("first response p50", _minutes(s.first_response_p50_min)),
        ("first response p90", _minutes(s.first_response_p90_min)),
        ("ticket to learned p50", _minutes(s.learning_p50_min)),
        ("learned answers reused", str(s.learned_reuse)),
        ("end-of-chat ratings", str(s.ratings)),
        ("rating average", "-" if s.rating_average is None else f"{s.rating_average:.2f} of 5"),
        *text_rows(curve),  # does learning pay off (analytics.learning_curve)
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name:<{width}}  {value}")


def _period_and_filters(start: str | None, end: str | None, language: str | None,
                        channel: str | None):
    """The period (default: the 7 local days ending `end` or today) and filters, or exit 2."""
    from analytics.period import AnalyticsError, Filters, Period
    from core import utcnow

    first, last = _day(start, "--from"), _day(end, "--to")
    try:
        period = Period.last_days(7, today=last or utcnow().astimezone(get_settings().zone).date())
        if first:
            period = Period(first, period.end, period.timezone)
        return period, Filters(language=language, channel=channel)
    except AnalyticsError as exc:
        fail(str(exc))


def weekly_report(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: the "
                                                "last complete week).")] = None,
    send: Annotated[bool, typer.Option("--send", help="Queue it for SUPPORTBOT_MARKETING_EMAILS "
                                       "(once per week).")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML mail to FILE.")
                    ] = None,
) -> None:
    """The weekly marketing report: print its text, write its HTML, or queue it for the
    marketing list (the running product sends it; it also queues it by itself each week)."""
    from analytics.period import AnalyticsError
    from analytics.weekly import build_weekly_report, last_complete_week, parse_iso_week
    from core import utcnow
    from escalation.weekly_mail import enqueue_weekly_report, queued_report, render_weekly_report

    settings, now = get_settings(), utcnow()
    today = now.astimezone(settings.zone).date()
    try:
        monday = parse_iso_week(week) if week is not None else last_complete_week(today)
    except AnalyticsError as exc:
        fail(f"--week: {exc}")
    if send and not settings.marketing_emails:
        fail("nobody to send it to: set SUPPORTBOT_MARKETING_EMAILS, e.g. "
              "'[\"marketing@example.com\"]'")
    queued = None
    with session_scope(migrated_database()) as session:
        report = build_weekly_report(monday, session=session, today=today, now=now)
        mail = render_weekly_report(report, settings=settings)
        if send and (queued := queued_report(monday, session=session)) is None:
            enqueue_weekly_report(report, settings.marketing_emails, session=session,
                                  settings=settings, now=now)
    if html:
        html.write_text(mail.html, encoding="utf-8")
        typer.echo(f"HTML of {report.iso_week} written to {html}", err=True)
    if send and queued is not None:
        typer.echo(f"the report of {report.iso_week} was queued already ({queued.status}); "
                   "not queued again")
    elif send:
        typer.echo(f"the report of {report.iso_week} is queued for "
                   f"{', '.join(settings.marketing_emails)}; the running product's mail sender "
                   "delivers it")
    if not html and not send:
        typer.echo(mail.text, nl=False)


def export_conversations(
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="File (CSV: default stdout).")
                      ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    language: Annotated[str | None, typer.Option(help="Only this language.")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
) -> None:
    """One row per conversation for BI tools (CSV cells are spreadsheet-safe)."""
    from analytics.export import conversation_rows, write_csv, write_parquet

    if fmt not in ("csv", "parquet"):
        fail(f"unknown format {fmt!r}; use csv or parquet")
    if fmt == "parquet" and output is None:
        fail("a Parquet export needs --output FILE")
    period, filters = _period_and_filters(start, end, language, channel)
    ensure_secret_key(get_settings())  # pseudonyms of conversation ids are keyed with it
    with session_scope(migrated_database()) as session:
        rows = conversation_rows(period, filters, session=session)
        if fmt == "parquet":
            count = write_parquet(rows, output)
        elif output is None:
            count = write_csv(rows, sys.stdout)
        else:
            with open(output, "w", encoding="utf-8", newline="") as out:
                count = write_csv(rows, out)
    typer.echo(f"{count} conversations exported ({period.start} .. {period.end})", err=True)


def demo_traffic(
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days back.")] = 90,
    per_day: Annotated[int, typer.Option(min=1, max=10_000, help="Conversations a day.")] = 60,
    seed: Annotated[int, typer.Option(help="Same seed, same traffic.")] = 1,
) -> None:
    """Fill the database with a simulated quarter of chat traffic, tickets and feedback."""
    from bot.demo_traffic import simulate

    url = migrated_database()
    with session_scope(url) as session:
        if repo.stats(session=session)["entries"] == 0:
            from knowledge.importer import import_file

            import_file(DEMO_KB, session=session, author="demo")
    with session_scope(url) as session:
        counts = simulate(session, days=days, per_day=per_day, seed=seed)
    typer.echo(f"simulated {counts['conversations']} conversations, {counts['questions']} "
               f"questions, {counts['tickets']} tickets over {days} days")
    # The simulated history is complete: label it now, not after the settling time.
    _refresh_insights(recluster=True, settle=timedelta(0))


def _refresh_insights(*, recluster: bool, settle: timedelta | None = None) -> None:
    from analytics.freshness import explain
    from bot.jobs.insights_job import InsightsRefresher

    settings = get_settings()
    refresher = InsightsRefresher(migrated_database(), open_knowledge_base().embedder,
                                  settings.var_dir / "models")
    result = (refresher.run_once(recluster=recluster) if settle is None
              else refresher.run_once(recluster=recluster, settle=settle))
    why = explain(result.labelled, result.backlog) if result.backlog else ""
    typer.echo(f"dashboard labels: {result.labelled} questions labelled, {result.topics} topics"
               + (" (found again)" if result.reclustered else "") + (f": {why}" if why else ""))


@analytics_app.command("refresh")
def analytics_refresh(
    recluster: Annotated[bool, typer.Option(help="Find the topics again now.")] = False,
) -> None:
    """Label the questions logged since the last run (the running product does this every
    few minutes); --recluster finds the topics again (it does that weekly by itself)."""
    _refresh_insights(recluster=recluster)
