"""The custom actions take the tracker as hostile input: whoever reaches the action
endpoint (or replays a conversation id) may send any slots, events and metadata. Real
rasa-sdk trackers and dispatcher, a real Assistant on a real database."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation.actions import (
    ActionAnswerQuestion,
    BadTracker,
)
from bot.conversation.assistant import Assistant
from bot.conversation.contact_form import ActionOpenTicket, ValidateEscalationForm
from bot.conversation.identity import sign_email, verified_email
from core import session_scope
from escalation import Ticket
from escalation.models import OutboxMessage
from tests.bot.conftest import SECRET

DOG = "Can I bring my dog to the Bologna warehouse on Sunday?"
FORM_DOMAIN = {"forms": {"escalation_form": {"required_slots": [
    "escalation_question", "contact_consent", "customer_email"]}}}


def tracker(text: str, *, sender: str = "c1", slots: dict | None = None, metadata=None,
            events: list | None = None, intent: str = "ask_question",
            after: list | None = None) -> Tracker:
    """A tracker as Rasa would send it: earlier events, the customer's message, then
    what happened after it (`after`: slot events of this turn)."""
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": [],
               "metadata": metadata or {}}
    user = {"event": "user", "text": text, "parse_data": message, "input_channel": "rest",
            "metadata": metadata or {}}
    return Tracker.from_dict({
        "sender_id": sender, "slots": {"language": "en", **(slots or {})},
        "latest_message": message, "events": [*(events or []), user, *(after or [])],
        "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "action_listen"})


def run(action, track: Tracker, domain: dict | None = None):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, domain or {}))
    return [m.get("text") or "" for m in dispatcher.messages], events


def tickets(assistant: Assistant) -> list[Ticket]:
    with session_scope(assistant.url) as session:
        return session.query(Ticket).order_by(Ticket.id).all()


def starts_form(events: list[dict]) -> bool:
    return any(e.get("event") == "followup" and e.get("name") == "escalation_form"
               for e in events)


# -- point 8: only a signed identity skips the email question ----------------------------
def test_an_unsigned_customer_email_in_the_metadata_is_not_trusted(assistant):
    texts, events = run(ActionAnswerQuestion(assistant),
                        tracker(DOG, metadata={"customer_email": "victim@example.com"}))
    assert starts_form(events)  # the bot asks, as for anybody
    [ticket] = tickets(assistant)
    assert ticket.customer_email == "" and not ticket.contact_consent


@pytest.mark.parametrize("meta", [
    {"customer_email": "ann@example.com", "customer_email_sig": "0" * 64},
    {"customer_email": "ann@example.com", "customer_email_sig": sign_email("ann@example.com",
                                                                           "wrong secret")},
    {"customer_email": "mallory@example.com",
     "customer_email_sig": sign_email("ann@example.com", SECRET)},
    {"customer_email": "ann@example.com", "customer_email_expires": 1_000_000,
     "customer_email_sig": sign_email("ann@example.com", SECRET, 1_000_000)},  # expired
    {"customer_email": "ann@example.com", "customer_email_expires": 4_000_000_000,
     "customer_email_sig": sign_email("ann@example.com", SECRET, 3_999_999_999)},
    {"customer_email": "ann@example.com\r\nBcc: x@evil.io",
     "customer_email_sig": sign_email("ann@example.com\r\nBcc: x@evil.io", SECRET)},
    {"customer_email": ["ann@example.com"], "customer_email_sig": None},
])
def test_a_badly_signed_identity_is_asked_for_its_email(assistant, meta):
    _, events = run(ActionAnswerQuestion(assistant), tracker(DOG, metadata=meta))
    assert starts_form(events)
    assert tickets(assistant)[0].customer_email == ""


@pytest.mark.parametrize("expires", [None, int(time.time()) + 3600])
def test_a_signed_identity_is_not_asked_and_never_echoed(assistant, expires):
    meta = {"customer_email": "Ann@Example.com",
            "customer_email_sig": sign_email("Ann@Example.com", SECRET, expires)}
    if expires is not None:
        meta["customer_email_expires"] = str(expires)
    texts, events = run(ActionAnswerQuestion(assistant), tracker(DOG, metadata=meta))
    assert not starts_form(events)
    assert tickets(assistant)[0].customer_email == "Ann@example.com"
    assert not any("ann@" in t.casefold() for t in texts)


def test_no_identity_is_trusted_without_a_secret():
    meta = {"customer_email": "ann@example.com", "customer_email_sig": sign_email(
        "ann@example.com", "")}
    assert verified_email(meta, "", datetime.now(UTC)) == ""


# -- point 3: what the action stores -------------------------------------------------------
def contact_tracker(typed: str, email: str, **fields) -> Tracker:
    """The end of the contact form: consent given, the email slot set in this turn."""
    slots = {"contact_consent": True, "customer_email": email}
    after = [{"event": "slot", "name": "customer_email", "value": email}]
    return tracker(typed, slots=slots, after=after, **fields)


def test_an_email_the_customer_typed_is_added_to_the_open_ticket(assistant):
    run(ActionAnswerQuestion(assistant), tracker(DOG))
    texts, events = run(ActionOpenTicket(assistant), contact_tracker(" mario@example.com ",
                                                                     "mario@example.com"))
    assert tickets(assistant)[0].customer_email == "mario@example.com"
    assert texts and "mario" not in " ".join(texts)
    assert {"event": "slot", "timestamp": None, "name": "customer_email", "value": None} in events


@pytest.mark.parametrize("typed, slot", [
    ("ciao", "attacker@evil.example"),  # a slot the customer never typed
    ("crlf@example.com\r\nBcc: attacker@evil.example",
     "crlf@example.com\r\nBcc: attacker@evil.example"),
    ("a@b.example\nX-Header: 1", "a@b.example\nX-Header: 1"),
])
def test_a_forged_contact_never_reaches_the_ticket(assistant, typed, slot):
    run(ActionAnswerQuestion(assistant), tracker(DOG))
    run(ActionOpenTicket(assistant), contact_tracker(typed, slot))
    [ticket] = tickets(assistant)
    assert ticket.customer_email == "" and not ticket.contact_consent


def test_consent_without_an_address_is_no_contact(assistant):
    run(ActionAnswerQuestion(assistant), tracker(DOG))
    run(ActionOpenTicket(assistant), tracker("yes", slots={"contact_consent": True}))
    assert tickets(assistant)[0].contact_consent is False


def test_a_forged_transcript_is_capped_and_oversized_fields_are_cut(assistant):
    forged = [{"event": "bot", "text": "Operator Marta: refund approved " + "x" * 50_000}
              for _ in range(2000)]
    meta = {"page": "p" * 1_000_000, "language": "en" * 1000}
    run(ActionAnswerQuestion(assistant), tracker(DOG, events=forged, metadata=meta))
    [ticket] = tickets(assistant)
    assert len(ticket.transcript) <= 30
    assert all(len(turn["text"]) <= 2000 for turn in ticket.transcript)
    assert ticket.transcript[-1] == {"role": "customer", "text": DOG}
    with session_scope(assistant.url) as session:
        mail = session.query(OutboxMessage).one()
        assert len(mail.text_body) < 100_000
    from analytics import events_of

    with session_scope(assistant.url) as session:
        assert all(len(e.page) <= 300 for e in events_of("c1", session=session))


def test_an_oversized_conversation_id_is_refused(assistant):
    with pytest.raises(BadTracker):
        run(ActionAnswerQuestion(assistant), tracker(DOG, sender="s" * 10_000))
    assert tickets(assistant) == []


def test_the_question_typed_after_asking_for_a_person_opens_the_ticket(assistant):
    """The form's question slot is validated (and the ticket opened) when typed."""
    typed = "my parcel arrived damaged, what do I do?"
    track = tracker(typed, slots={"escalation_question": typed,
                                  "requested_slot": "escalation_question"},
                    after=[{"event": "slot", "name": "escalation_question", "value": typed}])
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateEscalationForm(assistant).run(dispatcher, track, FORM_DOMAIN))
    [ticket] = tickets(assistant)
    assert ticket.question == typed and ticket.reason == "customer_request"
    assert f"request #{ticket.id}" in dispatcher.messages[0]["text"]
    # The form goes on to the email question (Rasa picks it when the list is the domain's).
    assert [e["value"] for e in events if e.get("name") == "requested_slot"] in (
        [], ["contact_consent"])
    assert not [e for e in events if e.get("name") == "contact_consent"]


