"""Custom actions served on Rasa's action endpoint (rasa-sdk), in rasa-sdk's thin style:
read the tracker, call one `Assistant` method in a worker thread, send the reply,
return events. Rasa's dict events stay in this module."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.conversation.assistant import Assistant
from bot.conversation.identity import verified_email
from bot.conversation.language import (
    SERVED,
    conversation_language,
    shop_question,
    thanks_and_goodbye,
)
from bot.conversation.product_path import feedback_product
from bot.conversation.turns import Reply, ReplyKind, Turn
from core import DecisionKind, utcnow
from knowledge import InvalidQuestion

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

FORM = "escalation_form"
# The tracker is input like any other (the action endpoint is reachable from outside the
# process): sizes are capped here, before anything is stored.
MAX_SENDER = 128  # the conversation id column
MAX_TEXT = 20_000  # well above the question limit, which the knowledge base enforces
MAX_TRANSCRIPT_TURNS = 30
MAX_TURN_CHARS = 2000


class BadTracker(ValueError):
    """A tracker no conversation of ours can have (e.g. an oversized sender id)."""


def turn_of(tracker: Tracker, identity_secret: str = "") -> Turn:
    if not isinstance(tracker.sender_id, str) or not 0 < len(tracker.sender_id) <= MAX_SENDER:
        raise BadTracker("the conversation id is missing or too long")
    message = tracker.latest_message or {}
    meta = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
    language = tracker.get_slot("language")
    return Turn(
        conversation_id=tracker.sender_id,
        text=bounded_text(message.get("text"), MAX_TEXT),
        language=language if language in SERVED else None,
        hint=bounded_text(meta.get("language"), 16),
        channel=bounded_text(tracker.get_latest_input_channel(), 32),
        page=bounded_text(meta.get("page")),
        # Only an address the shop's backend signed; a bare one is anybody's claim.
        customer_email=verified_email(meta, identity_secret, utcnow()),
        transcript=transcript_of(tracker),
    )


def bounded_text(value: Any, limit: int = 300) -> str:
    """A tracker's text as the assistant may take it: a string, cut, without control
    characters (anything else in a forged tracker is nothing)."""
    return _CONTROL.sub("", value[:limit]) if isinstance(value, str) else ""


def transcript_of(tracker: Tracker, limit: int = MAX_TRANSCRIPT_TURNS
                  ) -> tuple[tuple[str, str], ...]:
    """The conversation's last turns from the tracker's events: what the chat server
    recorded, capped in turns and size (the console labels it as such)."""
    turns = [("customer" if e.get("event") == "user" else "bot", e["text"][:MAX_TURN_CHARS])
             for e in tracker.events[-20 * limit:]
             if isinstance(e, dict) and e.get("event") in ("user", "bot")
             and isinstance(e.get("text"), str) and e["text"]]
    return tuple(turns[-limit:])


def send(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    if not reply.messages:
        return
    *first, last = reply.messages
    for text in first:
        dispatcher.utter_message(text=text)
    buttons = [{"title": title, "payload": payload} for title, payload in reply.buttons]
    dispatcher.utter_message(text=last, buttons=buttons or None)


class AssistantAction(Action):
    """Runs one blocking `Assistant` call off the event loop; a failure becomes a polite
    message to the customer and an error logged with the conversation id."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def turn(self, tracker: Tracker) -> Turn:
        return turn_of(tracker, self.assistant.settings.shop_identity_secret)

    async def call(self, tracker: Tracker, work: Callable[[Turn], Reply | None]) -> Reply | None:
        turn = self.turn(tracker)
        try:
            return await asyncio.to_thread(work, turn)
        except Exception as exc:
            log.exception("action %s failed in conversation %s", self.name(), turn.conversation_id)
            return await asyncio.to_thread(self.assistant.error, turn, exc)


class ActionSessionStart(AssistantAction):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        meta = tracker.get_slot("session_started_metadata")
        meta = meta if isinstance(meta, dict) else {}
        try:
            turn = self.turn(tracker)
            language = await asyncio.to_thread(
                self.assistant.start_conversation, turn.conversation_id, channel=turn.channel,
                page=bounded_text(meta.get("page")), hint=bounded_text(meta.get("language"), 16))
        except Exception:
            log.exception("conversation %.128s: could not log its start", tracker.sender_id)
            language = "it"
        return [SessionStarted(), SlotSet("language", language), ActionExecuted("action_listen")]


