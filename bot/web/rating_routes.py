"""The widget's end-of-chat rating: whether a conversation may still be rated, the rating
itself, and the chat closed without one. Limited per conversation and per address, and
read from size-capped JSON bodies, since anyone on the internet can post here."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from bot.web.deps import database_session
from bot.web.rating import (
    AlreadyRated,
    InvalidRating,
    UnknownConversation,
    parse_end,
    parse_rating,
    rating_status,
    submit_end,
    submit_rating,
)
from core import Settings

# A rating is a score and at most 1000 characters; 16 KiB holds even a fully \u-escaped one.
MAX_RATING_BODY = 16_384
RATING_LIMITS = {"conversation": "10/minute", "address": "60/minute"}


class RatingLimiter:
    """Requests per conversation and per client address, separately for asking whether a
    conversation may be rated and for rating it."""

    def __init__(self, storage: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage))
        self._limits = {name: parse(value) for name, value in RATING_LIMITS.items()}

    def check(self, request: Request, what: str, conversation_id: str) -> None:
        address = request.client.host if request.client else "unknown"
        by_address = self._limiter.hit(self._limits["address"], what, "address", address)
        by_id = self._limiter.hit(self._limits["conversation"], what, "id", conversation_id)
        if not (by_address and by_id):
            raise HTTPException(429, "too many rating requests; wait a minute and try again")


async def json_body(request: Request, limit: int) -> object:
    """The request's JSON body, reading at most `limit` bytes; a clear 4xx otherwise."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":  # also keeps other sites' plain form posts out
        raise HTTPException(415, "send the body as JSON (Content-Type: application/json)")
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(413, f"the body is larger than {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():  # a chunked body has no Content-Length to trust
        raw += chunk
        if len(raw) > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise HTTPException(400, f"the body is not valid JSON ({reason})") from None


def rating_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    database = settings.resolved_database_url
    sessions = database_session(database)
    limiter = RatingLimiter(settings.rate_limit_storage)

    @router.get("/chat/rating")
    def may_rate(
        request: Request, conversation_id: Annotated[str, Query(min_length=1, max_length=128)],
        session: Session = sessions,
    ) -> dict:
        """Whether the conversation can still be rated, whether the customer asked anything
        (else there is nothing to rate), and its language (for the prompt)."""
        limiter.check(request, "rating-status", conversation_id)
        try:
            found = rating_status(conversation_id, session=session)
        except UnknownConversation as exc:
            raise HTTPException(404, str(exc)) from None
        return {"rated": found.rated, "asked": found.asked, "language": found.language}

    @router.post("/chat/rating", status_code=201)
    async def rate(request: Request) -> dict:
        """The end-of-chat rating {conversation_id, rating: 1-5, comment?}, once per chat."""
        body = await json_body(request, MAX_RATING_BODY)
        try:
            rating = parse_rating(body)
        except InvalidRating as exc:
            raise HTTPException(422, str(exc)) from None
        limiter.check(request, "rating", rating.conversation_id)
        try:
            await asyncio.to_thread(submit_rating, database, rating)
        except UnknownConversation as exc:
            raise HTTPException(404, str(exc)) from None
        except AlreadyRated as exc:
            raise HTTPException(409, str(exc)) from None
        return {"status": "recorded", "rating": rating.score}

    @router.post("/chat/end")
    async def end(request: Request) -> dict:
        """{conversation_id}: the customer closed the chat declining the rating."""
        body = await json_body(request, MAX_RATING_BODY)
        try:
            conversation_id = parse_end(body)
        except InvalidRating as exc:
            raise HTTPException(422, str(exc)) from None
        limiter.check(request, "rating", conversation_id)
        try:
            logged = await asyncio.to_thread(submit_end, database, conversation_id)
        except UnknownConversation as exc:
            raise HTTPException(404, str(exc)) from None
        return {"status": "ended" if logged else "already ended"}

    return router
