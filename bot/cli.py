"""The `supportbot` command line."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError

from bot.catalogue_cli import catalogue_app
from core import SupportBotError, get_settings, session_scope
from knowledge import repository as repo
from knowledge.formats import WRITERS

app = typer.Typer(help="Self-learning customer-support chatbot.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
kb_app = typer.Typer(help="Manage the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
gdpr_app = typer.Typer(help="Export or erase what is stored about a customer; retention.",
                       no_args_is_help=True)
app.add_typer(gdpr_app, name="gdpr")
analytics_app = typer.Typer(help="The dashboard's question labels: purchase stage, topics.",
                            no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")
app.add_typer(catalogue_app, name="catalogue")

DEMO_KB = Path(__file__).resolve().parent.parent / "data" / "demo_kb.yaml"


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _database() -> str:
    from migrations import upgrade

    url = get_settings().resolved_database_url
    upgrade(url)
    return url


def _knowledge_base():
    from knowledge.service import KnowledgeBase

    return KnowledgeBase(get_settings())


@kb_app.command("import")
def kb_import(
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON, YAML, Markdown or Rasa files.")],
    fmt: Annotated[Optional[str], typer.Option("--format", help="csv|json|yaml|markdown|rasa")] = None,
    language: Annotated[Optional[str], typer.Option(help="Language for files that lack one.")] = None,
    author: Annotated[str, typer.Option(help="Recorded as the author of the change.")] = "import",
) -> None:
    """Import files: each is one transaction; a bad file is rejected with every problem listed."""
    from knowledge.importer import import_file

    url = _database()
    for path in files:
        with session_scope(url) as session:
            report = import_file(path, session=session, fmt=fmt, language=language, author=author,
                                 max_bytes=get_settings().max_import_bytes)
        typer.echo(str(report))


@kb_app.command("export")
def kb_export(
    fmt: Annotated[str, typer.Option("--format", help="csv|json|yaml|markdown|rasa")] = "yaml",
    output: Annotated[Optional[Path], typer.Option("--output", "-o")] = None,
    status: Annotated[Optional[str], typer.Option(help="Only entries with this status.")] = None,
) -> None:
    """Export the knowledge base (all entries, or one status)."""
    if fmt not in WRITERS:
        _fail(f"unknown format {fmt!r}; use one of {', '.join(WRITERS)}")
    with session_scope(_database()) as session:
        entries = repo.list_entries(session=session, status=status, limit=10**9)
        text = WRITERS[fmt](entries)
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{len(entries)} entries written to {output}")
    else:
        sys.stdout.write(text)


@kb_app.command("list")
def kb_list(
    status: Annotated[Optional[str], typer.Option()] = None,
    language: Annotated[Optional[str], typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """List entries, one a line."""
    with session_scope(_database()) as session:
        for e in repo.list_entries(session=session, status=status, language=language,
                                   limit=limit, offset=offset):
            typer.echo(f"{e.id:>6}  {e.language:<5} {e.status.value:<9} {e.category.value:<13} "
                       f"{e.key[:40]:<40}  {e.questions[0].text[:60]}")


@kb_app.command("show")
def kb_show(ref: Annotated[str, typer.Argument(help="Entry id or key.")]) -> None:
    """Show one entry with its questions, provenance and version history."""
    with session_scope(_database()) as session:
        e = repo.get_entry(ref, session=session)
        typer.echo(f"#{e.id} {e.key}  [{e.language}, {e.category.value}, {e.topic or '-'}, "
                   f"{e.status.value}, v{e.version}]")
        typer.echo(f"source: {e.source.value} {e.source_ref}".rstrip()
                   + (f" (ticket {e.ticket_id})" if e.ticket_id else ""))
        typer.echo(f"created {e.created_at:%Y-%m-%d %H:%M} by {e.created_by or '-'}; "
                   f"updated {e.updated_at:%Y-%m-%d %H:%M} by {e.updated_by or '-'}; "
                   f"review by {e.review_by or '-'}")
        typer.echo("questions:")
        for q in e.questions:
            typer.echo(f"  - {q.text}")
        typer.echo(f"answer:\n  {e.answer}")
        typer.echo("history:")
        for v in repo.versions_of(e.id, session=session):
            typer.echo(f"  v{v.version} {v.changed_at:%Y-%m-%d %H:%M} {v.changed_by or '-'}: {v.reason}")


@kb_app.command("search")
def kb_search(
    question: Annotated[str, typer.Argument()],
    language: Annotated[Optional[str], typer.Option(help="Prefer entries in this language.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the knowledge base a question and see the decision."""
    _database()
    kb = _knowledge_base()
    decision = kb.search(question, language=language)
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps(asdict(decision), ensure_ascii=False, indent=2))
        return
    typer.echo(f"{decision.kind.value.upper()}  (best score {decision.score:.3f}, "
               f"{decision.latency_ms:.0f} ms)")
    for c in decision.candidates:
        typer.echo(f"  {c.score:.3f}  #{c.entry_id} {c.key}: {c.matched_question}")
    if decision.entry:
        typer.echo(f"\n{decision.entry.answer}")


