"""The one ASGI app: it assembles every package's routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse

from knowledge.api import router as knowledge_router
from knowledge.service import KnowledgeBase

STATIC = Path(__file__).resolve().parent / "static"


def create_app(knowledge_base: KnowledgeBase) -> FastAPI:
    app = FastAPI(title="supportbot", version="0.1.0")
    app.state.knowledge_base = knowledge_base
    app.include_router(knowledge_router)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok", "kb_version": knowledge_base.sync()}

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "kb_search.html")

    return app
