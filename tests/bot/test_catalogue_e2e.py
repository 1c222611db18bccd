"""Product questions end to end through the real Rasa 3.6 server and action endpoint, on
the demo shop's FAQ and catalogue (imported by the stack on first start, as by
`supportbot run`): answered from the catalogue, the restock date of a sold-out colour,
an escalation when the data cannot say, a re-import that changes the next answer, and an
operator's answer learned for one product only."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

import pytest

from analytics import EventKind, events_of
from catalogue.feeds import read_feed
from catalogue.importer import import_products
from catalogue.records import Availability
from core import session_scope
from escalation import Ticket
from tests.conftest import ROOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

DEMO_CATALOGUE = ROOT / "data" / "demo_catalogue.csv"
AURORA = {"page": "product:borsa-aurora"}
COAT = {"page": "product:cappotto-aurora-cammello"}
LAPTOP = "la borsa entra un portatile da 15 pollici?"
OPERATOR = "operatore@bottega-aurora.example"


def new_sender() -> str:
    return f"cat-{uuid.uuid4().hex[:10]}"


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text", "") for m in messages]


def payloads(messages: list[dict]) -> list[str]:
    return [b["payload"] for m in messages for b in m.get("buttons") or []]


def logged(live_bot, sender: str, kind: EventKind = EventKind.MESSAGE):
    with session_scope(live_bot.settings.resolved_database_url) as session:
        return events_of(sender, session=session, kind=kind)


def product_of(event) -> tuple[str, str, str]:
    product = event.data["product"]
    return product["slug"], product["attribute"], product["answered_by"]


def tickets_of(live_bot, sender: str) -> list[Ticket]:
    with session_scope(live_bot.settings.resolved_database_url) as session:
        return session.query(Ticket).filter_by(conversation_id=sender).order_by(Ticket.id).all()


def test_the_demo_catalogue_was_imported_on_first_start(live_bot):
    assert live_bot.assistant.desk.current_index() is not None
    assert "borsa-aurora" in live_bot.assistant.desk.current_index()


def test_a_question_on_a_product_page_is_answered_from_the_catalogue(live_bot):
    sender = new_sender()
    reply = live_bot.say(sender, LAPTOP, AURORA)
    assert texts(reply)[-1] == "Ti è stata utile questa risposta?", reply
    assert "richiesta n." not in reply[0]["text"]
    [event] = logged(live_bot, sender)
    assert event.decision == "answer" and event.page == "product:borsa-aurora"
    assert product_of(event) == ("borsa-aurora", "fits", "catalogue")
    thumbs_up = next(p for p in payloads(reply) if p.startswith("/feedback_helpful"))
    assert "product:borsa-aurora" in thumbs_up
    assert texts(live_bot.say(sender, thumbs_up)) == ["Grazie del riscontro!"]
    [verdict] = logged(live_bot, sender, EventKind.FEEDBACK)
    assert verdict.entry_id is None and verdict.data["product"]["slug"] == "borsa-aurora"


def test_a_sold_out_colour_gets_its_restock_date(live_bot):
    available = live_bot.say(new_sender(), "avete il cappotto aurora in blu notte?", COAT)
    sold_out_sender = new_sender()
    sold_out = live_bot.say(sold_out_sender, "avete il cappotto aurora in cammello?", COAT)
    assert "richiesta n." not in sold_out[0]["text"]
    assert "12 gennaio" in sold_out[0]["text"] or "12/01/2027" in sold_out[0]["text"], sold_out
    assert available[0]["text"] != sold_out[0]["text"]
    [event] = logged(live_bot, sold_out_sender)
    assert event.decision == "answer" and product_of(event)[0] == "cappotto-aurora-cammello"


def test_a_question_the_data_cannot_answer_escalates_with_a_ticket(live_bot):
    sender = new_sender()
    reply = live_bot.say(sender, LAPTOP, {"page": "product:borsa-tracolla-nina"})
    [ticket] = tickets_of(live_bot, sender)
    assert any(f"richiesta n. {ticket.id}" in t for t in texts(reply)), reply
    assert "richiesta n." not in reply[0]["text"]  # the honest sentence comes first
    assert payloads(reply) == ["/affirm", "/deny"]  # then the email question, as for any ticket
    assert (ticket.product_slug, ticket.product_attribute) == ("borsa-tracolla-nina", "fits")
    [event] = logged(live_bot, sender)
    assert event.decision == "escalate"
    assert product_of(event) == ("borsa-tracolla-nina", "fits", "")


@pytest.fixture
def demo_catalogue(live_bot):
    """The demo catalogue as read from the file; re-imported as it was afterwards, so the
    other tests of the shared live bot see the demo shop unchanged."""
    url = live_bot.settings.resolved_database_url
    products = read_feed(DEMO_CATALOGUE)
    yield url, products
    with session_scope(url) as session:
        import_products(products, session=session, source="test restore")


def test_a_reimport_changes_the_next_answer_at_once(live_bot, demo_catalogue):
    url, products = demo_catalogue
    question = "avete il cappotto aurora in blu notte?"
    before = live_bot.say(new_sender(), question, COAT)[0]["text"]
    sold_out = [dataclasses.replace(p, variants=tuple(
        dataclasses.replace(v, availability=Availability.OUT_OF_STOCK, restock=date(2027, 3, 2))
        if v.colour == "blu notte" else v for v in p.variants))
        if p.slug == "cappotto-aurora-cammello" and p.language == "it" else p for p in products]
    with session_scope(url) as session:  # as `supportbot catalogue import` does
        import_products(sold_out, session=session, source="test")
    after = live_bot.say(new_sender(), question, COAT)[0]["text"]
    assert after != before
    assert "2 marzo" in after or "02/03/2027" in after, after


def test_an_operator_answer_teaches_that_product_only(live_bot):
    question = "ci sta un portatile da 13 pollici nel marsupio?"
    page = {"page": "product:marsupio-pelle"}
    sender = new_sender()
    live_bot.say(sender, question, page)  # the NLU reads it as ask_human: still a question
    live_bot.say(sender, "/deny")
    [ticket] = tickets_of(live_bot, sender)
    assert ticket.product_slug == "marsupio-pelle"
    answer = "No: nel marsupio entrano telefono, portafoglio e chiavi, non un portatile."
    outcome = live_bot.services.answer(ticket.id, answer, OPERATOR, via="console")
    assert outcome.learned_entry_id is None and "marsupio-pelle" in outcome.note
    again = new_sender()
    reply = live_bot.say(again, question, page)
    assert reply[0]["text"] == answer, reply
    assert product_of(logged(live_bot, again)[0]) == ("marsupio-pelle", "fits", "note")
    # The same words on another product with no inner size: a person, never the note.
    elsewhere = new_sender()
    other = live_bot.say(elsewhere, "ci sta un portatile da 13 pollici nella borsa?",
                         {"page": "product:borsa-tracolla-nina"})
    assert answer not in texts(other) and tickets_of(live_bot, elsewhere), other


@pytest.mark.parametrize("question, page, slug", [
    ("la borsa entra un portatile da 15 pollici", "product:borsa-aurora", "borsa-aurora"),
    ("avete la sciarpa in verde petrolio", "product:sciarpa-merino", "sciarpa-merino"),
    ("quando torna disponibile il cappotto aurora color cammello", "", "cappotto-aurora-cammello"),
    ("is the aurora bag big enough for a 15 inch laptop", "", "borsa-aurora"),
    # Short ones the trained model files elsewhere (measured on the labelled dev set):
    ("ci entra un a4?", "product:borsa-mano-pelle", "borsa-mano-pelle"),  # a thumbs down
    ("disponibile?", "product:zaino-dante", "zaino-dante"),  # ask_human
    ("how much?", "product:zaino-dante", "zaino-dante"),  # thanks
    ("prezzo?", "product:stivali", "stivali"),  # goodbye
    ("what's the lining of the aurora bag", "", "borsa-aurora"),  # greet
])
def test_the_nlu_routes_the_most_asked_product_questions_to_the_product_path(
        live_bot, question, page, slug):
    """The issue's four most asked questions: whatever intent the NLU gives them, they
    reach the product path (answered or passed on, never declined as small talk)."""
    sender = new_sender()
    reply = live_bot.say(sender, question, {"page": page} if page else {})
    assert reply, "no reply"
    [event] = logged(live_bot, sender)
    assert product_of(event)[0] == slug, (reply, event.data)
    greetings = ("Ciao!", "Hi!", "Goodbye", "A presto", "Figurati", "You're welcome")
    assert not any(t.startswith(greetings) for t in texts(reply)), reply  # nor a goodbye
    if "/affirm" in payloads(reply):
        live_bot.say(sender, "/deny")  # passed to a person: answered in the chat
    after = live_bot.say(sender, "Quanto costa la spedizione?")  # the dialogue goes on
    assert "59 €" in after[0]["text"], after