class ActionDetectLanguage(AssistantAction):
    """Runs before Rasa's own responses so that they come in the customer's language. A
    product question the NLU read as a greeting or a goodbye ("prezzo?", "what's the
    lining of the aurora bag") is answered here instead, and the response is skipped."""

    def name(self) -> str:
        return "action_detect_language"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        turn = self.turn(tracker)
        if (tracker.get_intent_of_latest_message() in ("greet", "goodbye")
                and await asks_about_product(self, tracker)):
            events = await answer_instead(self, dispatcher, tracker)
            if not any(isinstance(e, dict) and e.get("event") == "followup" for e in events):
                events.append(FollowupAction("action_listen"))  # no greeting after the answer
            return events
        return changed_slots(tracker, language=conversation_language(turn.text, turn.language,
                                                                     turn.hint))


class ActionAnswerQuestion(AssistantAction):
    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        chosen = next(tracker.get_latest_entity_values("entry_id"), None)
        if (tracker.get_intent_of_latest_message() == "choose_entry" and isinstance(chosen, str)
                and chosen.isascii() and chosen.isdigit() and len(chosen) < 10):
            reply = await self.call(tracker, lambda t: self.assistant.choose(t, int(chosen)))
        elif said_goodbye(dispatcher, tracker):  # in the conversation's language so far
            return []
        else:
            reply = await self.call(tracker, self.assistant.answer)
        return answered(dispatcher, tracker, reply)


def answered(dispatcher: CollectingDispatcher, tracker: Tracker, reply: Reply) -> list:
    """Sends the reply to a question; the slots it sets and, after a promise, the form."""
    send(dispatcher, reply)
    slots: dict[str, Any] = {"language": reply.language}
    if reply.entry_id is not None:
        slots["last_entry_id"] = str(reply.entry_id)
    elif reply.kind == ReplyKind.ANSWER:  # a product's: a later bare thumbs is not an old entry's
        slots["last_entry_id"] = None
    if reply.question:
        slots["last_question"] = reply.question
    return changed_slots(tracker, **slots) + contact_form(tracker, reply)


def changed_slots(tracker: Tracker, **values: Any) -> list[EventType]:
    """The slot events for the values that differ from the tracker's: an unchanged slot
    would only be one more event for Rasa to store, send and replay on every later turn."""
    return [SlotSet(name, value) for name, value in values.items()
            if tracker.get_slot(name) != value]


