"""What the `supportbot` command groups share: the demo FAQ, one-line errors, and the
database migrated before a command uses it."""

from __future__ import annotations

from pathlib import Path

import typer

from core import ensure_secret_key, get_settings

DEMO_KB = Path(__file__).resolve().parents[2] / "data" / "demo_kb.yaml"


def fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def migrated_database() -> str:
    """The product's database, migrated; and its secret key, as `supportbot run` would make
    it: a command that queues mail or writes pseudonyms signs with it."""
    from migrations import upgrade

    settings = get_settings()
    ensure_secret_key(settings)
    url = settings.resolved_database_url
    upgrade(url)
    return url


def open_knowledge_base():
    from knowledge.service import KnowledgeBase

    return KnowledgeBase(get_settings())
