"""The end-of-chat rating: one score from 1 to 5 and an optional comment per conversation.

The widget asks for it when the bot says goodbye (a `custom` payload on utter_goodbye) or
when the customer closes the chat; `POST /chat/rating` hands the body to `parse_rating`
and `submit_rating`. The rating is logged as a `rating` event with the language, channel
and page of the conversation's own events (the browser's word is not needed, nor trusted),
followed by a `conversation_end` event.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics import EventKind, Interaction, InteractionEvent, events_of, has_events, record
from analytics.queries import asked_a_question, conversation_context
from bot.conversation import language as lang
from core import SupportBotError, session_scope

MAX_COMMENT = 1000
MAX_CONVERSATION_ID = 128
# Control characters (newline and tab stay: a comment may have lines) and lone surrogates.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class RatingError(SupportBotError):
    """A rating that cannot be recorded; the message is shown to the API caller."""


class InvalidRating(RatingError):
    pass


class UnknownConversation(RatingError):
    pass


class AlreadyRated(RatingError):
    pass


@dataclass(frozen=True)
class Rating:
    conversation_id: str
    score: int
    comment: str = ""


@dataclass(frozen=True)
class RatingStatus:
    language: str
    rated: bool
    asked: bool  # the customer asked at least one question: there is something to rate


def clean_comment(value: str) -> str:
    """Plain text as typed: CR LF folded, control characters and lone surrogates dropped, NFC."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    return _UNSAFE.sub("", value).strip()


def conversation_id_of(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRating("conversation_id must be a non-empty string")
    if len(value) > MAX_CONVERSATION_ID:
        raise InvalidRating(f"conversation_id is longer than {MAX_CONVERSATION_ID} characters")
    return value


def parse_rating(body: object) -> Rating:
    """The JSON body {conversation_id, rating, comment?}, or InvalidRating saying what is wrong."""
    if not isinstance(body, dict):
        raise InvalidRating("the body must be a JSON object {conversation_id, rating, comment?}")
    unknown = sorted(set(body) - {"conversation_id", "rating", "comment"})
    if unknown:
        raise InvalidRating(f"unknown field(s): {', '.join(unknown)[:200]}")
    conversation = conversation_id_of(body.get("conversation_id"))
    score = body.get("rating")
    # bool is an int in Python (and true would be a 1); 4.0 or "4" are not what the widget sends
    if type(score) is not int or not 1 <= score <= 5:
        raise InvalidRating("rating must be a whole number from 1 to 5")
    comment = body.get("comment")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise InvalidRating("comment must be text")
    if len(comment) > MAX_COMMENT:
        raise InvalidRating(f"comment is longer than {MAX_COMMENT} characters ({len(comment)})")
    return Rating(conversation, score, clean_comment(comment))


def _serialise(conversation_id: str, session: Session) -> None:
    """On PostgreSQL, replicas take turns per conversation until the transaction ends (a
    second rating then sees the first). SQLite serves one process: the caller's lock does."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                        {"key": f"rating:{conversation_id}"})


def record_rating(rating: Rating, *, session: Session) -> InteractionEvent:
    """Log the rating and the end of its conversation; one rating per conversation."""
    _serialise(rating.conversation_id, session)
    if not has_events(rating.conversation_id, session=session):
        raise UnknownConversation("no conversation with this id; a rating needs a conversation")
    if events_of(rating.conversation_id, session=session, kind=EventKind.RATING):
        raise AlreadyRated("this conversation has been rated already; a rating cannot be changed")
    context = conversation_context(rating.conversation_id, session=session)
    common = {"conversation_id": rating.conversation_id, "language": context.language,
              "channel": context.channel, "page": context.page}
    event = record(Interaction(EventKind.RATING, data={"rating": rating.score,
                                                       "comment": rating.comment}, **common),
                   session=session)
    if context.last_kind != EventKind.CONVERSATION_END.value:
        record(Interaction(EventKind.CONVERSATION_END, data={"via": "rating"}, **common),
               session=session)
    return event


def rating_status(conversation_id: str, *, session: Session) -> RatingStatus:
    """Whether the widget may still ask, and in which language (the conversation's)."""
    if not has_events(conversation_id, session=session):
        raise UnknownConversation("no conversation with this id")
    language = conversation_context(conversation_id, session=session).language
    rated = bool(events_of(conversation_id, session=session, kind=EventKind.RATING))
    return RatingStatus(language if language in lang.SERVED else lang.DEFAULT, rated,
                        asked_a_question(conversation_id, session=session))


def parse_end(body: object) -> str:
    """The JSON body {conversation_id} of a chat the customer closed without rating it."""
    if not isinstance(body, dict) or set(body) != {"conversation_id"}:
        raise InvalidRating("the body must be a JSON object {conversation_id}")
    return conversation_id_of(body["conversation_id"])


def record_end(conversation_id: str, *, session: Session, via: str = "declined") -> bool:
    """Log the end of a conversation the customer left without rating (they said "no
    thanks" to the prompt); False when its latest event already is an end."""
    _serialise(conversation_id, session)
    if not has_events(conversation_id, session=session):
        raise UnknownConversation("no conversation with this id")
    context = conversation_context(conversation_id, session=session)
    if context.last_kind == EventKind.CONVERSATION_END.value:
        return False
    record(Interaction(EventKind.CONVERSATION_END, conversation_id=conversation_id,
                       language=context.language, channel=context.channel, page=context.page,
                       data={"via": via}),
           session=session)
    return True


_one_at_a_time = threading.Lock()  # check-then-write in this process (SQLite has no row lock)


def submit_rating(url: str, rating: Rating) -> None:
    """Record `rating` in a transaction of its own, committed before the lock is released
    (a request's session would commit after it, and a second rating could pass the check
    in between)."""
    with _one_at_a_time, session_scope(url) as session:
        record_rating(rating, session=session)


def submit_end(url: str, conversation_id: str) -> bool:
    """`record_end` under the same lock and rule as `submit_rating`."""
    with _one_at_a_time, session_scope(url) as session:
        return record_end(conversation_id, session=session)
