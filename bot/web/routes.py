"""Pages for customers: the demo shop with the chat widget, the widget's config, its
suggested questions (`suggestions.py`) and end-of-chat rating (`rating_routes.py`), the
socket.io client from npm, and the knowledge-base search page."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from bot.web.rating_routes import rating_router
from bot.web.suggestions import suggestions_router
from core import Settings

STATIC = Path(__file__).resolve().parent / "static"
ROOT = Path(__file__).resolve().parent.parent.parent
SOCKET_IO = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"


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


def web_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.include_router(suggestions_router(settings))
    router.include_router(rating_router(settings))
    rasa = settings.resolved_public_rasa_url.rstrip("/")
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

    @router.get("/vendor/socket.io.min.js")
    def socket_io() -> FileResponse:
        # Installed by `make setup` (npm); without it the widget falls back to REST.
        if not SOCKET_IO.exists():
            raise HTTPException(404, "socket.io client not installed; run `make setup`")
        return FileResponse(SOCKET_IO, media_type="application/javascript")

    return router
