"""What escalation keeps about one customer, for the GDPR orchestration in `bot.gdpr`:
their tickets (found by conversation or email), the ticket events that may quote their
mail, the outbox rows about them and the inbound mail they or operators sent about their
tickets. Each function works inside the caller's session, so an erasure across packages
stays one transaction (tests/escalation/test_gdpr_contract.py holds the contract)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import String, cast, func, or_, select, update
from sqlalchemy.orm import Session

from escalation.models import InboundMessage, OutboxMessage, Ticket, TicketEvent

__all__ = ["CustomerMail", "TicketRef", "customer_mail", "erase_tickets", "tickets_export",
           "tickets_in", "tickets_named"]

# Ticket event details that say nothing about the customer (the rest may quote mail).
_SAFE_DETAIL = {"reason", "status", "level", "name", "to", "by", "via", "channel", "policy",
                "inbound_id", "entry_id", "error"}


@dataclass(frozen=True)
class TicketRef:
    """A ticket and the conversation it was opened from."""

    id: int
    conversation_id: str


@dataclass(frozen=True)
class CustomerMail:
    """The mail stored about a customer: their addresses (lower case), the outbox rows
    about their tickets or naming an address, the inbound mail answering their tickets or
    sent from an address, and what the mail files are known by."""

    emails: frozenset[str]
    outbox_ids: tuple[int, ...]
    inbound_ids: tuple[int, ...]
    message_ids: frozenset[str]  # of the outbox rows
    raw_paths: frozenset[str]  # of the inbound rows' .eml files


def tickets_named(ref: str, *, by_email: bool, session: Session) -> list[TicketRef]:
    """Tickets whose contact is the email `ref` (any case), or opened from conversation `ref`."""
    return [TicketRef(t.id, t.conversation_id) for t in session.scalars(select(Ticket).where(
        Ticket.customer_email.ilike(ref) if by_email else Ticket.conversation_id == ref))]


def tickets_in(conversations: Collection[str], *, excluding: Collection[int],
               session: Session) -> list[TicketRef]:
    """Tickets opened from `conversations`, other than those in `excluding`."""
    return [TicketRef(t.id, t.conversation_id) for t in session.scalars(select(Ticket).where(
        Ticket.conversation_id.in_(conversations), Ticket.id.not_in(list(excluding))))]


def tickets_export(ticket_ids: Collection[int], *, session: Session) -> list[dict]:
    """The tickets as the export shows them."""
    tickets = session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))
    return [{"id": t.id, "opened_at": t.opened_at.isoformat() if t.opened_at else None,
             "question": t.question,
             "transcript": t.transcript, "email": t.customer_email,
             "consent": t.contact_consent, "status": t.status, "answer": t.answer,
             "learned_entry_id": t.learned_entry_id} for t in tickets]


def customer_mail(ticket_ids: Collection[int], *, session: Session) -> CustomerMail:
    """The mail about the tickets or naming their contacts' addresses."""
    emails = {email.strip().lower() for email in session.scalars(select(Ticket.customer_email)
              .where(Ticket.id.in_(ticket_ids))) if email and email.strip()}
    outbox, inbound = _mail_rows(ticket_ids, emails, session)
    return CustomerMail(frozenset(emails), tuple(m.id for m in outbox),
                        tuple(m.id for m in inbound), frozenset(m.message_id for m in outbox),
                        frozenset(m.raw_path for m in inbound))


def erase_tickets(ticket_ids: Collection[int], mail: CustomerMail, *, by: str,
                  placeholder: str, session: Session) -> None:
    """Blank the tickets' question, transcript, answer (it may greet them by name) and
    contact (the ticket stays, so SLA figures stay true); drop event details that may
    quote a mail and record the erasure; delete the outbox rows and blank the inbound
    mail in `mail` (the sender only where the customer wrote it: operators stay)."""
    session.execute(update(Ticket).where(Ticket.id.in_(ticket_ids)).values(
        question=placeholder, transcript=[], answer=placeholder,
        customer_email="", contact_consent=False))
    for event in session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id.in_(ticket_ids))):
        event.detail = {k: v for k, v in (event.detail or {}).items() if k in _SAFE_DETAIL}
    session.add_all(TicketEvent(ticket_id=i, kind="customer_erased", detail={"by": by})
                    for i in ticket_ids)
    for row in session.scalars(select(OutboxMessage).where(
            OutboxMessage.id.in_(mail.outbox_ids))):
        session.delete(row)
    for row in session.scalars(select(InboundMessage).where(
            InboundMessage.id.in_(mail.inbound_ids))):
        row.answer_text, row.subject, row.raw_path = "", placeholder, ""
        if row.from_addr.lower() in mail.emails or row.envelope_from.lower() in mail.emails:
            row.from_addr, row.envelope_from = placeholder, ""


def _mail_rows(ticket_ids: Collection[int], emails: set[str], session: Session
               ) -> tuple[list[OutboxMessage], list[InboundMessage]]:
    """Outbox rows about the tickets or naming an address; inbound mail answering the
    tickets or sent from an address."""
    mentions = [func.lower(cast(column, String)).contains(email, autoescape=True)
                for email in emails
                for column in (OutboxMessage.to_addrs, OutboxMessage.subject,
                               OutboxMessage.text_body, OutboxMessage.html_body)]
    outbox = list(session.scalars(select(OutboxMessage).where(or_(
        OutboxMessage.ticket_id.in_(ticket_ids), *mentions))))
    senders = [func.lower(column) == email for email in emails
               for column in (InboundMessage.from_addr, InboundMessage.envelope_from)]
    inbound = list(session.scalars(select(InboundMessage).where(or_(
        InboundMessage.ticket_id.in_(ticket_ids), *senders))))
    return outbox, inbound