def said_goodbye(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """A thanks that says goodbye ("ok grazie, ciao!", "thanks, bye!") ends the conversation
    as a goodbye does, rating offered (utter_goodbye), whatever intent the NLU guessed."""
    if not thanks_and_goodbye(bounded_text((tracker.latest_message or {}).get("text"), 500)):
        return False
    dispatcher.utter_message(response="utter_goodbye")
    return True


async def asks_about_product(action: AssistantAction, tracker: Tracker) -> bool:
    """A typed message the NLU filed under another intent (ask_human, a thumbs, thanks) that
    asks about a product: short product questions ("misure?", "entra un portatile da 15?",
    "disponibile?") are often misread, and the intent model changes with every training
    while the catalogue's understanding does not. Button payloads are never questions."""
    text = bounded_text((tracker.latest_message or {}).get("text"), 500).strip()
    if not text or text.startswith("/"):
        return False
    turn = action.turn(tracker)
    try:
        return await asyncio.to_thread(action.assistant.about_product, turn)
    except Exception:  # the intent's own path is safe
        log.exception("conversation %s: could not check for a product question",
                      turn.conversation_id)
        return False


async def answer_instead(action: AssistantAction, dispatcher: CollectingDispatcher,
                         tracker: Tracker) -> list[EventType]:
    return answered(dispatcher, tracker, await action.call(tracker, action.assistant.answer))


class ActionThanks(AssistantAction):
    """Thanks (after action_detect_language, so in the customer's language): a thanks with
    a goodbye in it ("ok grazie, ciao!", which the NLU may read as thanks) is a goodbye."""

    def name(self) -> str:
        return "action_thanks"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if said_goodbye(dispatcher, tracker):
            return []
        if await asks_about_product(self, tracker):  # "è impermeabile?" read as thanks
            return await answer_instead(self, dispatcher, tracker)
        dispatcher.utter_message(response="utter_you_are_welcome")
        return []


class ActionSmallTalk(AssistantAction):
    """Small talk is declined, but never a shop question (a model once filed "Can I rent a
    dress for a wedding?" as small talk). It takes the question path (as
    action_answer_question) when the knowledge base answers it or offers choices, or would
    escalate and it is a shop question (`language.shop_question`: it asks about buying,
    renting, sizes, prices...). "ciao!", "tell me a joke" are declined, nothing logged."""

    def name(self) -> str:
        return "action_small_talk"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if said_goodbye(dispatcher, tracker):
            return []
        turn = self.turn(tracker)
        try:
            question = await asyncio.to_thread(self.is_shop_question, turn)
        except Exception:  # the question path has its own error reply; declining is safe
            log.exception("conversation %s: could not check small talk", turn.conversation_id)
            question = False
        if not question:
            dispatcher.utter_message(response="utter_decline_chitchat")
            return []
        return answered(dispatcher, tracker, await self.call(tracker, self.assistant.answer))

    def is_shop_question(self, turn: Turn) -> bool:
        language = conversation_language(turn.text, turn.language, turn.hint)
        try:
            decision = self.assistant.kb.search(turn.text, language=language)
        except InvalidQuestion:  # empty or too long: not a question to take
            return False
        return (decision.kind is not DecisionKind.ESCALATE or shop_question(turn.text)
                or self.assistant.about_product(turn))  # "avete la sciarpa in verde?"


def contact_form(tracker: Tracker, reply: Reply) -> list[EventType]:
    """After a promise: the form that asks whether the answer may also go by email (the
    ticket exists already). Not again when the customer said no earlier in this chat."""
    if not reply.needs_contact or tracker.get_slot("contact_consent") is False:
        return []
    return [SlotSet("escalation_question", reply.question or None), FollowupAction(FORM)]


class ActionHandoff(AssistantAction):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if await asks_about_product(self, tracker):  # "disponibile?" read as ask_human
            return await answer_instead(self, dispatcher, tracker)
        reply = await self.call(tracker, self.assistant.hand_off)
        send(dispatcher, reply)
        events = changed_slots(tracker, language=reply.language)
        if reply.kind == ReplyKind.ASK_QUESTION:  # the form asks what it is about
            return [*events, SlotSet("escalation_question", None), FollowupAction(FORM)]
        return events + contact_form(tracker, reply)


class ActionRecordFeedback(AssistantAction):
    def name(self) -> str:
        return "action_record_feedback"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        helpful = tracker.get_intent_of_latest_message() == "feedback_helpful"
        entity = next(tracker.get_latest_entity_values("entry_id"), None)
        # A typed product question read as a thumbs ("ci entra un a4?"): a question.
        if entity is None and await asks_about_product(self, tracker):
            return await answer_instead(self, dispatcher, tracker)
        raw = entity or tracker.get_slot("last_entry_id")
        entry_id = (int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit()
                    and len(raw) < 10 else None)
        product = feedback_product(raw)  # a product answer's buttons name its product
        reply = await self.call(tracker, lambda t: self.assistant.feedback(t, entry_id, helpful,
                                                                           product))
        send(dispatcher, reply)
        return []


class ActionDeliverAnswer(AssistantAction):
    """Run by the app through Rasa's /execute endpoint when an operator's answer arrives
    while the conversation is live: the answer appears in the customer's chat."""

    def name(self) -> str:
        return "action_deliver_answer"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        turn = self.turn(tracker)
        reply = await asyncio.to_thread(self.assistant.operator_answer, turn.conversation_id)
        if reply is None:
            return []
        send(dispatcher, reply)
        return changed_slots(tracker, language=reply.language)
