"""The read functions escalation exports to other packages (`escalation.queries`, for the
operator console): the columns they read exist on escalation's models, and they return
the documented frozen dataclasses and plain values on a real, migrated database, in the
queue's order and under its filters."""

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
    TicketEvent,
    TicketStatus,
    TicketTimer,
)

AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
TICKET_ROW = ["id", "question", "language", "category", "level", "due_at", "breached",
              "answered_at", "answered_by"]
TICKET_DETAIL = [*TICKET_ROW, "status", "conversation_id", "transcript", "considered",
                 "product_slug", "product_attribute", "opened_at", "sla_policy", "priority",
                 "customer_email", "contact_consent", "answer", "delivery_channel",
                 "learned_entry_id"]
READS = {Ticket: {"conversation_id", "status", *TICKET_DETAIL},
         TicketEvent: {"id", "ticket_id", "kind", "detail", "at"},
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
                          (queries.InboundMail, [*INBOUND_ROW, "source", "size", "raw_path"]),
                          (queries.TicketRow, TICKET_ROW),
                          (queries.TicketDetail, [*TICKET_DETAIL, "events"]),
                          (queries.TicketEventRow, ["kind", "detail", "at"]),
                          (queries.TicketFilter, ["status", "level", "language", "breached",
                                                  "q"])):
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


def _queued(session, question: str, due: timedelta, **columns) -> int:
    ticket = Ticket(conversation_id=f"q-{question}", question=question, opened_at=AT,
                    due_at=AT + due, **columns)
    session.add(ticket)
    session.flush()
    return ticket.id


def _ids(f: queries.TicketFilter, session, limit: int = 100) -> list[int]:
    return [row.id for row in queries.queue_tickets(f, AT, limit=limit, session=session)]


def test_the_queue_on_a_real_database(database_url):
    day = timedelta(days=1)
    with session_scope(database_url) as session:
        ancient = _queued(session, "ancient", -3 * day)
        old = _queued(session, "old", -2 * day)
        late = _queued(session, "late", -timedelta(hours=1), language="en", level=1)
        soon = _queued(session, "soon 50% off?", timedelta(minutes=30),
                       customer_email="Ann@Example.com")
        flagged = _queued(session, "flagged", timedelta(hours=4), breached=True)
        answered = _queued(session, "answered", -day, status=TicketStatus.ANSWERED,
                           answered_by="op@example.com", answered_at=AT, language="en")
        closed = _queued(session, "closed", day, status=TicketStatus.CLOSED)
    open_, done = queries.TicketFilter(), queries.TicketFilter(status=TicketStatus.ANSWERED)
    with session_scope(database_url) as session:
        # due soonest first, overdue included; overdue for over a day last, latest due first
        assert _ids(open_, session) == [late, soon, flagged, old, ancient]
        assert _ids(open_, session, limit=2) == [late, soon]
        assert _ids(queries.TicketFilter(status=TicketStatus.CLOSED), session) == [closed]
        [row] = queries.queue_tickets(done, AT, limit=10, session=session)
        assert (row.id, row.question, row.language, row.category, row.level, row.breached,
                row.answered_by) == (answered, "answered", "en", "general", 0, False,
                                     "op@example.com")
        assert as_utc(row.answered_at) == AT and as_utc(row.due_at) == AT - day
        assert type(row) is queries.TicketRow
        late_ones = queries.TicketFilter(breached=True)
        assert _ids(late_ones, session) == [late, flagged, old, ancient]
        assert _ids(queries.TicketFilter(breached=False), session) == [soon]
        assert _ids(queries.TicketFilter(level=1), session) == [late]
        assert _ids(queries.TicketFilter(language="en"), session) == [late]
        for q in ("50%", "ann@example", f"#{soon}", f"T{soon}", str(soon)):
            assert _ids(queries.TicketFilter(q=q), session) == [soon], q
        assert _ids(queries.TicketFilter(q="%"), session) == [soon]  # a literal %, not "any"
        assert queries.status_counts(open_, AT, session=session) == {
            TicketStatus.OPEN: 5, TicketStatus.ANSWERED: 1, TicketStatus.CLOSED: 1}
        assert queries.status_counts(queries.TicketFilter(language="en"), AT,
                                     session=session) == {
            TicketStatus.OPEN: 1, TicketStatus.ANSWERED: 1, TicketStatus.CLOSED: 0}
        assert queries.status_counts(late_ones, AT, session=session) == {
            TicketStatus.OPEN: 4, TicketStatus.ANSWERED: 0, TicketStatus.CLOSED: 0}


def test_a_ticket_detail_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        ticket_id = _queued(session, "Spedite?", timedelta(hours=2), transcript=[
            {"role": "customer", "text": "Spedite?"}], considered=[{"entry_id": 3, "score": 0.4}],
            product_slug="borsa", product_attribute="fits", customer_email="a@example.com",
            contact_consent=True, sla_policy="standard", priority="high")
        session.add_all([TicketEvent(ticket_id=ticket_id, kind="opened", at=AT, detail={}),
                         TicketEvent(ticket_id=ticket_id, kind="notified", at=AT - timedelta(1),
                                     detail={"to": ["ops@example.com"]})])
    with session_scope(database_url) as session:
        seen = queries.ticket_detail(ticket_id, session=session)
        assert seen.status == TicketStatus.OPEN and seen.answered_at is None
        assert (seen.question, seen.conversation_id, seen.product_slug, seen.product_attribute,
                seen.customer_email, seen.contact_consent, seen.sla_policy, seen.priority) == (
            "Spedite?", "q-Spedite?", "borsa", "fits", "a@example.com", True, "standard", "high")
        assert seen.transcript == ({"role": "customer", "text": "Spedite?"},)
        assert seen.considered == ({"entry_id": 3, "score": 0.4},)
        assert as_utc(seen.opened_at) == AT and seen.learned_entry_id is None
        assert [(e.kind, e.detail) for e in seen.events] == [  # in the order recorded
            ("opened", {}), ("notified", {"to": ["ops@example.com"]})]
        assert as_utc(seen.events[1].at) == AT - timedelta(1)
        held = session.get(Ticket, ticket_id)
        with session_scope(database_url) as other:  # answered elsewhere meanwhile
            answered = other.get(Ticket, ticket_id)
            answered.status, answered.answer, answered.learned_entry_id = (
                TicketStatus.ANSWERED, "Sì.", 9)
            answered.delivery_channel = "chat"
        assert held.status == TicketStatus.OPEN  # the session still holds it as it was
        fresh = queries.ticket_detail(ticket_id, session=session)
        assert (fresh.status, fresh.answer, fresh.learned_entry_id, fresh.delivery_channel) == (
            TicketStatus.ANSWERED, "Sì.", 9, "chat")
        assert queries.ticket_detail(10_000, session=session) is None