@kb_app.command("reindex")
def kb_reindex() -> None:
    """Rebuild the search index from the database."""
    _database()
    version = _knowledge_base().reindex()
    typer.echo(f"index rebuilt at KB version {version}")


@kb_app.command("calibrate")
def kb_calibrate() -> None:
    """Train the confidence model on the KB (and the recent log) and show what it expects."""
    from bot.recalibration import recalibrate
    from knowledge.confidence import calibration_error

    _database()
    model = recalibrate(_knowledge_base())
    e = model.expected
    logged = e.get("log_questions", 0)
    typer.echo(
        f"confidence model version {model.version}: answer when P(right) >= {model.answer_at:.3f}, "
        f"clarify when P(right entry among the buttons) >= {model.clarify_at:.2f}\n"
        f"unanswerable questions: {model.unanswerable_share:.0%} "
        f"({f'estimated from {logged} logged questions' if logged else 'assumed: no log yet'})\n"
        f"expected: {e['answer']:.1%} answered, {e['wrong']:.1%} wrong "
        f"(budget {model.budget:.1%}), {e['clarify']:.1%} clarify, {e['escalate']:.1%} escalated; "
        f"{e['resolved']:.1%} of answerable questions resolved\n"
        f"probes: {e['probes']['variant']} hidden questions, {e['probes']['entry']} of hidden "
        f"entries, {e['probes']['bank']} unanswerable from the bundled bank, "
        f"{e['probes']['log']} outcomes from the log\n\n"
        f"reliability of P(right) (ECE {calibration_error(model.reliability):.3f}):\n"
        f"  P(right)   probes  mean P  share right")
    for row in model.reliability:
        if row["count"]:
            typer.echo(f"  {row['bin']:<9}  {row['count']:>6}  {row['mean']:>6.3f}  {row['right']:>11.3f}")


@kb_app.command("stats")
def kb_stats() -> None:
    """Counts by status, language and category; reviews overdue."""
    with session_scope(_database()) as session:
        typer.echo(json.dumps(repo.stats(session=session), indent=2))


