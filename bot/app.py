"""The one ASGI app: it assembles every package's routes."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from bot.console import install_console
from bot.conversation.action_endpoint import action_router
from bot.conversation.assistant import Assistant
from bot.health import ChatHealth, report
from bot.jobs.services import EscalationServices
from bot.web.routes import STATIC, web_router
from knowledge.api import router as knowledge_router


def create_app(assistant: Assistant, *, health: ChatHealth | None = None,
               escalation: EscalationServices | None = None) -> FastAPI:
    """`health` checks the chat's parts (Rasa, the action endpoint) for /healthz; whoever
    runs Rasa passes it. Without it only the app's own parts are checked. `escalation`:
    the services the console answers tickets through (bot.product builds them); without
    them the console says answering is not running in this process."""
    knowledge_base = assistant.kb
    app = FastAPI(title="supportbot", version="0.1.0")
    app.state.knowledge_base = knowledge_base
    app.state.assistant = assistant
    app.include_router(knowledge_router)
    app.include_router(action_router(assistant))
    app.include_router(web_router(assistant.settings))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.escalation = escalation
    install_console(app, assistant.settings, assistant.sla)

    app.state.health = health or ChatHealth(assistant.settings)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        status, body = await asyncio.to_thread(report, app.state.health)
        body["kb_version"] = await asyncio.to_thread(knowledge_base.sync)
        return JSONResponse(body, status_code=status)

    return app
