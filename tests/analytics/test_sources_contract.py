"""The contract between analytics and the tables it reads but does not own
(`analytics.sources`): every declared column exists on the owning model with a compatible
type, every value compared with is one the owner stores, and the declarations read a
real, migrated database. A rename or retype in escalation or knowledge fails here, not in
a dashboard figure that silently turns zero."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import select

from analytics import sources
from core import Base, session_scope
from escalation.models import Ticket, TicketEvent
from knowledge.models import Entry, Source, Status

OWNERS = {sources.TICKETS: Ticket, sources.TICKET_EVENTS: TicketEvent, sources.ENTRIES: Entry}
AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def _family(sql_type) -> type:
    """The kind of value a column holds, whatever its length or enum."""
    for family in (sa.DateTime, sa.Date, sa.Integer, sa.String):  # Text and Enum are String
        if isinstance(sql_type, family):
            return family
    raise AssertionError(f"unexpected column type {sql_type!r}")


def test_every_declared_table_is_one_analytics_reads():
    assert set(sources.READS) == set(OWNERS)


def test_every_declared_column_exists_on_its_owner_with_a_compatible_type():
    for declared, model in OWNERS.items():
        owned = model.__table__
        assert declared.name == owned.name
        for column in declared.columns:
            assert column.name in owned.c, f"{owned.name}.{column.name} is gone"
            actual = owned.c[column.name].type
            assert _family(actual) is _family(column.type), (owned.name, column.name, actual)
            if isinstance(column.type, sa.DateTime):
                assert actual.timezone == column.type.timezone, (owned.name, column.name)


def test_compared_values_are_ones_the_owners_store():
    assert sources.READS[sources.ENTRIES] == {"status": (Status.PUBLISHED.value,),
                                              "source": (Source.OPERATOR.value,)}
    assert sources.PUBLISHED == Status.PUBLISHED and sources.OPERATOR == Source.OPERATOR
    assert sources.READS[sources.TICKET_EVENTS] == {"kind": (sources.LEARNED,)}


def test_the_declarations_read_rows_the_owners_wrote(database_url):
    assert {t.name for t in sources.READS} <= set(Base.metadata.tables)
    with session_scope(database_url) as session:
        ticket = Ticket(conversation_id="c1", question="Spedite in Svizzera?", language="it",
                        opened_at=AT, due_at=AT, answered_at=AT)
        session.add(ticket)
        session.flush()
        entry = Entry(key="svizzera", answer="Sì.", language="it", source=Source.OPERATOR,
                      status=Status.PUBLISHED, ticket_id=ticket.id, created_at=AT,
                      review_by=date(2027, 1, 1))
        session.add(entry)
        session.flush()
        ticket.learned_entry_id = entry.id
        session.add(TicketEvent(ticket_id=ticket.id, kind=sources.LEARNED, at=AT))
    with session_scope(database_url) as session:
        t, te, en = sources.TICKETS.c, sources.TICKET_EVENTS.c, sources.ENTRIES.c
        row = session.execute(
            select(t.id, t.conversation_id, t.language, t.question, t.learned_entry_id,
                   te.kind, en.key, en.status, en.source, en.ticket_id, en.review_by)
            .select_from(sources.TICKETS.join(sources.TICKET_EVENTS, te.ticket_id == t.id)
                         .join(sources.ENTRIES, en.id == t.learned_entry_id))
            .where(en.status == sources.PUBLISHED, te.kind == sources.LEARNED)).one()
        assert row[1:] == ("c1", "it", "Spedite in Svizzera?", entry.id, "learned", "svizzera",
                           "published", "operator", ticket.id, date(2027, 1, 1))
        assert session.scalars(sources.learned_entries()).all() == [entry.id]