@app.command("eval")
def eval_command(
    kb: Annotated[Path, typer.Option("--kb", exists=True, dir_okay=False,
                                     help="JSON Lines {text, label}: each label is an entry.")],
    queries: Annotated[Path, typer.Option("--queries", exists=True, dir_okay=False,
                                          help="JSON Lines {text, label}; label 'oos' must escalate.")],
    embedder: Annotated[Optional[str], typer.Option(help="Defaults to the configured embedder.")] = None,
    hybrid: Annotated[bool, typer.Option(help="Fuse BM25 with dense retrieval.")] = True,
    target: Annotated[Optional[float], typer.Option(
        min=0.001, max=0.2, help="Wrong-answer budget; default: the setting.")] = None,
    shots: Annotated[int, typer.Option(min=0, help="Questions kept per label; 0 = all.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the --shots sample.")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Measure answer/clarify/escalate quality on labelled questions."""
    from knowledge.eval_curves import format_curves
    from knowledge.evaluation import evaluate

    report = evaluate(kb, queries, embedder=embedder or get_settings().resolved_embedder, hybrid=hybrid,
                      target_wrong_rate=target, shots=shots, seed=seed).as_dict()
    if as_json:
        typer.echo(json.dumps(report))
        return
    for name, value in report.items():
        if name not in ("reliability", "coverage_risk"):
            typer.echo(f"{name:>20}: {value}")
    if report["short_labels"]:
        typer.echo(f"{len(report['short_labels'])} labels had fewer than {shots} questions "
                   "and keep all they have (short_labels)")
    typer.echo("\n".join(format_curves(report)))


@app.command("replay")
def replay_command(
    kb: Annotated[Path, typer.Option("--kb", exists=True, dir_okay=False, help=(
        "JSON Lines {text, label[, answer]}: the shop's topics; some are seeded as its FAQ."))],
    stream: Annotated[Path, typer.Option("--stream", exists=True, dir_okay=False, help=(
        "JSON Lines {text, label}: the customers' questions; label 'oos' has no answer."))],
    seed_share: Annotated[float, typer.Option(min=0.0, max=1.0, help=(
        "Share of the KB file's labels in the starting FAQ."))] = 0.5,
    seed_per_label: Annotated[int, typer.Option(min=1, help=(
        "Questions per seeded label (the FAQ's ways of asking)."))] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the FAQ sample and the stream's order.")] = 0,
    limit: Annotated[int, typer.Option(min=0, help="Replay at most this many questions; 0 = all.")] = 0,
    language: Annotated[str, typer.Option(help="The language of the KB's entries.")] = "other",
    embedder: Annotated[Optional[str], typer.Option(help="Defaults to the configured embedder.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Replay a stream of questions through the whole loop (answer, escalate, operator's
    answer, learning) and report how the bot learns."""
    from bot.replay import format_report, replay

    report = replay(kb, stream, embedder=embedder or get_settings().resolved_embedder,
                    language=language, seed_share=seed_share, seed_per_label=seed_per_label,
                    seed=seed, limit=limit)
    typer.echo(json.dumps(report) if as_json else "\n".join(format_report(report)))


@app.command("run")
def run(
    host: Annotated[Optional[str], typer.Option()] = None,
    port: Annotated[Optional[int], typer.Option(min=1, max=65535)] = None,
    rasa_port: Annotated[Optional[int], typer.Option(min=1, max=65535)] = None,
    workers: Annotated[Optional[int], typer.Option(
        min=1, max=32, help="Rasa and app processes behind a local HAProxy (more than one "
        "needs PostgreSQL and Redis); default SUPPORTBOT_WORKERS, 1.")] = None,
) -> None:
    """Start the product: database, demo knowledge base, Rasa server, web app and chat."""
    from bot.server import serve

    if (count := workers or get_settings().workers) > 1:
        from bot.cluster import serve_cluster

        serve_cluster(host=host, port=port, rasa_port=rasa_port, workers=count, demo_kb=DEMO_KB)
        return
    serve(host=host, port=port, rasa_port=rasa_port, demo_kb=DEMO_KB)


@app.command("chat")
def chat(
    url: Annotated[Optional[str], typer.Option(help="Rasa server; defaults to the configured one.")] = None,
    sender: Annotated[Optional[str], typer.Option(help="Conversation id (default: a new one).")] = None,
) -> None:
    """Talk to the running bot from the terminal (empty line or Ctrl-D ends)."""
    from bot.terminal_chat import chat_loop

    settings = get_settings()
    chat_loop(url or f"http://{settings.host}:{settings.rasa_port}", sender)


@app.command("console-user")
def console_user(
    email: Annotated[str, typer.Argument(help="The operator's email: their login.")],
    role: Annotated[str, typer.Option(help="Role in the operator console.")] = "operator",
    password: Annotated[str, typer.Option(prompt=True, confirmation_prompt=True, hide_input=True,
                                          help="Asked for when not given.")] = ...,
) -> None:
    """Create an operator console account, or set a new password for an existing one."""
    from bot.console.auth import AccountError, set_account, users_file

    path = users_file(get_settings())
    try:
        account = set_account(path, email, password, role)
    except AccountError as exc:
        _fail(str(exc))
    typer.echo(f"console account {account.email} ({account.role}) saved in {path}")


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        _fail(f"{name} must be a date as YYYY-MM-DD, got {value!r}")


def _percent(part: float | None, detail: str = "") -> str:
    return "-" if part is None else f"{part:.1%}{detail}"


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} min"


@app.command("report")
def report(
    start: Annotated[Optional[str], typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="Last day, YYYY-MM-DD (default today).")
                   ] = None,
    language: Annotated[Optional[str], typer.Option(help="Only this language.")] = None,
    channel: Annotated[Optional[str], typer.Option(help="Only this channel, e.g. socketio.")] = None,
) -> None:
    """Key figures for a range of local days (default: the last 7 days)."""
    from analytics.learning_curve import learning_curve, text_rows
    from analytics.metrics import summary
    from core import utcnow

    period, filters = _period_and_filters(start, end, language, channel)
    with session_scope(_database()) as session:
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
        period = Period.last_days(7, today=last or utcnow().astimezone(ZoneInfo("Europe/Rome")).date())
        if first:
            period = Period(first, period.end, period.timezone)
        return period, Filters(language=language, channel=channel)
    except AnalyticsError as exc:
        _fail(str(exc))


