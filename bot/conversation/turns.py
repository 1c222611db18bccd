"""What passes between the Rasa actions and the assistant: a customer's turn in, the
bot's reply out. Plain values, so the assistant never sees Rasa's tracker."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from escalation import ConsideredEntry


@dataclass(frozen=True)
class Turn:
    """One customer message with what the bot knows about its conversation."""

    conversation_id: str
    text: str
    language: str | None = None  # the conversation's language so far
    hint: str | None = None  # the browser's language, from the widget
    channel: str = ""
    page: str = ""  # where the chat was opened: the pre-purchase context
    customer_email: str = ""  # a logged-in customer's address, signed by the shop's backend
    transcript: tuple[tuple[str, str], ...] = ()  # (role, text) so far, from the chat server


class ReplyKind(StrEnum):
    """What a reply is, for the Rasa actions: which slots and forms follow it."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"  # a ticket was opened (or joined)
    INVALID = "invalid"  # empty, too long, or a pick of an entry that is gone
    RATE_LIMITED = "rate_limited"
    ERROR = "error"
    FEEDBACK = "feedback"
    ASK_QUESTION = "ask_question"  # a person was asked for before any question
    CONTACT = "contact"  # the customer's email for the ticket: kept, refused or declined
    TOO_MANY_OPEN = "too_many_open"
    OPERATOR_ANSWER = "operator_answer"


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    language: str
    messages: tuple[str, ...]
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload) under the last message
    entry_id: int | None = None
    question: str = ""  # the question a later escalation is about
    considered: tuple[ConsideredEntry, ...] = field(default=())
    # The form must run: to ask for the question (a customer who asked for a person before
    # asking anything) or to ask whether the answer may also go by email.
    needs_contact: bool = False
    ticket_id: int | None = None
