"""The functions escalation exports for GDPR export and erasure (`escalation.gdpr`, called
by `bot.gdpr` inside its one transaction): the columns they read exist, and they find,
export and erase a customer's tickets and mail on a real, migrated database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy import select

from core import session_scope
from escalation import gdpr
from escalation.models import InboundMessage, OutboxMessage, Ticket, TicketEvent

AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
READS = {Ticket: {"id", "conversation_id", "customer_email", "opened_at", "question",
                  "transcript", "contact_consent", "status", "answer", "learned_entry_id"},
         TicketEvent: {"ticket_id", "kind", "detail"},
         OutboxMessage: {"id", "ticket_id", "to_addrs", "subject", "text_body", "html_body",
                         "message_id"},
         InboundMessage: {"id", "ticket_id", "from_addr", "envelope_from", "subject",
                          "answer_text", "raw_path"}}


def test_the_columns_the_functions_read_exist():
    for model, columns in READS.items():
        assert columns <= set(model.__table__.c.keys()), model.__tablename__


def test_the_exported_shapes_are_frozen_dataclasses():
    for shape, fields in ((gdpr.TicketRef, ["id", "conversation_id"]),
                          (gdpr.CustomerMail, ["emails", "outbox_ids", "inbound_ids",
                                               "message_ids", "raw_paths"])):
        assert shape.__dataclass_params__.frozen
        assert [f.name for f in dataclasses.fields(shape)] == fields


def _ticket(session, conversation: str, email: str = "") -> int:
    ticket = Ticket(conversation_id=conversation, question="Spedite?", opened_at=AT,
                    due_at=AT, customer_email=email, contact_consent=bool(email))
    session.add(ticket)
    session.flush()
    return ticket.id


def _outbox(session, key: str, ticket_id: int | None, to: str) -> None:
    session.add(OutboxMessage(dedupe_key=key, kind="answer", ticket_id=ticket_id,
                              to_addrs=[to], subject="Re", text_body="Ciao",
                              message_id=f"<{key}@shop>"))


def test_find_and_export_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        first = _ticket(session, "c1", "Anna@Example.com")
        second = _ticket(session, "c1")
        _ticket(session, "c2")
    with session_scope(database_url) as session:
        named = gdpr.tickets_named("anna@example.com", by_email=True, session=session)
        assert named == [gdpr.TicketRef(first, "c1")]
        assert set(gdpr.tickets_named("c1", by_email=False, session=session)) == {
            gdpr.TicketRef(first, "c1"), gdpr.TicketRef(second, "c1")}
        assert gdpr.tickets_in(["c1"], excluding=[first], session=session) == [
            gdpr.TicketRef(second, "c1")]
        exported = gdpr.tickets_export([first], session=session)
    assert [set(row) for row in exported] == [{"id", "opened_at", "question", "transcript",
                                               "email", "consent", "status", "answer",
                                               "learned_entry_id"}]
    assert exported[0]["email"] == "Anna@Example.com" and exported[0]["consent"] is True


def test_mail_found_and_tickets_erased_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        theirs = _ticket(session, "c1", " Anna@Example.com ")
        other = _ticket(session, "c2", "bob@example.com")
        _outbox(session, "a1", theirs, "anna@example.com")
        _outbox(session, "a2", None, "ANNA@example.com")  # names their address
        _outbox(session, "b1", other, "bob@example.com")
        session.add_all([
            InboundMessage(message_id="<r1@x>", source="smtp", ticket_id=theirs,
                           from_addr="op@shop.example", subject="Re", answer_text="Sì",
                           raw_path="mail/inbound/r1.eml"),
            InboundMessage(message_id="<r2@x>", source="smtp", from_addr="anna@example.com",
                           subject="Hello", raw_path="mail/inbound/r2.eml"),
            TicketEvent(ticket_id=theirs, kind="mail", detail={"subject": "x", "by": "op"}),
        ])
    with session_scope(database_url) as session:
        mail = gdpr.customer_mail([theirs], session=session)
        assert mail.emails == {"anna@example.com"}
        assert len(mail.outbox_ids) == 2 and len(mail.inbound_ids) == 2
        assert mail.message_ids == {"<a1@shop>", "<a2@shop>"}
        assert mail.raw_paths == {"mail/inbound/r1.eml", "mail/inbound/r2.eml"}
        gdpr.erase_tickets([theirs], mail, by="dpo", placeholder="[gone]", session=session)
    with session_scope(database_url) as session:
        ticket = session.get(Ticket, theirs)
        assert (ticket.question, ticket.answer, ticket.transcript, ticket.customer_email,
                ticket.contact_consent) == ("[gone]", "[gone]", [], "", False)
        assert [(e.kind, e.detail) for e in ticket.events] == [
            ("mail", {"by": "op"}), ("customer_erased", {"by": "dpo"})]
        assert session.scalars(select(OutboxMessage.dedupe_key)).all() == ["b1"]
        inbound = {m.message_id: m for m in session.scalars(select(InboundMessage))}
        assert (inbound["<r1@x>"].from_addr, inbound["<r1@x>"].subject,
                inbound["<r1@x>"].raw_path) == ("op@shop.example", "[gone]", "")
        assert (inbound["<r2@x>"].from_addr, inbound["<r2@x>"].answer_text) == ("[gone]", "")
        assert session.get(Ticket, other).customer_email == "bob@example.com"
