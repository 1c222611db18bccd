"""The customer conversation's rough edges, decided by the actions whatever intent the NLU
model guessed: a thanks with a goodbye, a shop question filed as small talk, an email
address typed inside a sentence or mistyped, a deadline's time zone. Real rasa-sdk
trackers and dispatcher, a real Assistant on a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from analytics import EventKind, events_of
from bot.conversation.actions import (
    ActionAnswerQuestion,
    ActionSmallTalk,
    ActionThanks,
)
from bot.conversation.contact_form import ActionOpenTicket, ValidateEscalationForm
from bot.conversation.phrases import deadline
from core import session_scope
from tests.bot.test_actions_hostile import (
    DOG,
    contact_tracker,
    starts_form,
    tickets,
    tracker,
)


def act(action, track) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, {}))
    return dispatcher.messages, events


def responses(messages: list[dict]) -> list[str]:
    return [m.get("response") for m in messages if m.get("response")]


# -- 1. a thanks with a goodbye ends the conversation, rating offered ----------------------
FAREWELLS = [("ok grazie, ciao!", "it"), ("grazie mille, buona giornata", "it"),
             ("thanks, bye!", "en"), ("perfetto grazie arrivederci", "it")]


@pytest.mark.parametrize("text, language", FAREWELLS)
@pytest.mark.parametrize("action, intent", [(ActionThanks, "thanks"),
                                            (ActionSmallTalk, "chitchat"),
                                            (ActionAnswerQuestion, "ask_question")])
def test_a_thanks_with_a_goodbye_is_a_goodbye_whatever_the_intent(assistant, text, language,
                                                                   action, intent):
    messages, _ = act(action(assistant), tracker(text, intent=intent,
                                                 slots={"language": language}))
    assert responses(messages) == ["utter_goodbye"]  # its custom payload asks for the rating
    assert not tickets(assistant)  # never a question for a person


@pytest.mark.parametrize("text", ["grazie", "thank you so much", "grazie, ma la taglia 42?"])
def test_a_plain_thanks_is_welcomed(assistant, text):
    messages, _ = act(ActionThanks(assistant), tracker(text, intent="thanks"))
    assert responses(messages) == ["utter_you_are_welcome"]


# -- 2. a shop question filed as small talk is never declined ------------------------------
@pytest.mark.parametrize("text, language", [
    ("Can I rent a dress for a wedding?", "en"),
    ("Posso noleggiare un abito per un matrimonio?", "it"),
    ("do you sell scarves in size M", "en"),
])
def test_a_shop_question_filed_as_small_talk_takes_the_question_path(assistant, text, language):
    messages, events = act(ActionSmallTalk(assistant),
                           tracker(text, intent="chitchat", slots={"language": language}))
    assert "utter_decline_chitchat" not in responses(messages)
    [ticket] = tickets(assistant)  # the knowledge base does not know it: a person answers
    assert ticket.question == text and starts_form(events)
    assert any(f"#{ticket.id}" in m.get("text", "") or f"n. {ticket.id}" in m.get("text", "")
               for m in messages)


def test_small_talk_the_knowledge_base_knows_is_answered(assistant):
    messages, _ = act(ActionSmallTalk(assistant),
                      tracker("how much does shipping cost", intent="chitchat"))
    assert "free from EUR 59" in messages[0]["text"]


@pytest.mark.parametrize("text", ["ciao!", "tell me a joke", "what's your favourite colour?",
                                  "dove abiti?"])
def test_real_small_talk_is_still_declined_and_nothing_is_logged(assistant, text):
    messages, events = act(ActionSmallTalk(assistant), tracker(text, intent="chitchat"))
    assert responses(messages) == ["utter_decline_chitchat"] and events == []
    assert not tickets(assistant)
    with session_scope(assistant.url) as session:
        assert not events_of("c1", session=session, kind=EventKind.MESSAGE)


# -- 3. the email address: in a sentence, and what is wrong in the customer's language -----
def validate(assistant, text: str, language: str) -> tuple[dict, list[str]]:
    dispatcher = CollectingDispatcher()
    form = ValidateEscalationForm(assistant)
    track = tracker(text, slots={"language": language})
    result = asyncio.run(form.validate_customer_email(text, dispatcher, track, {}))
    return result, [m.get("text") or "" for m in dispatcher.messages]


@pytest.mark.parametrize("text, email", [
    ("it is tom.baker@outlook.com", "tom.baker@outlook.com"),
    ("la mia mail è mario.rossi@gmail.com grazie", "mario.rossi@gmail.com"),
    ("<Mario.Rossi@Gmail.com>", "Mario.Rossi@gmail.com"),
    ("email: anna@example.com.", "anna@example.com"),
])
def test_an_address_inside_a_sentence_is_found(assistant, text, email):
    assert validate(assistant, text, "it") == ({"customer_email": email}, [])


@pytest.mark.parametrize("text, italian, english", [
    ("mario at example", "manca la chiocciola @", "the @ sign is missing"),
    ("mario@gmail", "dopo la @ ci vuole un dominio", "after the @ it needs a domain"),
    ("mario@", "dopo la @ ci vuole un dominio", "after the @ it needs a domain"),
    ("mario rossi@gmail.com", "non contiene spazi", "has no spaces"),
    ("mario.rossi @gmail.com", "non contiene spazi", "has no spaces"),
    ("m" * 300 + "@gmail.com", "è troppo lungo", "it is too long"),
    ("mario..rossi@gmail.com", "controlla di averlo scritto bene", "check how it is written"),
])
def test_a_wrong_address_is_explained_in_the_customers_language(assistant, text, italian,
                                                                  english):
    result, [said] = validate(assistant, text, "it")
    assert result == {"customer_email": None}
    assert italian in said and "non sembra valido" in said
    assert "@-sign" not in said and "email address" not in said  # no library English
    result, [said] = validate(assistant, text, "en")
    assert result == {"customer_email": None} and english in said


def test_two_different_addresses_are_asked_about(assistant):
    result, [said] = validate(assistant, "a.b@example.com oppure c.d@example.org", "it")
    assert result == {"customer_email": None} and "quale usiamo" in said
    result, [said] = validate(assistant, "a.b@example.com or c.d@example.org", "en")
    assert "which one" in said


def test_an_address_typed_in_a_sentence_reaches_the_ticket(assistant):
    act(ActionAnswerQuestion(assistant), tracker(DOG))
    typed = "la mia mail è mario.rossi@gmail.com grazie"
    messages, _ = act(ActionOpenTicket(assistant),
                      contact_tracker(typed, "mario.rossi@gmail.com"))
    assert tickets(assistant)[0].customer_email == "mario.rossi@gmail.com"
    assert "mario" not in " ".join(m.get("text") or "" for m in messages)


# -- 4. a deadline says its time zone ------------------------------------------------------
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Rome
ROME = ZoneInfo("Europe/Rome")


@pytest.mark.parametrize("language, due, expected", [
    ("it", datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "oggi entro le 13:00 (ora italiana)"),
    ("en", datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "today by 1 pm Italian time"),
    ("en", datetime(2026, 12, 1, 8, 30, tzinfo=UTC), "tomorrow by 9:30 am Italian time"),
    ("it", datetime(2026, 12, 3, 11, 0, tzinfo=UTC),
     "entro giovedì 3 dicembre alle 12:00 (ora italiana)"),
    ("en", datetime(2026, 12, 3, 11, 0, tzinfo=UTC),
     "by Thursday 3 December at 12 pm Italian time"),
])
def test_a_deadline_names_the_italian_time_zone(language, due, expected):
    assert deadline(language, due, NOW, ROME) == expected


def test_another_time_zone_is_named_in_the_customers_language():
    due = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert deadline("it", due, NOW, ZoneInfo("America/New_York")) == (
        "oggi entro le 12:00 (ora di New York)")
    assert deadline("en", due, NOW, ZoneInfo("America/New_York")) == "today by 12 pm New York time"


def test_an_escalation_promises_a_deadline_in_italian_time(assistant):
    messages, _ = act(ActionAnswerQuestion(assistant), tracker(DOG))
    assert "Italian time" in messages[0]["text"]
