"""Errors of the catalogue. Each carries a message fit for the person who caused it:
a shop owner with a feed file, so every problem names its line (XML: its item)."""

from __future__ import annotations

from core import SupportBotError

SHOWN = 50  # problems listed in a message; the rest are counted


def _listed(problems: list[str]) -> str:
    lines = "\n".join(f"  - {p}" for p in problems[:SHOWN])
    more = len(problems) - SHOWN
    return lines + (f"\n  ... and {more} more" if more > 0 else "")


class CatalogueError(SupportBotError):
    """Base class for catalogue errors."""


class FeedError(CatalogueError):
    """A feed has problems; nothing of it was read (and so nothing imported)."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: rejected, nothing imported. Problems:\n"
                         f"{_listed(self.problems)}")


class ImportRejected(CatalogueError):
    """Products handed to the importer break a rule (duplicates, lengths); nothing written."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(f"import rejected, nothing written. Problems:\n{_listed(self.problems)}")
