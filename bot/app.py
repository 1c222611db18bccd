"""The one ASGI app: it assembles every package's routes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.action_endpoint import action_router
from bot.assistant import Assistant
from bot.console import install_console
from bot.web.routes import STATIC, web_router
from knowledge.api import router as knowledge_router


def create_app(assistant: Assistant) -> FastAPI:
    knowledge_base = assistant.kb
    app = FastAPI(title="supportbot", version="0.1.0")
    app.state.knowledge_base = knowledge_base
    app.state.assistant = assistant
    app.include_router(knowledge_router)
    app.include_router(action_router(assistant))
    app.include_router(web_router(assistant.settings))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # The operator console; answers go through the EscalationServices that whoever runs
    # them (supportbot run, bot.stack) puts here.
    app.state.escalation = None
    install_console(app, assistant.settings, assistant.sla)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok", "kb_version": knowledge_base.sync()}

    return app
