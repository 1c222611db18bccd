"""The queue's filters and order, and the ticket page's transcript, through HTTP on a real
database: each filter returns only matching tickets, a value the form cannot send is a
clear 400 (never a 500, never silently another list), tickets overdue for days sit below
today's, and button clicks read as the customer saw them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from core import session_scope
from escalation import Ticket


def rows(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="ticket-row" data-ticket="(\d+)"', page)]


def edit(console, ticket_id: int, **values) -> None:
    with session_scope(console.url) as session:
        ticket = session.get(Ticket, ticket_id)
        for name, value in values.items():
            setattr(ticket, name, value)


@pytest.fixture
def mixed(signed_in):
    """Four open tickets that differ in one thing each."""
    ids = {
        "plain": signed_in.ticket("Do you sell gift cards?"),
        "italian": signed_in.ticket("Vendete buoni regalo?"),
        "second_level": signed_in.ticket("Can I pay by bank transfer?"),
        "late": signed_in.ticket("Where is my parcel?", opened_ago=timedelta(hours=5)),
    }
    edit(signed_in, ids["italian"], language="it", customer_email="anna@example.com",
         contact_consent=True)
    edit(signed_in, ids["second_level"], level=1)
    return signed_in, ids


@pytest.mark.parametrize("query, expected", [
    ("language=it", ["italian"]),
    ("language=en", ["plain", "second_level", "late"]),
    ("level=2", ["second_level"]),
    ("level=1", ["plain", "italian", "late"]),
    ("breached=yes", ["late"]),  # past due: violated even before the timer flags it
    ("breached=no", ["plain", "italian", "second_level"]),
    ("q=GIFT", ["plain"]),  # the question, case-insensitively
    ("q=anna%40example", ["italian"]),  # the customer's email
    ("q=%25", []),  # a LIKE wildcard is searched for literally
    ("language=en&level=1&breached=no", ["plain"]),
    ("level=&language=&breached=&q=", ["plain", "italian", "second_level", "late"]),
])
def test_each_filter_returns_only_matching_tickets(mixed, query, expected):
    console, ids = mixed
    page = console.client.get(f"/console?{query}")
    assert page.status_code == 200
    assert sorted(rows(page.text)) == sorted(ids[name] for name in expected)


def test_search_by_ticket_number_and_counts_follow_the_filter(mixed):
    console, ids = mixed
    for text in (str(ids["late"]), f"%23{ids['late']}", f"T{ids['late']}"):
        assert rows(console.client.get(f"/console?q={text}").text) == [ids["late"]]
    console.services.answer(ids["italian"], "Sì, da 20 a 200 euro.", "op@shop.example",
                            via="console")
    page = console.client.get("/console?language=it").text
    assert rows(page) == [] and "Nessun ticket corrisponde ai filtri" in page
    # the tabs count under the same filter, and keep it in their links
    closed = re.search(r'href="/console\?status=closed&amp;language=it"[^>]*>Chiusi '
                       r'<span class="count">(\d+)</span>', page)
    assert closed and closed.group(1) == "1", page
    assert rows(console.client.get("/console?status=closed&language=it").text) == [ids["italian"]]


@pytest.mark.parametrize("query, message", [
    ("status=bogus", "Stato «bogus» sconosciuto"),
    ("level=0", "Livello «0» sconosciuto: usa un numero da 1 a 2"),
    ("level=3", "Livello «3» sconosciuto"),
    ("level=uno", "Livello «uno» sconosciuto"),
    ("level=99999999999999999999", "sconosciuto"),
    ("language=fr", "Lingua «fr» sconosciuta: usa it, en, other"),
    ("breached=maybe", "non valido per breached: usa yes o no"),
    ("q=" + "x" * 201, "troppo lungo"),
    ("sort=due", "Il parametro «sort» non esiste"),
    ("language=it&language=en", "compare più volte"),
])
def test_a_value_the_form_cannot_send_is_a_clear_400(signed_in, query, message):
    page = signed_in.client.get(f"/console?{query}")
    assert page.status_code == 400
    assert "Filtro non valido" in page.text and message in page.text


def test_the_form_offers_only_valid_values(signed_in):
    page = signed_in.client.get("/console").text
    assert re.findall(r'<option value="(\d+)"', page) == ["1", "2"]
    assert {"it", "en", "other"} <= set(re.findall(r'<option value="([a-z]+)"', page))
    assert 'maxlength="200"' in page and 'data-testid="queue-order"' in page


def test_tickets_overdue_for_days_come_after_todays(signed_in):
    ancient = signed_in.ticket("ancient", opened_ago=timedelta(days=9))
    old = signed_in.ticket("old", opened_ago=timedelta(days=3))
    late = signed_in.ticket("late", opened_ago=timedelta(hours=5))  # 1 h overdue: current
    soon = signed_in.ticket("soon", opened_ago=timedelta(hours=3, minutes=30))
    later = signed_in.ticket("later", opened_ago=timedelta(minutes=10))
    page = signed_in.client.get("/console").text
    assert rows(page) == [late, soon, later, old, ancient]
    stale = page[page.index('data-testid="stale"'):]
    assert rows(stale) == [old, ancient] and "Scaduti da più di un giorno" in stale
    assert "In cima i ticket da gestire adesso" in page
    # and on their own, under their filter
    assert rows(signed_in.client.get("/console?breached=yes").text) == [late, old, ancient]


TRANSCRIPT = [
    {"role": "customer", "text": "How much does shipping cost?"},
    {"role": "bot", "text": "Shipping is free over EUR 59."},
    {"role": "customer", "text": '/feedback_unhelpful{"entry_id": "ENTRY"}'},
    {"role": "bot", "text": "Sorry I couldn't help. Shall I pass your question to an operator?"},
    {"role": "customer", "text": "/ask_human"},
    {"role": "customer", "text": "/affirm"},
    {"role": "customer", "text": '/choose_entry{"entry_id": "ENTRY"}'},
    {"role": "customer", "text": "/feedback_helpful{broken"},
]


def transcript_for(entry_id: int) -> list[dict]:
    return [{**t, "text": t["text"].replace("ENTRY", str(entry_id))} for t in TRANSCRIPT]


def test_the_ticket_page_shows_what_the_customer_clicked(signed_in):
    from knowledge import repository as repo

    with session_scope(signed_in.url) as session:
        entry = repo.get_entry("en-ship", session=session).id
    ticket_id = signed_in.ticket("Is shipping free to Norway?")
    edit(signed_in, ticket_id, transcript=transcript_for(entry))
    page = signed_in.client.get(f"/console/tickets/{ticket_id}").text
    transcript = page[page.index('data-testid="transcript"'):page.index("</ol>",
                      page.index('data-testid="transcript"'))]
    assert "👎 Risposta non utile: «How much does shipping cost?»" in transcript
    assert "Voglio parlare con una persona" in transcript
    assert ">Sì<" in transcript and "Ha scelto «How much does shipping cost?»" in transcript
    assert "/affirm" not in transcript and "/ask_human" not in transcript
    assert "entry_id" not in transcript.replace("/feedback_helpful{broken", "")
    assert "/feedback_helpful{broken" in transcript  # not a payload we know: shown as typed
    assert transcript.count("ha cliccato un pulsante") == 4
