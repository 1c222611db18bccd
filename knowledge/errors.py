"""Errors of the knowledge base. Each carries a message fit for the person who caused it."""

from __future__ import annotations

from core import SupportBotError


class KnowledgeError(SupportBotError):
    """Base class for knowledge-base errors."""


class InvalidQuestion(KnowledgeError):
    """The question cannot be searched (empty, too long, not text)."""


class InvalidEntry(KnowledgeError):
    """An entry would break a rule (no questions, unknown language, ...)."""


class CalibrationImpossible(KnowledgeError, ValueError):
    """The knowledge base is too small to calibrate thresholds on; the defaults stay."""


class EntryNotFound(KnowledgeError):
    """No entry has the given id or key."""


class ImportRejected(KnowledgeError):
    """An import file has problems; nothing of it was written."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{source}: rejected, nothing imported. Problems:\n{listed}{more}")
