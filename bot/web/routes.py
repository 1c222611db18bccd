"""Pages for customers: the demo shop with the chat widget, the widget's config,
the socket.io client from npm, and the knowledge-base search page."""

from __future__ import annotations

from pathlib import Path

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from core import Settings

STATIC = Path(__file__).resolve().parent / "static"
ROOT = Path(__file__).resolve().parent.parent.parent
SOCKET_IO = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"


def web_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    rasa = settings.resolved_public_rasa_url.rstrip("/")

    @router.get("/")
    def shop() -> FileResponse:
        return FileResponse(STATIC / "shop.html")

    @router.get("/kb")
    def kb_search() -> FileResponse:
        return FileResponse(STATIC / "kb_search.html")

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
