"""What other packages read from escalation's tables, as plain values and frozen
dataclasses: the operator console calls these instead of querying `TicketTimer`,
`InboundMessage` or its own selection of `Ticket` columns, so escalation can change its
tables without breaking a page (tests/escalation/test_queries_contract.py holds the
contract). Each is one indexed query bounded by its arguments.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.models import InboundMessage, InboundStatus, Ticket, TicketTimer

__all__ = ["HeldReply", "SiblingTicket", "held_replies", "sibling_tickets", "warning_times"]

SIBLINGS_SHOWN = 50
QUESTION_SHOWN = 300  # characters of a sibling's question


@dataclass(frozen=True)
class SiblingTicket:
    """Another ticket of the same conversation: each question has its own ticket."""

    id: int
    status: str  # a TicketStatus value
    question: str  # the first QUESTION_SHOWN characters


@dataclass(frozen=True)
class HeldReply:
    """An email about a ticket that was not accepted as its answer (quarantined or ignored)."""

    id: int
    from_addr: str
    reason: str


def warning_times(ticket_ids: Collection[int], *, session: Session
                  ) -> dict[tuple[int, int], datetime]:
    """{(ticket id, level): when the warning window of that level opens}, from the
    tickets' warning timers that were not cancelled."""
    if not ticket_ids:
        return {}
    rows = session.execute(select(TicketTimer.ticket_id, TicketTimer.level, TicketTimer.due_at)
                           .where(TicketTimer.ticket_id.in_(list(ticket_ids)),
                                  TicketTimer.kind == "warning",
                                  TicketTimer.cancelled.is_(False)))
    return {(tid, level): due for tid, level, due in rows}


def sibling_tickets(conversation_id: str, *, excluding: int, session: Session
                    ) -> list[SiblingTicket]:
    """The conversation's other tickets, oldest first, at most SIBLINGS_SHOWN."""
    rows = session.execute(select(Ticket.id, Ticket.status, Ticket.question)
                           .where(Ticket.conversation_id == conversation_id,
                                  Ticket.id != excluding)
                           .order_by(Ticket.id).limit(SIBLINGS_SHOWN))
    return [SiblingTicket(tid, status, question[:QUESTION_SHOWN])
            for tid, status, question in rows]


def held_replies(ticket_id: int, *, session: Session) -> list[HeldReply]:
    """Emails about the ticket that were not accepted, in the order they arrived."""
    rows = session.execute(select(InboundMessage.id, InboundMessage.from_addr,
                                  InboundMessage.reason)
                           .where(InboundMessage.ticket_id == ticket_id,
                                  InboundMessage.status != InboundStatus.ACCEPTED)
                           .order_by(InboundMessage.id))
    return [HeldReply(mid, from_addr, reason) for mid, from_addr, reason in rows]
