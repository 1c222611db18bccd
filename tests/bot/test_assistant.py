"""The conversation service on a real database (SQLite, and PostgreSQL when configured)
with the deterministic hashing embedder."""

from __future__ import annotations

import re

import pytest

from analytics import EventKind, events_of
from bot.conversation.assistant import Assistant
from bot.conversation.turns import Turn
from core import session_scope
from escalation import Ticket
from escalation.models import OutboxMessage
from knowledge import repository as repo
from knowledge.models import Status
from tests.escalation.test_tickets import SLA

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


DOG = "Can I bring my dog to the Bologna warehouse on Sunday?"


def tickets_of(assistant: Assistant, conversation: str = "c1") -> list[Ticket]:
    with session_scope(assistant.url) as session:
        tickets = session.query(Ticket).filter_by(conversation_id=conversation).order_by(
            Ticket.id).all()
        for ticket in tickets:
            _ = ticket.events
        return tickets


def operator_mails(assistant: Assistant) -> list[OutboxMessage]:
    with session_scope(assistant.url) as session:
        return session.query(OutboxMessage).filter_by(kind="escalation").order_by(
            OutboxMessage.id).all()


def test_an_escalation_that_goes_silent_still_has_its_ticket_and_operator_mail(assistant):
    """The promise and the ticket are one moment: the customer never answers the email
    question, and the question still reaches a person (with the chat as its channel)."""
    reply = assistant.answer(turn(DOG, transcript=(("customer", DOG),)))
    assert reply.kind == "escalate" and reply.needs_contact  # the email question follows
    [ticket] = tickets_of(assistant)
    assert re.search(rf"\(request #{ticket.id}\): they will reply (today|tomorrow) by "
                     r"\d{1,2}(:\d\d)? [ap]m Italian time\. The answer will arrive in this chat",
                     reply.messages[0])
    assert (ticket.question, ticket.reason, ticket.status, ticket.customer_email) == (
        DOG, "kb_escalate", "open", "")
    assert ticket.transcript == [{"role": "customer", "text": DOG}] and ticket.considered
    [mail] = operator_mails(assistant)
    assert mail.ticket_id == ticket.id and mail.to_addrs == ["op@shop.example"]
    assert DOG in mail.text_body
    [event] = logged(assistant, kind=EventKind.MESSAGE)
    assert event.decision == "escalate"


def test_the_email_question_only_adds_a_contact_to_the_open_ticket(assistant):
    assistant.answer(turn(DOG))
    reply = assistant.add_contact(turn("mario@example.com", language="en"), "mario@example.com")
    assert reply.messages == ("Thanks. You'll get the answer here in the chat if it is still "
                              "open, otherwise by email at the address you gave us.",)
    [ticket] = tickets_of(assistant)
    assert ticket.customer_email == "mario@example.com" and ticket.contact_consent
    assert len(operator_mails(assistant)) == 1  # no second ticket, no second mail


def test_later_questions_are_tickets_of_their_own_and_one_answer_closes_one(assistant):
    from escalation import finish_answer, record_answer

    questions = [DOG, "Do you sell spare buttons for the wool coat?",
                 "Is the Milan shop open on Christmas Eve?"]
    replies = [assistant.answer(turn(q)) for q in questions]
    tickets = tickets_of(assistant)
    assert [t.question for t in tickets] == questions
    assert [r.ticket_id for r in replies] == [t.id for t in tickets]
    mails = operator_mails(assistant)
    assert [m.ticket_id for m in mails] == [t.id for t in tickets]  # each reaches a person
    # The last mail tells the operator about the other open questions of the same customer.
    assert f"#T{tickets[0].id}: {DOG}" in mails[2].text_body
    assert "This reply closes only the question above." in mails[2].text_body
    record_answer(tickets[1].id, "Yes, write to us with the coat's size.", "op@shop.example",
                  via="console", settings=assistant.settings)
    finish_answer(tickets[1].id, settings=assistant.settings, kb=assistant.kb,
                  deliver_in_chat=lambda ticket: True)
    assert [t.status for t in tickets_of(assistant)] == ["open", "closed", "open"]


def test_asking_the_same_question_again_is_the_same_ticket(assistant):
    first = assistant.answer(turn(DOG))
    again = assistant.answer(turn(DOG))
    assert again.ticket_id == first.ticket_id and again.messages[0].startswith(
        f"This question is already with our team (request #{first.ticket_id})")
    assert len(tickets_of(assistant)) == 1 and len(operator_mails(assistant)) == 1


def test_a_contact_given_once_covers_later_questions_and_is_never_repeated(assistant):
    assistant.answer(turn(DOG))
    assistant.add_contact(turn("alice@example.com", language="en"), "alice@example.com")
    later = assistant.answer(turn("Do you sell spare buttons for the wool coat?", language="en"))
    assert not later.needs_contact  # nothing to ask again
    assert later.messages[0].endswith("otherwise by email at the address you gave us.")
    assert [t.customer_email for t in tickets_of(assistant)] == ["alice@example.com"] * 2
    # Whoever replays the conversation id sees no address in any reply.
    replay = [assistant.answer(turn("Is the Milan shop open on Christmas Eve?")),
              assistant.hand_off(turn("I want a person")),
              assistant.add_contact(turn("x", language="en"), "mallory@example.com")]
    assert all("alice" not in text for reply in replay for text in reply.messages)


