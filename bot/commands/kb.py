"""`supportbot kb ...` (manage the knowledge base) and the commands that measure it:
`supportbot eval` on labelled questions, `supportbot replay` through the whole loop."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import fail, migrated_database, open_knowledge_base
from core import get_settings, session_scope
from knowledge import repository as repo
from knowledge.formats import WRITERS

kb_app = typer.Typer(help="Manage the knowledge base.", no_args_is_help=True)


@kb_app.command("import")
def kb_import(
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON, YAML, Markdown or Rasa files.")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv|json|yaml|markdown|rasa")] = None,
    language: Annotated[str | None, typer.Option(help="Language for files that lack one.")] = None,
    author: Annotated[str, typer.Option(help="Recorded as the author of the change.")] = "import",
) -> None:
    """Import files: each is one transaction; a bad file is rejected with every problem listed."""
    from knowledge.importer import import_file

    url = migrated_database()
    for path in files:
        with session_scope(url) as session:
            report = import_file(path, session=session, fmt=fmt, language=language, author=author,
                                 max_bytes=get_settings().max_import_bytes)
        typer.echo(str(report))


@kb_app.command("export")
def kb_export(
    fmt: Annotated[str, typer.Option("--format", help="csv|json|yaml|markdown|rasa")] = "yaml",
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    status: Annotated[str | None, typer.Option(help="Only entries with this status.")] = None,
) -> None:
    """Export the knowledge base (all entries, or one status)."""
    if fmt not in WRITERS:
        fail(f"unknown format {fmt!r}; use one of {', '.join(WRITERS)}")
    with session_scope(migrated_database()) as session:
        entries = repo.list_entries(session=session, status=status, limit=10**9)
        text = WRITERS[fmt](entries)
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{len(entries)} entries written to {output}")
    else:
        sys.stdout.write(text)


@kb_app.command("list")
def kb_list(
    status: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """List entries, one a line."""
    with session_scope(migrated_database()) as session:
        for e in repo.list_entries(session=session, status=status, language=language,
                                   limit=limit, offset=offset):
            typer.echo(f"{e.id:>6}  {e.language:<5} {e.status.value:<9} {e.category.value:<13} "
                       f"{e.key[:40]:<40}  {e.questions[0].text[:60]}")


@kb_app.command("show")
def kb_show(ref: Annotated[str, typer.Argument(help="Entry id or key.")]) -> None:
    """Show one entry with its questions, provenance and version history."""
    with session_scope(migrated_database()) as session:
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
            typer.echo(f"  v{v.version} {v.changed_at:%Y-%m-%d %H:%M} "
                       f"{v.changed_by or '-'}: {v.reason}")


@kb_app.command("search")
def kb_search(
    question: Annotated[str, typer.Argument()],
    language: Annotated[str | None, typer.Option(help="Prefer entries in this language.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the knowledge base a question and see the decision."""
    migrated_database()
    kb = open_knowledge_base()
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
    migrated_database()
    version = open_knowledge_base().reindex()
    typer.echo(f"index rebuilt at KB version {version}")


@kb_app.command("calibrate")
def kb_calibrate() -> None:
    """Train the confidence model on the KB (and the recent log) and show what it expects."""
    from bot.jobs.recalibration import recalibrate
    from knowledge.confidence import calibration_error

    migrated_database()
    model = recalibrate(open_knowledge_base())
    e = model.expected
    logged = e.get("log_questions", 0)
    typer.echo(
        f"confidence model version {model.version}: answer when P(right) >= {model.answer_at:.3f}, "
        f"clarify when P(right entry among the buttons) >= {model.clarify_at:.2f}\n"
        f"unanswerable questions: {model.unanswerable_share:.0%} "
        f"({f'estimated from {logged} logged questions' if logged else 'assumed: no log yet'})\n"
        f"expected: {e['answer']:.1%} answered, {e['wrong']:.1%} wrong "
        f"(at most {e.get('wrong_upper', e['wrong']):.1%} as far as the probes can tell; budget "
        f"{model.budget:.1%}), {e['clarify']:.1%} clarify, {e['escalate']:.1%} escalated; "
        f"{e['resolved']:.1%} of answerable questions resolved\n"
        f"probes: {e['probes']['variant']} hidden questions, {e['probes']['entry']} of hidden "
        f"entries, {e['probes']['bank']} unanswerable from the bundled bank, "
        f"{e['probes']['log']} outcomes from the log\n\n"
        f"reliability of P(right) (ECE {calibration_error(model.reliability):.3f}):\n"
        f"  P(right)   probes  mean P  share right")
    for row in model.reliability:
        if row["count"]:
            typer.echo(f"  {row['bin']:<9}  {row['count']:>6}  {row['mean']:>6.3f}  "
                       f"{row['right']:>11.3f}")


@kb_app.command("stats")
def kb_stats() -> None:
    """Counts by status, language and category; reviews overdue."""
    with session_scope(migrated_database()) as session:
        typer.echo(json.dumps(repo.stats(session=session), indent=2))


def eval_command(
    kb: Annotated[Path, typer.Option("--kb", exists=True, dir_okay=False,
                                     help="JSON Lines {text, label}: each label is an entry.")],
    queries: Annotated[Path, typer.Option("--queries", exists=True, dir_okay=False,
                                          help="JSON Lines {text, label}; label 'oos' "
                                               "must escalate.")],
    embedder: Annotated[str | None, typer.Option(
        help="Defaults to the configured embedder.")] = None,
    hybrid: Annotated[bool, typer.Option(help="Fuse BM25 with dense retrieval.")] = True,
    target: Annotated[float | None, typer.Option(
        min=0.001, max=0.2, help="Wrong-answer budget; default: the setting.")] = None,
    shots: Annotated[int, typer.Option(min=0, help="Questions kept per label; 0 = all.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the --shots sample.")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Measure answer/clarify/escalate quality on labelled questions."""
    from knowledge.eval_curves import format_curves
    from knowledge.evaluation import evaluate

    report = evaluate(kb, queries, embedder=embedder or get_settings().resolved_embedder,
                      hybrid=hybrid,
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
    limit: Annotated[int, typer.Option(
        min=0, help="Replay at most this many questions; 0 = all.")] = 0,
    language: Annotated[str, typer.Option(help="The language of the KB's entries.")] = "other",
    embedder: Annotated[str | None, typer.Option(
        help="Defaults to the configured embedder.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Replay a stream of questions through the whole loop (answer, escalate, operator's
    answer, learning) and report how the bot learns."""
    from bot.replay import format_report, replay

    report = replay(kb, stream, embedder=embedder or get_settings().resolved_embedder,
                    language=language, seed_share=seed_share, seed_per_label=seed_per_label,
                    seed=seed, limit=limit)
    typer.echo(json.dumps(report) if as_json else "\n".join(format_report(report)))
