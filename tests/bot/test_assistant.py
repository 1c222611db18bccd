"""The conversation service on a real database (SQLite, and PostgreSQL when configured)
with the deterministic hashing embedder."""

from __future__ import annotations

import re

import pytest

from analytics import EventKind, events_of
from bot.assistant import Assistant, Turn
from core import session_scope
from escalation import Ticket
from escalation.models import OutboxMessage
from tests.escalation.test_tickets import SLA
from knowledge import repository as repo
from knowledge.models import Status

SHIP_EN = "Standard shipping is free from EUR 59."
SHIP_IT = "La spedizione standard è gratuita da 59 €."


@pytest.fixture
def assistant(kb, add_entry):
    add_entry(SHIP_EN, "How much does shipping cost?", "What are the delivery charges?",
              key="en-ship", category="pre_purchase")
    add_entry(SHIP_IT, "Quanto costa la spedizione?", "Quali sono le spese di spedizione?",
              key="it-ship", language="it", category="pre_purchase")
    add_entry("Returns are free within 30 days.", "How do I return an item?", key="en-return")
    # Two entries that answer the same words equally well: only the customer can choose.
    add_entry("Gift wrapping costs 3 euros.", "Do you do gifts?", "gift wrapping", key="g1")
    add_entry("Gift cards never expire.", "Do you do gifts?", "gift cards", key="g2")
    kb.warm_up()
    return Assistant(kb.settings, kb, sla=SLA)  # always open, 4 hours


def turn(text: str, conversation: str = "c1", **fields) -> Turn:
    return Turn(conversation_id=conversation, text=text, channel="rest", page="product:scarf",
                **fields)


def logged(assistant: Assistant, conversation: str = "c1", kind: EventKind | None = None):
    with session_scope(assistant.url) as session:
        return events_of(conversation, session=session, kind=kind)


def test_answer_in_english_with_feedback_buttons_and_log(assistant):
    reply = assistant.answer(turn("How much does shipping cost?"))
    assert reply.kind == "answer" and reply.language == "en"
    assert reply.messages[0] == SHIP_EN
    assert [p for _, p in reply.buttons] == [
        f'/feedback_helpful{{"entry_id": "{reply.entry_id}"}}',
        f'/feedback_unhelpful{{"entry_id": "{reply.entry_id}"}}']
    [event] = logged(assistant, kind=EventKind.MESSAGE)
    assert (event.decision, event.entry_id, event.language, event.page, event.channel) == (
        "answer", reply.entry_id, "en", "product:scarf", "rest")
    assert event.text == "How much does shipping cost?"
    assert event.score > 0.5 and event.latency_ms > 0


def test_italian_question_gets_the_italian_entry(assistant):
    reply = assistant.answer(turn("Quanto costa la spedizione?", language="en"))
    assert reply.language == "it" and reply.messages[0] == SHIP_IT
    assert reply.messages[1] == "Ti è stata utile questa risposta?"


def test_ambiguous_short_message_keeps_the_conversation_language(assistant):
    assert assistant.answer(turn("ok", language="en")).language == "en"
    assert assistant.answer(turn("ok", conversation="c2", hint="en-GB")).language == "en"
    assert assistant.answer(turn("ok", conversation="c3")).language == "it"


def test_clarify_offers_the_close_entries_and_a_way_out(assistant):
    reply = assistant.answer(turn("Do you do gifts?"))
    assert reply.kind == "clarify", reply
    payloads = [p for _, p in reply.buttons]
    assert payloads[-1] == "/ask_human"
    chosen = {p for p in payloads if p.startswith("/choose_entry")}
    assert len(chosen) >= 2
    assert reply.question == "Do you do gifts?"


def test_unknown_question_prepares_an_escalation(assistant):
    reply = assistant.answer(turn("Can I bring my dog to the Bologna warehouse on Sunday?"))
    assert reply.kind == "escalate" and reply.needs_contact
    assert re.search(r"they will reply (today|tomorrow) by \d\d:\d\d\.$", reply.messages[0])
    assert reply.question == "Can I bring my dog to the Bologna warehouse on Sunday?"
    [event] = logged(assistant, kind=EventKind.MESSAGE)
    assert event.decision == "escalate"


def test_second_escalation_joins_the_open_ticket_without_asking_again(assistant):
    first = assistant.open_ticket(turn("x"), "Where is my parcel 123?", reason="kb_escalate",
                                  email="a@b.example", consent=True,
                                  transcript=(("customer", "Where is my parcel 123?"),))
    assert first.kind == "ticket" and "a@b.example" in first.messages[0]
    with session_scope(assistant.url) as session:
        [mail] = session.query(OutboxMessage).all()
        assert (mail.kind, mail.to_addrs) == ("escalation", ["op@shop.example"])
        assert "Where is my parcel 123?" in mail.text_body
    reply = assistant.answer(turn("Can I bring my dog to the Bologna warehouse on Sunday?"))
    assert reply.kind == "ticket" and not reply.needs_contact
    with session_scope(assistant.url) as session:
        tickets = session.query(Ticket).all()
        assert len(tickets) == 1
        assert tickets[0].transcript[-1]["text"].startswith("Can I bring my dog")
        assert [e.kind for e in tickets[0].events] == ["opened", "notified", "customer_followup"]
        assert session.query(OutboxMessage).count() == 1