def test_asking_for_a_person_first_asks_the_question_and_promises_nothing_yet(assistant):
    reply = assistant.hand_off(turn("I want to talk to a person", language="en"))
    assert reply.kind == "ask_question" and reply.messages == () and reply.needs_contact
    assert tickets_of(assistant) == [] and operator_mails(assistant) == []
    promised = assistant.hand_off_question(turn("my parcel arrived damaged", language="en"),
                                           "my parcel arrived damaged")
    [ticket] = tickets_of(assistant)
    assert promised.messages[0].startswith(
        f"I've passed your question to a person on our team (request #{ticket.id})")
    assert (ticket.reason, ticket.question) == ("customer_request", "my parcel arrived damaged")
    assert len(operator_mails(assistant)) == 1


def test_asking_for_a_person_after_a_question_passes_that_question_on(assistant):
    assistant.answer(turn("How much does shipping cost?"))
    reply = assistant.hand_off(turn("I want a human", language="en"))
    [ticket] = tickets_of(assistant)
    assert reply.kind == "escalate" and ticket.question == "How much does shipping cost?"
    assert ticket.reason == "customer_request"


def test_a_signed_in_customer_is_not_asked_and_gets_the_contact(assistant):
    reply = assistant.answer(turn(DOG, customer_email="ann@example.com"))
    assert not reply.needs_contact and "ann@example.com" not in reply.messages[0]
    assert tickets_of(assistant)[0].customer_email == "ann@example.com"


def test_a_bad_address_is_not_kept(assistant):
    assistant.answer(turn(DOG))
    reply = assistant.add_contact(turn("x", language="en"), "crlf@example.com\r\nBcc: a@evil.io")
    assert reply.messages == ("I couldn't record that address: the answer will arrive in this "
                              "chat.",)
    assert tickets_of(assistant)[0].customer_email == ""


def test_answers_arriving_together_are_each_pushed_into_the_chat_once(assistant):
    from escalation import record_answer

    for question in (DOG, "Do you sell spare buttons for the wool coat?"):
        assistant.answer(turn(question))
    first, second = tickets_of(assistant)
    for ticket, text in ((first, "No dogs, sorry."), (second, "Yes, ask us.")):
        record_answer(ticket.id, text, "op@shop.example", via="console",
                      settings=assistant.settings)
    pushed = [assistant.operator_answer("c1"), assistant.operator_answer("c1")]
    assert [r.messages[1] for r in pushed] == ["No dogs, sorry.", "Yes, ask us."]
    assert assistant.operator_answer("c1") is None


def test_the_direct_ticket_keeps_no_email_without_consent(assistant):
    reply = assistant.open_ticket(turn("x", language="it"), "Domanda strana", reason="",
                                  email="a@b.example", consent=False, transcript=())
    assert "questa chat" in reply.messages[0] and "a@b.example" not in reply.messages[0]
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


@pytest.mark.parametrize("text",
                         ["<script>alert(1)</script> shipping?", "'; DROP TABLE kb_entries;--",
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
    assert limited.answer(turn("How much does shipping cost?",
                               conversation="other")).kind == "answer"


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
    decisions = [e.decision for e in logged(assistant, kind=EventKind.CHOICE)]
    assert decisions == ["answer", "gone", "gone"]


def test_feedback_is_recorded_and_a_thumbs_down_offers_a_person(assistant):
    assert assistant.feedback(turn("/feedback_helpful", language="en"), 3, True).messages == (
        "Thanks for the feedback!",)
    down = assistant.feedback(turn("/feedback_unhelpful", language="en"), 3, False)
    assert [p for _, p in down.buttons] == ["/ask_human", "/deny"]
    assert [(e.entry_id, e.data["helpful"])
            for e in logged(assistant, kind=EventKind.FEEDBACK)] == [
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
    assert reply.messages == ("Ecco la risposta del nostro operatore alla tua richiesta n. "
                              f"{ticket_id}:",
                              "Sì, al ritiro in negozio accettiamo contanti.")
    assert assistant.answers_waiting("c1") == []  # handed over once
    assert assistant.answers_waiting("someone-else") == []
    with session_scope(assistant.url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.delivery_channel == "chat_later" and ticket.delivered_at is not None


def test_past_the_open_question_limit_nothing_is_promised(assistant):
    from escalation.tickets import MAX_OPEN_PER_CONVERSATION

    for i in range(MAX_OPEN_PER_CONVERSATION):
        assistant.hand_off_question(turn("x", language="en"), f"Odd question number {i}?")
    reply = assistant.hand_off_question(turn("x", language="en"), "One question too many?")
    assert reply.kind == "too_many_open" and not reply.needs_contact
    assert "will reply" not in reply.messages[0] and "#" not in reply.messages[0]
    assert len(tickets_of(assistant)) == MAX_OPEN_PER_CONVERSATION
    assert len(logged(assistant, kind=EventKind.ESCALATION)) == MAX_OPEN_PER_CONVERSATION


def test_a_question_the_nlu_took_for_small_talk_is_answered_when_the_kb_knows_it(assistant):
    """Rasa's intent model varies from one training to the next; a known question it files
    as chitchat must still get its answer, and only that: small talk stays declined."""
    reply = assistant.small_talk(turn("How much does shipping cost?", conversation="st1"))
    assert reply is not None and reply.kind == "answer" and reply.messages[0] == SHIP_EN
    assert assistant.small_talk(turn("tell me a joke about robots", conversation="st2")) is None
    assert [e.decision for e in logged(assistant, "st1", EventKind.MESSAGE)] == ["answer"]
    assert not logged(assistant, "st2", EventKind.MESSAGE)  # no ticket, no question logged