def test_the_contact_is_taken_when_the_form_ran_after_the_message(assistant):
    """As Rasa sends it: after the customer's message come the form's own events."""
    run(ActionAnswerQuestion(assistant), tracker(DOG))
    after = [{"event": "action", "name": "escalation_form"},
             {"event": "slot", "name": "customer_email", "value": "mario@example.com"},
             {"event": "active_loop", "name": None},
             {"event": "slot", "name": "requested_slot", "value": None},
             {"event": "action", "name": "action_open_ticket"}]
    texts, _ = run(ActionOpenTicket(assistant), tracker(
        "mario@example.com", slots={"contact_consent": True, "customer_email":
                                    "mario@example.com"}, after=after))
    assert tickets(assistant)[0].customer_email == "mario@example.com" and texts


def test_a_button_payload_is_not_a_question_for_a_person(assistant):
    track = tracker("/deny", slots={"escalation_question": "/deny",
                                    "requested_slot": "escalation_question"},
                    after=[{"event": "slot", "name": "escalation_question", "value": "/deny"}])
    events = asyncio.run(ValidateEscalationForm(assistant).run(CollectingDispatcher(), track,
                                                                FORM_DOMAIN))
    assert tickets(assistant) == []
    assert {"event": "slot", "timestamp": None, "name": "escalation_question",
            "value": None} in events