def test_ticket_without_consent_keeps_no_email(assistant):
    reply = assistant.open_ticket(turn("x", language="it"), "Domanda strana", reason="",
                                  email="a@b.example", consent=False, transcript=())
    assert "questa chat" in reply.messages[0]
    with session_scope(assistant.url) as session:
        ticket = session.query(Ticket).one()
        assert ticket.customer_email == "" and ticket.reason == "customer_request"
        assert ticket.due_at > ticket.opened_at


@pytest.mark.parametrize("text, reason", [("", "empty"), ("   \x00\u200b ", "empty"),
                                          ("spedizione? " * 2000, "too_long")])
def test_unsearchable_messages_get_a_clear_reply_and_are_logged(assistant, text, reason):
    reply = assistant.answer(turn(text, language="it"))
    assert reply.kind == "invalid"
    assert ("Non ho ricevuto" in reply.messages[0]) == (reason == "empty")
    [event] = logged(assistant, kind=EventKind.INVALID)
    assert event.data == {"reason": reason} and len(event.text) <= 2000


@pytest.mark.parametrize("text", ["<script>alert(1)</script> shipping?", "'; DROP TABLE kb_entries;--",
                                  "🚚📦?", "\ud800 broken surrogate shipping"])
def test_hostile_text_is_just_a_question(assistant, text):
    reply = assistant.answer(turn(text))
    assert reply.kind in {"answer", "clarify", "escalate"}
    with session_scope(assistant.url) as session:
        assert repo.stats(session=session)["entries"] == 5


def test_a_flood_is_rate_limited_politely(kb, add_entry):
    add_entry(SHIP_EN, "How much does shipping cost?", key="en-ship")
    limited = Assistant(kb.settings.model_copy(update={"chat_rate_limit": "3/minute"}), kb, sla=SLA)
    kinds = [limited.answer(turn("How much does shipping cost?")).kind for _ in range(5)]
    assert kinds == ["answer"] * 3 + ["rate_limited"] * 2
    assert len(logged(limited, kind=EventKind.MESSAGE)) == 3
    assert len(logged(limited, kind=EventKind.RATE_LIMITED)) == 2
    assert limited.answer(turn("How much does shipping cost?", conversation="other")).kind == "answer"


def test_choose_answers_with_the_entry_or_says_it_is_gone(assistant, database_url):
    with session_scope(database_url) as session:
        entry = repo.get_entry("en-return", session=session)
        entry_id = entry.id
    reply = assistant.choose(turn("/choose_entry", language="en"), entry_id)
    assert reply.messages[0] == "Returns are free within 30 days." and reply.entry_id == entry_id
    with session_scope(database_url) as session:
        repo.update_entry(repo.get_entry(entry_id, session=session), session=session, by="test",
                          reason="retired", status=Status.RETIRED.value)
    assert assistant.choose(turn("/choose_entry", language="en"), entry_id).kind == "invalid"
    assert assistant.choose(turn("/choose_entry", language="en"), 10**9).kind == "invalid"
    assert [e.decision for e in logged(assistant, kind=EventKind.CHOICE)] == ["answer", "gone", "gone"]


def test_feedback_is_recorded_and_a_thumbs_down_offers_a_person(assistant):
    assert assistant.feedback(turn("/feedback_helpful", language="en"), 3, True).messages == (
        "Thanks for the feedback!",)
    down = assistant.feedback(turn("/feedback_unhelpful", language="en"), 3, False)
    assert [p for _, p in down.buttons] == ["/ask_human", "/deny"]
    assert [(e.entry_id, e.data["helpful"]) for e in logged(assistant, kind=EventKind.FEEDBACK)] == [
        (3, True), (3, False)]


def test_error_reply_names_the_support_address_and_is_logged(assistant):
    reply = assistant.error(turn("boom", language="en"), RuntimeError("db down"))
    assert reply.kind == "error" and assistant.settings.support_email in reply.messages[0]
    [event] = logged(assistant, kind=EventKind.ERROR)
    assert event.data == {"error": "RuntimeError"}


def test_conversation_start_uses_the_browser_language(assistant):
    assert assistant.start_conversation("c9", channel="socketio", page="cart", hint="en-US") == "en"
    assert assistant.start_conversation("c8", channel="socketio", page="", hint="de") == "it"
    [event] = logged(assistant, "c9")
    assert (event.kind, event.page, event.language) == ("conversation_start", "cart", "en")


def test_an_answer_nobody_received_is_handed_over_when_the_chat_opens_again(assistant):
    from escalation import finish_answer, record_answer

    assistant.open_ticket(turn("x", language="it"), "Posso pagare in contanti al ritiro?",
                          reason="kb_escalate", email="", consent=False, transcript=())
    with session_scope(assistant.url) as session:
        ticket_id = session.query(Ticket).one().id
    record_answer(ticket_id, "Sì, al ritiro in negozio accettiamo contanti.", "op@shop.example",
                  via="console", settings=assistant.settings)
    finish_answer(ticket_id, settings=assistant.settings, kb=assistant.kb,
                  deliver_in_chat=lambda ticket: False)  # the customer had left the chat
    [reply] = assistant.answers_waiting("c1")
    assert reply.messages == (f"Ecco la risposta del nostro operatore alla tua richiesta n. {ticket_id}:",
                              "Sì, al ritiro in negozio accettiamo contanti.")
    assert assistant.answers_waiting("c1") == []  # handed over once
    assert assistant.answers_waiting("someone-else") == []
    with session_scope(assistant.url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.delivery_channel == "chat_later" and ticket.delivered_at is not None
