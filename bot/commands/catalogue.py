"""`supportbot catalogue ...`: import a product feed, list and show the products."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import migrated_database
from core import session_scope

catalogue_app = typer.Typer(help="The product catalogue: import a feed, list, show.",
                            no_args_is_help=True)


def _rejected(problems: list[str], what: str) -> None:
    typer.secho(f"error: {what}; nothing stored. Problems:", fg=typer.colors.RED, err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(2)


@catalogue_app.command("import")
def catalogue_import(
    file: Annotated[Path, typer.Argument(help="CSV, Google Merchant TSV or XML feed.")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv|tsv|xml (default: from the "
                                               "file's suffix)")] = None,
    language: Annotated[str | None, typer.Option(help="it|en, for feeds without a "
                                                    "`language` column.")] = None,
    encoding: Annotated[str, typer.Option(help="The file's encoding, e.g. cp1252.")] = "utf-8",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; store "
                                          "nothing.")] = False,
) -> None:
    """Replace the catalogue of each language in the feed with it, in one transaction: a
    bad file is rejected with every problem and its line, and nothing is stored."""
    from catalogue.errors import FeedError, ImportRejected
    from catalogue.feeds import read_feed
    from catalogue.importer import import_products

    try:
        products = read_feed(file, format=fmt, language=language, encoding=encoding)
    except FeedError as exc:
        _rejected(exc.problems, f"{file} was rejected")
    try:
        with session_scope(migrated_database()) as session:
            report = import_products(products, session=session, source=file.name,
                                     dry_run=dry_run)
    except ImportRejected as exc:
        _rejected(exc.problems, f"{file} was rejected")
    typer.echo(str(report))


@catalogue_app.command("list")
def catalogue_list(
    language: Annotated[str | None, typer.Option(help="Only this language.")] = None,
) -> None:
    """One product a line: slug, language, variants, price, what is in stock, title."""
    from catalogue.records import Availability
    from catalogue.repository import catalogue_version, load_products

    with session_scope(migrated_database()) as session:
        products = load_products(session=session, language=language)
        version = catalogue_version(session=session)
    for p in products:
        prices = sorted(v.price for v in p.variants)
        in_stock = sum(v.availability is Availability.IN_STOCK for v in p.variants)
        price = f"{prices[0]}" + (f"-{prices[-1]}" if prices[-1] != prices[0] else "")
        typer.echo(f"{p.slug[:32]:<32} {p.language:<3} {len(p.variants):>3} variants "
                   f"{in_stock:>3} in stock  {price:>15} {p.currency}  {p.title[:60]}")
    typer.echo(f"{len(products)} products, catalogue version {version}", err=True)


@catalogue_app.command("show")
def catalogue_show(
    slug: Annotated[str, typer.Argument(help="The product's slug (item_group_id, else id).")],
    language: Annotated[str | None, typer.Option(help="Only this language.")] = None,
) -> None:
    """A product in each language: its fields and every variant."""
    from catalogue.repository import products_named

    with session_scope(migrated_database()) as session:
        found = [p for p in products_named(slug, session=session)
                 if language is None or p.language == language]
    if not found:
        typer.secho(f"error: no product {slug!r}" + (f" in {language!r}" if language else ""),
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    for p in found:
        _show(p)


def _show(p) -> None:
    def size(d) -> str:
        sides = (d.length, d.width, d.height)
        return " x ".join("?" if x is None else f"{x:g}" for x in sides) + " cm"

    typer.echo(f"{p.slug} [{p.language}] {p.title}")
    for name, value in (("category", p.category), ("material", p.material), ("care", p.care),
                        ("link", p.link), ("outside", size(p.outer)), ("inside", size(p.inner))):
        typer.echo(f"  {name + ':':<10} {value or '-'}")
    typer.echo("  description:")
    for line in (p.description or "-").splitlines():
        typer.echo(f"    {line}")
    typer.echo("  variants:")
    for v in p.variants:
        sale = f" (sale {v.sale_price})" if v.sale_price is not None else ""
        back = f", back {v.restock}" if v.restock else ""
        typer.echo(f"    {v.sku:<20} {v.colour or '-':<16} {v.size or '-':<8} {v.price} "
                   f"{p.currency}{sale}  {v.availability.value.replace('_', ' ')}{back}")


@catalogue_app.command("notes")
def catalogue_notes(
    slug: Annotated[str, typer.Argument(help="The product's slug.")],
    status: Annotated[str, typer.Option(help="published|draft|withdrawn")] = "published",
) -> None:
    """What operators taught about one product (their answers to its tickets): these answer
    that product's questions only, never another's."""
    from catalogue.notes import STATUSES, notes_for

    if status not in STATUSES:
        typer.secho(f"error: status must be one of {', '.join(STATUSES)}", fg=typer.colors.RED,
                    err=True)
        raise typer.Exit(2)
    with session_scope(migrated_database()) as session:
        notes = notes_for(slug, session=session, status=status)
    for note in notes:
        ticket = f"ticket {note.ticket_id}" if note.ticket_id else "no ticket"
        typer.echo(f"#{note.id} [{note.language}] {note.attribute or 'other'} ({ticket}, "
                   f"{note.created_at:%Y-%m-%d})\n  Q: {note.question}\n  A: {note.answer}")
    typer.echo(f"{len(notes)} {status} notes for {slug}", err=True)


@catalogue_app.command("note")
def catalogue_note(
    note_id: Annotated[int, typer.Argument(help="The note's number (see `catalogue notes`).")],
    publish: Annotated[bool, typer.Option("--publish", help="Publish a draft.")] = False,
    withdraw: Annotated[bool, typer.Option("--withdraw", help="Stop using a wrong note.")] = False,
) -> None:
    """Publish a note learned under review, or withdraw a wrong one."""
    from catalogue.notes import NoteError, set_status

    if publish == withdraw:
        typer.secho("error: say --publish or --withdraw", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    try:
        with session_scope(migrated_database()) as session:
            note = set_status(note_id, "published" if publish else "withdrawn", session=session)
    except NoteError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"note #{note.id} for {note.slug} is now {note.status}")