@app.command("weekly-report")
def weekly_report(
    week: Annotated[Optional[str], typer.Option(help="ISO week, e.g. 2026-W47 (default: the "
                                                "last complete week).")] = None,
    send: Annotated[bool, typer.Option("--send", help="Queue it for SUPPORTBOT_MARKETING_EMAILS "
                                       "(once per week).")] = False,
    html: Annotated[Optional[Path], typer.Option("--html", help="Write the HTML mail to FILE.")
                    ] = None,
) -> None:
    """The weekly marketing report: print its text, write its HTML, or queue it for the
    marketing list (the running product sends it; it also queues it by itself each week)."""
    from analytics.period import AnalyticsError
    from analytics.weekly import TIMEZONE, build_weekly_report, last_complete_week, parse_iso_week
    from core import utcnow
    from escalation.weekly_mail import enqueue_weekly_report, queued_report, render_weekly_report

    settings, now = get_settings(), utcnow()
    today = now.astimezone(ZoneInfo(TIMEZONE)).date()
    try:
        monday = parse_iso_week(week) if week is not None else last_complete_week(today)
    except AnalyticsError as exc:
        _fail(f"--week: {exc}")
    if send and not settings.marketing_emails:
        _fail("nobody to send it to: set SUPPORTBOT_MARKETING_EMAILS, e.g. "
              "'[\"marketing@example.com\"]'")
    queued = None
    with session_scope(_database()) as session:
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


@app.command("export-conversations")
def export_conversations(
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File (CSV: default stdout).")
                      ] = None,
    start: Annotated[Optional[str], typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    language: Annotated[Optional[str], typer.Option(help="Only this language.")] = None,
    channel: Annotated[Optional[str], typer.Option(help="Only this channel.")] = None,
) -> None:
    """One row per conversation for BI tools (CSV cells are spreadsheet-safe)."""
    from analytics.export import conversation_rows, write_csv, write_parquet

    if fmt not in ("csv", "parquet"):
        _fail(f"unknown format {fmt!r}; use csv or parquet")
    if fmt == "parquet" and output is None:
        _fail("a Parquet export needs --output FILE")
    period, filters = _period_and_filters(start, end, language, channel)
    with session_scope(_database()) as session:
        rows = conversation_rows(period, filters, session=session)
        if fmt == "parquet":
            count = write_parquet(rows, output)
        elif output is None:
            count = write_csv(rows, sys.stdout)
        else:
            with open(output, "w", encoding="utf-8", newline="") as out:
                count = write_csv(rows, out)
    typer.echo(f"{count} conversations exported ({period.start} .. {period.end})", err=True)


