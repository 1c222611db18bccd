"""Notes learned for one product: stored once per ticket, validated, and matched only by
the rule `catalogue.notes` documents."""

from __future__ import annotations

import pytest

from catalogue.notes import (
    Note,
    NoteError,
    add_note,
    match_note,
    near_copy,
    note_of_ticket,
    notes_for,
    set_status,
)
from core import session_scope


def store(url, **fields):
    values = dict(slug="borsa-aurora", language="it", attribute="fits",
                  question="ci sta un portatile da 15 pollici?", answer="Sì, ci sta.",
                  ticket_id=None)
    values.update(fields)
    with session_scope(url) as session:
        return add_note(session=session, **values)


def test_a_note_is_stored_once_per_ticket_and_read_back_newest_first(database_url):
    first = store(database_url, ticket_id=7)
    again = store(database_url, ticket_id=7, answer="a second answer for the same ticket")
    newer = store(database_url, ticket_id=8, answer="Sì, anche da 16.")
    store(database_url, slug="borsa-tote", ticket_id=9)
    assert again == first  # a resumed worker never stores the same ticket twice
    with session_scope(database_url) as session:
        assert [n.id for n in notes_for("borsa-aurora", session=session)] == [newer.id, first.id]
        assert notes_for("borsa-aurora", session=session, language="en") == []
        assert note_of_ticket(8, session=session).answer == "Sì, anche da 16."


@pytest.mark.parametrize("fields, message", [
    ({"slug": ""}, "product"),
    ({"slug": "x" * 201}, "too long"),
    ({"question": "  \x00 "}, "question"),
    ({"answer": ""}, "answer"),
    ({"answer": 5}, "text"),
    ({"attribute": "colour_of_the_sky"}, "attribute"),
    ({"status": "live"}, "status"),
])
def test_bad_notes_are_refused_and_nothing_is_stored(database_url, fields, message):
    with pytest.raises(NoteError, match=message):
        store(database_url, **fields)
    with session_scope(database_url) as session:
        assert notes_for("borsa-aurora", session=session) == []


def test_drafts_answer_nothing_until_published(database_url):
    draft = store(database_url, status="draft")
    with session_scope(database_url) as session:
        assert notes_for("borsa-aurora", session=session) == []
        set_status(draft.id, "published", session=session)
    with session_scope(database_url) as session:
        assert [n.id for n in notes_for("borsa-aurora", session=session)] == [draft.id]


def note(id_: int, *, attribute="fits", question="ci sta un portatile da 15 pollici?",
         language="it", status="published") -> Note:
    return Note(id_, "borsa-aurora", language, attribute, question, f"answer {id_}", id_,
                status)


NOTHING = ("", "", None)
FIFTEEN = ("", "", 15.0)


def particulars_from(table):
    return lambda n: table.get(n.id, NOTHING)


def test_same_attribute_and_particulars_match_the_newest_note():
    notes = [note(2), note(1)]
    found = match_note(notes, language="it", attribute="fits", particulars=FIFTEEN,
                       text="entra un pc da 15 pollici?",
                       particulars_of=particulars_from({1: FIFTEEN, 2: FIFTEEN}))
    assert found.id == 2


@pytest.mark.parametrize("language, attribute, particulars, text", [
    ("en", "fits", FIFTEEN, "does a 15 inch laptop fit?"),  # another language
    ("it", "dimensions", FIFTEEN, "quanto è grande?"),  # another attribute
    ("it", "fits", ("", "", 17.0), "entra un pc da 17 pollici?"),  # other particulars
    ("it", "", NOTHING, "ci sta un portatile da 17 pollici?"),  # near-copy, other number
    ("it", "", NOTHING, "che garanzia ha?"),  # nothing alike
])
def test_no_note_answers_another_question(language, attribute, particulars, text):
    assert match_note([note(1)], language=language, attribute=attribute,
                      particulars=particulars, text=text,
                      particulars_of=particulars_from({1: FIFTEEN})) is None


def test_a_near_copy_matches_without_an_attribute_but_not_a_draft():
    question = "la borsa ha una tasca interna con zip?"
    notes = [note(3, attribute="", question=question, status="draft"),
             note(2, attribute="", question=question)]
    found = match_note(notes, language="it", attribute="", particulars=NOTHING,
                       text="La borsa ha una tasca interna con la zip?",
                       particulars_of=particulars_from({}))
    assert found.id == 2


def test_near_copy_rule():
    assert near_copy("La borsa ha una tasca interna?", "la borsa ha una tasca intrena")  # typo
    assert near_copy("è impermeabile?", "E' impermeabile")
    assert not near_copy("ci sta un portatile da 13 pollici?", "ci sta un portatile da 15 pollici?")
    assert not near_copy("la borsa ha una tasca interna?", "la borsa ha una tracolla?")
    assert not near_copy("", "")
