"""What other packages read from the knowledge base's tables, as plain values: escalation
shows a ticket's transcript with the entries the customer clicked by their first question,
and calls this instead of querying `Question` itself (tests/knowledge/test_queries_contract.py
holds the contract).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.models import Question

__all__ = ["MAX_ENTRIES", "first_questions"]

MAX_ENTRIES = 100  # a transcript names a few entries; more ids than this are a forged input


def first_questions(entry_ids: Iterable[int], *, session: Session) -> dict[int, str]:
    """{entry id: its first question} (the one the buttons and answers stood for), for at
    most MAX_ENTRIES of the ids, the lowest; entries that do not exist are left out."""
    ids = sorted(set(entry_ids))[:MAX_ENTRIES]
    if not ids:
        return {}
    first = (select(Question.entry_id, func.min(Question.id).label("qid"))
             .where(Question.entry_id.in_(ids)).group_by(Question.entry_id).subquery())
    rows = session.execute(select(Question.entry_id, Question.text)
                           .join(first, first.c.qid == Question.id))
    return {entry_id: text for entry_id, text in rows}
