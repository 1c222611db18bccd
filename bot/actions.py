"""Custom actions served on Rasa's action endpoint (rasa-sdk), in rasa-sdk's thin style:
read the tracker, call one `Assistant` method in a worker thread, send the reply,
return events. Rasa's dict events stay in this module."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from email_validator import EmailNotValidError, validate_email
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.assistant import Assistant, Reply, Turn
from bot.language import conversation_language
from bot.phrases import say

log = logging.getLogger(__name__)

FORM = "escalation_form"
FORM_SLOTS = ("escalation_question", "contact_consent", "customer_email")


def turn_of(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    meta = message.get("metadata") or {}
    return Turn(
        conversation_id=tracker.sender_id,
        text=message.get("text") or "",
        language=tracker.get_slot("language"),
        hint=_str(meta.get("language")),
        channel=tracker.get_latest_input_channel() or "",
        page=_str(meta.get("page")),
        customer_email=_str(meta.get("customer_email")),
    )


def _str(value: Any, limit: int = 300) -> str:
    return value[:limit] if isinstance(value, str) else ""


def transcript_of(tracker: Tracker, limit: int = 50) -> tuple[tuple[str, str], ...]:
    turns = [("customer" if e["event"] == "user" else "bot", e.get("text") or "")
             for e in tracker.events if e.get("event") in ("user", "bot") and e.get("text")]
    return tuple(turns[-limit:])


def send(dispatcher: CollectingDispatcher, reply: Reply) -> None:
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

    async def call(self, tracker: Tracker, work: Callable[[Turn], Reply]) -> Reply:
        turn = turn_of(tracker)
        try:
            return await asyncio.to_thread(work, turn)
        except Exception as exc:
            log.exception("action %s failed in conversation %s", self.name(), turn.conversation_id)
            return await asyncio.to_thread(self.assistant.error, turn, exc)


class ActionSessionStart(AssistantAction):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        meta = tracker.get_slot("session_started_metadata") or {}
        try:
            language = await asyncio.to_thread(
                self.assistant.start_conversation, tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "", page=_str(meta.get("page")),
                hint=_str(meta.get("language")))
        except Exception:
            log.exception("conversation %s: could not log its start", tracker.sender_id)
            language = "it"
        return [SessionStarted(), SlotSet("language", language), ActionExecuted("action_listen")]


class ActionDetectLanguage(AssistantAction):
    """Runs before Rasa's own responses so that they come in the customer's language."""

    def name(self) -> str:
        return "action_detect_language"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        turn = turn_of(tracker)
        return [SlotSet("language", conversation_language(turn.text, turn.language, turn.hint))]


class ActionAnswerQuestion(AssistantAction):
    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        chosen = next(tracker.get_latest_entity_values("entry_id"), None)
        if tracker.get_intent_of_latest_message() == "choose_entry" and chosen and chosen.isdigit():
            reply = await self.call(tracker, lambda t: self.assistant.choose(t, int(chosen)))
        else:
            reply = await self.call(tracker, self.assistant.answer)
        send(dispatcher, reply)
        events: list[EventType] = [SlotSet("language", reply.language)]
        if reply.entry_id is not None:
            events.append(SlotSet("last_entry_id", str(reply.entry_id)))
        if reply.question:
            events.append(SlotSet("last_question", reply.question))
        if reply.needs_contact:
            events += escalation_events(tracker, reply, "kb_escalate")
        return events


def escalation_events(tracker: Tracker, reply: Reply, reason: str) -> list[EventType]:
    """Start the form that collects the customer's contact before the ticket opens."""
    email = turn_of(tracker).customer_email
    events = [SlotSet("escalation_question", reply.question or None),
              SlotSet("escalation_reason", reason),
              SlotSet("escalation_considered", list(reply.considered))]
    if email:  # a logged-in customer: nothing to ask
        events += [SlotSet("customer_email", email), SlotSet("contact_consent", True)]
    return [*events, FollowupAction(FORM)]


class ActionHandoff(AssistantAction):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        question = tracker.get_slot("last_question") or ""
        reply = await self.call(tracker, lambda t: self.assistant.hand_off(t, question))
        send(dispatcher, reply)
        events: list[EventType] = [SlotSet("language", reply.language)]
        if reply.needs_contact:
            events += escalation_events(tracker, reply, "customer_request")
        return events


class ActionRecordFeedback(AssistantAction):
    def name(self) -> str:
        return "action_record_feedback"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        helpful = tracker.get_intent_of_latest_message() == "feedback_helpful"
        raw = next(tracker.get_latest_entity_values("entry_id"), None) or tracker.get_slot(
            "last_entry_id")
        entry_id = int(raw) if isinstance(raw, str) and raw.isdigit() else None
        reply = await self.call(tracker, lambda t: self.assistant.feedback(t, entry_id, helpful))
        send(dispatcher, reply)
        return []


class ActionOpenTicket(AssistantAction):
    def name(self) -> str:
        return "action_open_ticket"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slot = tracker.get_slot
        consent = bool(slot("contact_consent"))
        reply = await self.call(tracker, lambda t: self.assistant.open_ticket(
            t, slot("escalation_question") or "", reason=slot("escalation_reason") or "",
            email=slot("customer_email") or "", consent=consent,
            transcript=transcript_of(tracker),
            considered=tuple(slot("escalation_considered") or ())))
        send(dispatcher, reply)
        # The email stays for later tickets of this conversation; the rest is per ticket.
        return [SlotSet("escalation_question", None), SlotSet("escalation_reason", None),
                SlotSet("escalation_considered", None)]


class ActionDeliverAnswer(AssistantAction):
    """Run by the app through Rasa's /execute endpoint when an operator's answer arrives
    while the conversation is live: the answer appears in the customer's chat."""

    def name(self) -> str:
        return "action_deliver_answer"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reply = await asyncio.to_thread(self.assistant.operator_answer, tracker.sender_id)
        if reply is None:
            return []
        send(dispatcher, reply)
        return [SlotSet("language", reply.language)]


class ValidateEscalationForm(FormValidationAction):
    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def name(self) -> str:
        return "validate_escalation_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        needed = []
        if not tracker.get_slot("escalation_question"):
            needed.append("escalation_question")
        needed.append("contact_consent")
        if tracker.get_slot("contact_consent") is not False:
            needed.append("customer_email")
        return needed

    def validate_escalation_question(self, value: Any, dispatcher, tracker, domain) -> dict:
        text = value.strip() if isinstance(value, str) else ""
        return {"escalation_question": text[:4000] or None}

    def validate_contact_consent(self, value: Any, dispatcher, tracker, domain) -> dict:
        return {"contact_consent": value if isinstance(value, bool) else None}

    def validate_customer_email(self, value: Any, dispatcher, tracker, domain) -> dict:
        text = value.strip() if isinstance(value, str) else ""
        if tracker.get_intent_of_latest_message() == "deny" or text.casefold() in {"no", "no grazie"}:
            return {"customer_email": None, "contact_consent": False}
        try:
            email = validate_email(text[:320], check_deliverability=False).normalized
        except EmailNotValidError as exc:
            language = tracker.get_slot("language") or "it"
            dispatcher.utter_message(text=say(language, "invalid_email", reason=str(exc)[:120]))
            return {"customer_email": None}
        return {"customer_email": email}


def all_actions(assistant: Assistant) -> list[Action]:
    return [cls(assistant) for cls in (ActionSessionStart, ActionDetectLanguage,
                                       ActionAnswerQuestion, ActionHandoff, ActionRecordFeedback,
                                       ActionOpenTicket, ActionDeliverAnswer, ValidateEscalationForm)]
