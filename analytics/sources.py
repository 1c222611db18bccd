"""The columns analytics reads from other packages' tables, declared once, by name.

The figures join tickets and knowledge-base entries to the interaction log inside one SQL
aggregate (a year of traffic is never loaded into Python), so they need these tables as
SQL, not rows handed over by a read function. And analytics cannot import their models:
data flows `bot` -> `escalation` -> `analytics`, `knowledge`, `catalogue` -> `core` (the
README's layout), and escalation reads the interaction log (`analytics.queries`).

So this module is the contract: `READS` names every column used, with the value each
column is compared with, and tests/analytics/test_sources_contract.py fails when the
owning model (escalation.models, knowledge.models) renames, drops or retypes one of them
or stops storing one of those values.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["ENTRIES", "LEARNED", "OPERATOR", "PUBLISHED", "READS", "TICKETS", "TICKET_EVENTS",
           "learned_entries"]

_TZ, _INT, _STR, col = sa.DateTime(timezone=True), sa.Integer, sa.String, sa.column

# escalation.models.Ticket
TICKETS = sa.table("tickets", col("id", _INT), col("conversation_id", _STR),
                   col("language", _STR), col("question", sa.Text), col("opened_at", _TZ),
                   col("due_at", _TZ), col("answered_at", _TZ), col("learned_entry_id", _INT))
# escalation.models.TicketEvent
TICKET_EVENTS = sa.table("ticket_events", col("ticket_id", _INT), col("kind", _STR),
                         col("at", _TZ))
# knowledge.models.Entry
ENTRIES = sa.table("kb_entries", col("id", _INT), col("key", _STR), col("status", _STR),
                   col("source", _STR), col("ticket_id", _INT), col("created_at", _TZ),
                   col("review_by", sa.Date))

PUBLISHED = "published"  # knowledge.models.Status.PUBLISHED, as stored
OPERATOR = "operator"  # knowledge.models.Source.OPERATOR: learned from an operator's answer
LEARNED = "learned"  # the ticket event an answer that taught the knowledge base records

# {table: {column: the values analytics compares it with}}: what the contract test checks.
READS = {
    TICKETS: {},
    TICKET_EVENTS: {"kind": (LEARNED,)},
    ENTRIES: {"status": (PUBLISHED,), "source": (OPERATOR,)},
}


def learned_entries():
    """Ids of entries learned from operators' answers (a subquery)."""
    return sa.select(ENTRIES.c.id).where(ENTRIES.c.source == OPERATOR)
