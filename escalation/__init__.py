"""Escalation to a person: tickets (and, next, SLA timers, mail out and in, operator console)."""

from escalation.models import Ticket, TicketEvent, TicketStatus
from escalation.tickets import (
    EscalationError,
    TicketInfo,
    TicketRequest,
    open_ticket,
    open_ticket_of,
)

__all__ = [
    "EscalationError",
    "Ticket",
    "TicketEvent",
    "TicketInfo",
    "TicketRequest",
    "TicketStatus",
    "open_ticket",
    "open_ticket_of",
]
