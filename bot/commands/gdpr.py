"""`supportbot gdpr ...`: export or erase what is stored about a customer; retention."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import fail, migrated_database
from core import get_settings, session_scope

gdpr_app = typer.Typer(help="Export or erase what is stored about a customer; retention.",
                       no_args_is_help=True)


@gdpr_app.command("export")
def gdpr_export(
    customer: Annotated[str, typer.Argument(help="Conversation id or email address.")],
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Everything stored about one customer, as JSON."""
    from bot.conversation.rasa_tracker import TrackerStore
    from bot.gdpr import export_customer, find_customer

    tracker = TrackerStore.of(get_settings())
    with session_scope(migrated_database()) as session:
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
    from bot.conversation.rasa_tracker import TrackerStore
    from bot.gdpr import erase_customer, find_customer, wipe_deleted

    tracker = TrackerStore.of(get_settings())
    with session_scope(migrated_database()) as session:
        found = find_customer(customer, session=session, tracker=tracker)
        if not yes:
            fail(f"this erases {len(found.conversations)} conversation(s) and "
                  f"{len(found.ticket_ids)} ticket(s) of {customer!r}; add --yes to confirm")
        result = erase_customer(found, session=session, by=by, tracker=tracker,
                                var_dir=get_settings().var_dir)
    wipe_deleted(migrated_database())
    typer.echo(json.dumps(result))


@gdpr_app.command("purge")
def gdpr_purge(
    months: Annotated[int | None, typer.Option(min=1, max=240, help="Default: the retention "
                                                  "setting (24).")] = None,
) -> None:
    """Delete interaction events, candidate questions' votes and Rasa tracker events older
    than the retention period."""
    from bot.conversation.rasa_tracker import TrackerStore
    from bot.gdpr import purge_before
    from core import utcnow

    months = months or get_settings().retention_months
    cutoff = utcnow() - timedelta(days=round(months * 30.44))
    with session_scope(migrated_database()) as session:
        purged = purge_before(cutoff, session=session)
    typer.echo(f"{purged.interaction_events} interaction events, {purged.candidate_votes} "
               f"candidate votes and {purged.candidate_questions} pending candidate questions "
               f"older than {months} months deleted")
    tracker = TrackerStore.of(get_settings())
    if missing := tracker.missing:
        typer.echo(f"{missing}: nothing to purge there")
    else:
        typer.echo(f"{tracker.purge_before(cutoff)} Rasa tracker events older than {months} "
                   "months deleted")
