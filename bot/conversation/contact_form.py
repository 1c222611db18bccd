"""The Rasa actions of the contact form that follows a promise to find out: whether the
answer may also go by email, the address typed and checked, the ticket given that contact.
The form's question comes with the shop's privacy page."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.types import DomainDict

from bot.conversation.actions import (
    MAX_SENDER,
    ActionAnswerQuestion,
    ActionHandoff,
    AssistantAction,
    bounded_text,
    send,
)
from bot.conversation.assistant import Assistant
from bot.conversation.identity import typed_email
from bot.conversation.language import SERVED
from bot.conversation.phrases import say
from bot.conversation.turns import ReplyKind
from escalation import EscalationError, valid_email

log = logging.getLogger(__name__)
MOVED_ON_WORDS = 4  # typed where the email was asked for, this many words are a question


class ActionOpenTicket(AssistantAction):
    """Runs when the contact form ends. The ticket opened when the bot made its promise;
    this only adds the contact the customer has just given (or notes that they said no)."""

    def name(self) -> str:
        return "action_open_ticket"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        just_set = set_this_turn(tracker)
        consent, email = tracker.get_slot("contact_consent"), tracker.get_slot("customer_email")
        if consent is True and "customer_email" in just_set and email:
            if typed_by_customer(tracker, email):
                reply = await self.call(tracker, lambda t: self.assistant.add_contact(t, email))
            else:  # a slot the customer never typed: a forged tracker
                log.warning("conversation %.128s: an email slot the customer did not type",
                            tracker.sender_id)
                reply = await self.call(tracker, lambda t: self.assistant.add_contact(t, ""))
            send(dispatcher, reply)
        elif consent is False and {"contact_consent", "customer_email"} & just_set:
            send(dispatcher, await self.call(tracker, self.assistant.contact_declined))
        # The address lives on the tickets only: Rasa's tracker keeps no copy in its slots.
        return [SlotSet("escalation_question", None), SlotSet("escalation_reason", None),
                SlotSet("escalation_considered", None), SlotSet("customer_email", None)]


def set_this_turn(tracker: Tracker) -> set[str]:
    """The slots set since the customer's latest message (by the form, from that message)."""
    names = set()
    for event in reversed(tracker.events):
        if not isinstance(event, dict) or event.get("event") == "user":
            break
        if event.get("event") == "slot" and isinstance(event.get("name"), str):
            names.add(event["name"])
    return names


def typed_by_customer(tracker: Tracker, email: str) -> bool:
    """The address is the one in the customer's latest message (alone or in a sentence),
    as the form's validation took it."""
    typed, problem = typed_email(bounded_text((tracker.latest_message or {}).get("text"), 400))
    try:
        return not problem and typed == valid_email(email)
    except EscalationError:
        return False


class ValidateEscalationForm(FormValidationAction):
    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def name(self) -> str:
        return "validate_escalation_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        needed = []
        # A freshly typed question must be in the list, or rasa-sdk skips its validation.
        if (not tracker.get_slot("escalation_question")
                or "escalation_question" in tracker.slots_to_validate()):
            needed.append("escalation_question")
        if not tracker.get_slot("escalation_question"):
            return [*needed, "contact_consent", "customer_email"]
        if await asyncio.to_thread(self.assistant.has_contact, tracker.sender_id[:MAX_SENDER]):
            return needed  # a contact on file: nothing to ask
        needed.append("contact_consent")
        if tracker.get_slot("contact_consent") is not False:
            needed.append("customer_email")
        return needed

    async def validate_escalation_question(self, value: Any, dispatcher, tracker, domain) -> dict:
        text = value.strip()[:4000] if isinstance(value, str) else ""
        if text.startswith("/"):  # a button's payload, not a question: asked again
            return {"escalation_question": None}
        if tracker.get_slot("requested_slot") != "escalation_question":
            return {"escalation_question": text or None}  # set by the action that promised
        # The question of a customer who asked for a person: the ticket opens now.
        action = ActionHandoff(self.assistant)
        reply = await action.call(tracker, lambda t: self.assistant.hand_off_question(t, text))
        send(dispatcher, reply)
        if reply.kind == ReplyKind.INVALID:
            return {"escalation_question": None}  # asked again
        if reply.kind != ReplyKind.ESCALATE:  # no ticket (too many open, an error): nothing to ask
            return {"escalation_question": text or None, "contact_consent": False}
        return {"escalation_question": text}

    def validate_contact_consent(self, value: Any, dispatcher, tracker, domain) -> dict:
        return {"contact_consent": value if isinstance(value, bool) else None}

    async def validate_customer_email(self, value: Any, dispatcher, tracker, domain) -> dict:
        text = value.strip() if isinstance(value, str) else ""
        if (tracker.get_intent_of_latest_message() == "deny"
                or text.casefold() in {"no", "no grazie"}):
            return {"customer_email": None, "contact_consent": False}
        if "@" not in text and len(text.split()) >= MOVED_ON_WORDS:
            # Not an address but the customer's next question: it is answered (or passed
            # on) instead of being swallowed by the form, which ends without an email.
            reply = await ActionAnswerQuestion(self.assistant).call(tracker,
                                                                    self.assistant.answer)
            send(dispatcher, reply)
            return {"customer_email": None, "contact_consent": False}
        email, problem = typed_email(text)
        if problem:  # told in the customer's language, never the validator's English
            language = tracker.get_slot("language")
            language = language if language in SERVED else "it"
            message = (say(language, problem) if problem == "email_two"
                       else say(language, "invalid_email", reason=say(language, problem)))
            dispatcher.utter_message(text=message)
            return {"customer_email": None}
        return {"customer_email": email}


class ActionAskContactConsent(AssistantAction):
    """The form's question before it takes an email address, with the shop's privacy page:
    the domain's `utter_ask_contact_consent`, its {privacy_url} filled from the settings, so
    the customer can read the policy (the widget shows the address as a link) before
    saying yes. Rasa calls it instead of the plain response once the domain lists it."""

    def name(self) -> str:
        return "action_ask_contact_consent"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_contact_consent",
                                 privacy_url=self.assistant.settings.privacy_url)
        return []
