"""The read functions knowledge exports to other packages (`knowledge.queries`, for
escalation's transcripts): the columns they read exist on knowledge's models, and they
return the documented plain values on a real, migrated database."""

from __future__ import annotations

from core import session_scope
from knowledge import queries
from knowledge.models import Question


def test_the_columns_the_queries_read_exist():
    assert {"id", "entry_id", "text"} <= set(Question.__table__.c.keys())


def test_first_questions_on_a_real_database(database_url, add_entry):
    shipping = add_entry("Spediamo in tutta Europa.", "Spedite in Svizzera?", "Spedite all'estero?",
                         language="it")
    returns = add_entry("Returns are free.", "Are returns free?")
    with session_scope(database_url) as session:
        assert queries.first_questions([returns, shipping, shipping, 10_000], session=session) == {
            shipping: "Spedite in Svizzera?", returns: "Are returns free?"}
        assert queries.first_questions([], session=session) == {}
        many = range(returns + 1, returns + 1 + 2 * queries.MAX_ENTRIES)
        assert queries.first_questions(many, session=session) == {}
