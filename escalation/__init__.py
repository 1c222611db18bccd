"""Escalation to a person: tickets under SLA timers, mail out (outbox) and in (SMTP
receiver, IMAP poller, reply parsing), and what happens when an operator answers."""

from escalation.answers import (
    AnswerOutcome,
    ChatDelivery,
    finish_answer,
    record_answer,
    resume_answered,
)
from escalation.inbound import InboundResult, receive
from escalation.models import (
    DeliveryChannel,
    InboundStatus,
    OutboxStatus,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from escalation.notify import mail_notifier
from escalation.sla import SlaConfig, SlaConfigError, load_sla_config
from escalation.tickets import (
    ConsideredEntry,
    EscalationError,
    TicketInfo,
    TicketRequest,
    TooManyOpenTickets,
    add_contact,
    answered_awaiting_delivery,
    close_unanswered,
    contact_of,
    open_ticket,
    open_ticket_of,
    open_tickets_of,
    take_undelivered_answers,
    valid_email,
)

__all__ = [
    "AnswerOutcome",
    "ChatDelivery",
    "ConsideredEntry",
    "DeliveryChannel",
    "InboundStatus",
    "OutboxStatus",
    "InboundResult",
    "SlaConfig",
    "SlaConfigError",
    "finish_answer",
    "load_sla_config",
    "mail_notifier",
    "receive",
    "record_answer",
    "resume_answered",
    "EscalationError",
    "Ticket",
    "TicketEvent",
    "TicketInfo",
    "TicketRequest",
    "TicketStatus",
    "answered_awaiting_delivery",
    "open_ticket",
    "open_ticket_of",
    "take_undelivered_answers",
    "TooManyOpenTickets",
    "add_contact",
    "close_unanswered",
    "contact_of",
    "open_tickets_of",
    "valid_email",
]
