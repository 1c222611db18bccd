"""The read functions escalation exports to other packages (`escalation.queries`, for the
operator console): the columns they read exist on escalation's models, and they return
the documented frozen dataclasses and plain values on a real, migrated database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from core import as_utc, session_scope
from escalation import queries
from escalation.models import (
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketStatus,
    TicketTimer,
)

AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
READS = {Ticket: {"id", "conversation_id", "status", "question"},
         TicketTimer: {"ticket_id", "level", "due_at", "kind", "cancelled"},
         InboundMessage: {"id", "from_addr", "reason", "ticket_id", "status", "received_at",
                          "subject", "source", "size", "raw_path"},
         OutboxMessage: {"id", "created_at", "kind", "ticket_id", "to_addrs", "subject",
                         "last_error", "attempts", "failure_seen_at", "status"}}
INBOUND_ROW = ["id", "received_at", "status", "reason", "from_addr", "subject", "ticket_id"]


def test_the_columns_the_queries_read_exist():
    for model, columns in READS.items():
        assert columns <= set(model.__table__.c.keys()), model.__tablename__


def test_the_exported_shapes_are_frozen_dataclasses():
    for shape, fields in ((queries.SiblingTicket, ["id", "status", "question"]),
                          (queries.HeldReply, ["id", "from_addr", "reason"]),
                          (queries.FailedMail, ["id", "created_at", "kind", "ticket_id",
                                                "to_addrs", "subject", "last_error", "attempts",
                                                "failure_seen_at"]),
                          (queries.InboundRow, INBOUND_ROW),
                          (queries.InboundMail, [*INBOUND_ROW, "source", "size", "raw_path"])):
        assert shape.__dataclass_params__.frozen
        assert [f.name for f in dataclasses.fields(shape)] == fields


def _ticket(session, conversation: str, question: str) -> int:
    ticket = Ticket(conversation_id=conversation, question=question, opened_at=AT, due_at=AT)
    session.add(ticket)
    session.flush()
    return ticket.id


def test_the_queries_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        first = _ticket(session, "c1", "Spedite in Svizzera?")
        second = _ticket(session, "c1", "x" * 400)
        other = _ticket(session, "c2", "Altro?")
        session.add_all([
            TicketTimer(ticket_id=first, kind="warning", level=0, due_at=AT + timedelta(hours=1)),
            TicketTimer(ticket_id=first, kind="breach", level=0, due_at=AT + timedelta(hours=2)),
            TicketTimer(ticket_id=second, kind="warning", level=1, due_at=AT, cancelled=True),
            InboundMessage(message_id="<m1@x>", source="smtp", from_addr="a@example.com",
                           ticket_id=first, status="quarantined", reason="unknown_sender"),
            InboundMessage(message_id="<m2@x>", source="smtp", ticket_id=first,
                           status="accepted"),
        ])
    with session_scope(database_url) as session:
        warns = queries.warning_times([first, second, other], session=session)
        assert list(warns) == [(first, 0)]
        assert as_utc(warns[(first, 0)]) == AT + timedelta(hours=1)
        assert queries.warning_times([], session=session) == {}
        siblings = queries.sibling_tickets("c1", excluding=first, session=session)
        assert siblings == [queries.SiblingTicket(second, TicketStatus.OPEN.value, "x" * 300)]
        held = queries.held_replies(first, session=session)
        assert held == [queries.HeldReply(held[0].id, "a@example.com", "unknown_sender")]
        assert queries.held_replies(other, session=session) == []


def _outbox(n: int, status: OutboxStatus, **columns) -> OutboxMessage:
    return OutboxMessage(dedupe_key=f"k{n}", kind="escalation", to_addrs=["ops@example.com"],
                         subject=f"s{n}", text_body="", message_id=f"<o{n}@x>", status=status,
                         **columns)


def test_the_mail_queries_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        session.add_all([_outbox(1, OutboxStatus.FAILED, failure_seen_at=AT, attempts=5),
                         _outbox(2, OutboxStatus.FAILED, last_error="550", ticket_id=7),
                         _outbox(3, OutboxStatus.SENT)])
        session.add_all([
            InboundMessage(message_id="<i1@x>", source="imap", status="quarantined",
                           reason="bounce", subject="Re", size=12, raw_path="r1"),
            InboundMessage(message_id="<i2@x>", source="smtp", status="ignored"),
            InboundMessage(message_id="<i3@x>", source="smtp", status="accepted")])
    with session_scope(database_url) as session:
        assert queries.unseen_failure_count(session=session) == 1
        failed = queries.failed_mails(limit=10, session=session)
        assert [(m.subject, m.last_error, m.ticket_id, m.to_addrs) for m in failed] == [
            ("s2", "550", 7, ("ops@example.com",)), ("s1", "", None, ("ops@example.com",))]
        assert failed[1].attempts == 5 and as_utc(failed[1].failure_seen_at) == AT
        assert len(queries.failed_mails(limit=1, session=session)) == 1
        queries.mark_failures_seen(now=AT, session=session)
    with session_scope(database_url) as session:
        assert queries.unseen_failure_count(session=session) == 0
        shown = (InboundStatus.QUARANTINED, InboundStatus.IGNORED)
        rows = queries.inbound_rows(shown, limit=10, session=session)
        assert [(r.status, r.reason) for r in rows] == [("ignored", ""), ("quarantined", "bounce")]
        assert queries.inbound_rows(shown, limit=1, session=session) == rows[:1]
        mail = queries.inbound_mail(rows[1].id, session=session)
        assert (mail.source, mail.size, mail.raw_path, mail.subject) == ("imap", 12, "r1", "Re")
        assert queries.inbound_mail(10_000, session=session) is None
