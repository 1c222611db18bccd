"""Pages for customers: the demo shop with the chat widget, the widget's config, its
suggested questions (`suggestions.py`) and end-of-chat rating, the socket.io client from
npm, and the knowledge-base search page."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bot.rating import (
    AlreadyRated,
    InvalidRating,
    UnknownConversation,
    parse_end,
    parse_rating,
    rating_status,
    submit_end,
    submit_rating,
)
from bot.web.suggestions import suggestions_router
from core import Settings, session_scope

STATIC = Path(__file__).resolve().parent / "static"
ROOT = Path(__file__).resolve().parent.parent.parent
SOCKET_IO = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
# A rating is a score and at most 1000 characters; 16 KiB holds even a fully \u-escaped one.
MAX_RATING_BODY = 16_384
RATING_LIMITS = {"conversation": "10/minute", "address": "60/minute"}


def page_headers(rasa_url: str) -> dict[str, str]:
    """Security headers of the customer pages. Scripts and styles come only from our own
    files (no inline code: an injected tag cannot run); the widget talks to this app and
    to Rasa (REST over http(s), socket.io over ws(s)); no other site may frame the shop."""
    rasa = rasa_url.rstrip("/")
    socket = "wss" + rasa[5:] if rasa.startswith("https") else "ws" + rasa[4:]
    policy = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              f"connect-src 'self' {rasa} {socket}; object-src 'none'; base-uri 'self'; "
              "form-action 'self'; frame-ancestors 'none'")
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin", "X-Frame-Options": "DENY"}


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


def web_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.include_router(suggestions_router(settings))
    rasa = settings.resolved_public_rasa_url.rstrip("/")
    database = settings.resolved_database_url
    limiter = RatingLimiter(settings.rate_limit_storage)
    headers = page_headers(rasa)

    @router.get("/")
    def shop() -> FileResponse:
        return FileResponse(STATIC / "shop.html", headers=headers)

    @router.get("/kb")
    def kb_search() -> FileResponse:
        return FileResponse(STATIC / "kb_search.html", headers=headers)

    @router.get("/chat/config.json")
    def chat_config() -> dict:
        return {
            "rasa_url": rasa,
            "socket_path": "/socket.io/",
            "rest_url": f"{rasa}/webhooks/rest/webhook",
            "support_email": settings.support_email,
            "language": settings.languages[0] if settings.languages else "it",
            "title": f"Assistente {settings.shop_name}",
            "answers_url": "/chat/answers",
            "rating_url": "/chat/rating",
            "end_url": "/chat/end",
            "suggestions_url": "/chat/suggestions",
            "max_message_chars": settings.max_question_chars,
        }

    @router.get("/chat/answers")
    async def answers_waiting(
        request: Request, session_id: Annotated[str, Query(min_length=1, max_length=128)]
    ) -> list[dict]:
        """Bot messages with the operators' answers this conversation has not seen yet."""
        replies = await asyncio.to_thread(request.app.state.assistant.answers_waiting, session_id)
        return [{"text": text} for reply in replies for text in reply.messages]

    @router.get("/chat/rating")
    async def may_rate(
        request: Request, conversation_id: Annotated[str, Query(min_length=1, max_length=128)]
    ) -> dict:
        """Whether the conversation can still be rated, whether the customer asked anything
        (else there is nothing to rate), and its language (for the prompt)."""
        limiter.check(request, "rating-status", conversation_id)

        def status():
            with session_scope(database) as session:
                return rating_status(conversation_id, session=session)

        try:
            found = await asyncio.to_thread(status)
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

    @router.get("/vendor/socket.io.min.js")
    def socket_io() -> FileResponse:
        # Installed by `make setup` (npm); without it the widget falls back to REST.
        if not SOCKET_IO.exists():
            raise HTTPException(404, "socket.io client not installed; run `make setup`")
        return FileResponse(SOCKET_IO, media_type="application/javascript")

    return router