@app.command("demo-traffic")
def demo_traffic(
    days: Annotated[int, typer.Option(min=1, max=366, help="How many days back.")] = 90,
    per_day: Annotated[int, typer.Option(min=1, max=10_000, help="Conversations a day.")] = 60,
    seed: Annotated[int, typer.Option(help="Same seed, same traffic.")] = 1,
) -> None:
    """Fill the database with a simulated quarter of chat traffic, tickets and feedback."""
    from bot.demo_traffic import simulate

    url = _database()
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
    from bot.insights_job import InsightsRefresher

    settings = get_settings()
    refresher = InsightsRefresher(_database(), _knowledge_base().embedder,
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


@gdpr_app.command("export")
def gdpr_export(
    customer: Annotated[str, typer.Argument(help="Conversation id or email address.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o")] = None,
) -> None:
    """Everything stored about one customer, as JSON."""
    from bot.gdpr import export_customer, find_customer
    from bot.rasa_tracker import TrackerStore

    tracker = TrackerStore.of(get_settings())
    with session_scope(_database()) as session:
        data = export_customer(find_customer(customer, session=session, tracker=tracker),
                               session=session, tracker=tracker)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"written to {output}")
    else:
        typer.echo(text)


@gdpr_app.command("erase")
def gdpr_erase(
    customer: Annotated[str, typer.Argument(help="Conversation id or email address.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    by: Annotated[str, typer.Option(help="Recorded on the tickets as who erased.")] = "gdpr",
) -> None:
    """Erase one customer's interactions, contact and questions; learned entries are unlinked."""
    from bot.gdpr import erase_customer, find_customer, wipe_deleted
    from bot.rasa_tracker import TrackerStore

    tracker = TrackerStore.of(get_settings())
    with session_scope(_database()) as session:
        found = find_customer(customer, session=session, tracker=tracker)
        if not yes:
            _fail(f"this erases {len(found.conversations)} conversation(s) and "
                  f"{len(found.ticket_ids)} ticket(s) of {customer!r}; add --yes to confirm")
        result = erase_customer(found, session=session, by=by, tracker=tracker,
                                var_dir=get_settings().var_dir)
    wipe_deleted(_database())
    typer.echo(json.dumps(result))


@gdpr_app.command("purge")
def gdpr_purge(
    months: Annotated[Optional[int], typer.Option(min=1, max=240, help="Default: the retention "
                                                  "setting (24).")] = None,
) -> None:
    """Delete interaction events and Rasa tracker events older than the retention period."""
    from bot.gdpr import purge_before
    from bot.rasa_tracker import TrackerStore
    from core import utcnow

    months = months or get_settings().retention_months
    cutoff = utcnow() - timedelta(days=round(months * 30.44))
    with session_scope(_database()) as session:
        deleted = purge_before(cutoff, session=session)
    typer.echo(f"{deleted} interaction events older than {months} months deleted")
    tracker = TrackerStore.of(get_settings())
    if missing := tracker.missing:
        typer.echo(f"{missing}: nothing to purge there")
    else:
        typer.echo(f"{tracker.purge_before(cutoff)} Rasa tracker events older than {months} "
                   "months deleted")


def main() -> None:
    """Entry point: expected errors become one red line and exit code 2, never a traceback."""
    try:
        app()  # standalone: click reports usage errors and exits with their code
    except SupportBotError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except ValidationError as exc:  # a setting (environment or .env) the product refuses
        for problem in exc.errors():
            name = "SUPPORTBOT_" + "_".join(map(str, problem["loc"])).upper()
            typer.secho(f"error: setting {name} ({'.'.join(map(str, problem['loc']))}): "
                        f"{problem['msg']}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
