"""The function the catalogue exports for GDPR erasure (`catalogue.gdpr`, called by
`bot.gdpr` inside its one transaction): the column it touches exists, and it unlinks
product notes from the customer's tickets on a real, migrated database."""

from __future__ import annotations

from sqlalchemy import select

from catalogue import gdpr
from catalogue.models import ProductNote
from core import session_scope


def test_the_column_the_function_touches_exists():
    assert "ticket_id" in ProductNote.__table__.c


def test_notes_unlinked_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        session.add_all([ProductNote(slug="coat", language="it", question="Veste grande?",
                                     answer="Sì", ticket_id=7),
                         ProductNote(slug="bag", language="it", question="Misure?",
                                     answer="30 cm", ticket_id=8)])
    with session_scope(database_url) as session:
        assert gdpr.unlink_notes([7], session=session) == 1
    with session_scope(database_url) as session:
        links = {n.slug: n.ticket_id for n in session.scalars(select(ProductNote))}
    assert links == {"coat": None, "bag": 8}
