"""HTTP routes of the knowledge base (mounted by the web app under /api/kb)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request

from core import session_scope
from knowledge import repository as repo
from knowledge.errors import EntryNotFound, InvalidQuestion
from knowledge.formats.base import draft_to_mapping
from knowledge.service import KnowledgeBase

router = APIRouter(prefix="/api/kb", tags=["knowledge base"])


def _kb(request: Request) -> KnowledgeBase:
    return request.app.state.knowledge_base


@router.get("/search")
async def search(
    request: Request,
    q: Annotated[str, Query(max_length=20_000)],
    language: Annotated[str | None, Query(pattern="^(it|en|other)$")] = None,
) -> dict:
    """The decision for one question: answer, clarify or escalate, with candidates."""
    kb = _kb(request)
    try:
        # Embedding and FAISS are blocking: keep them off the event loop.
        decision = await asyncio.to_thread(kb.search, q, language=language)
    except InvalidQuestion as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return asdict(decision)


@router.get("/entries")
def entries(
    request: Request,
    status: Annotated[str | None, Query(pattern="^(draft|published|retired)$")] = None,
    language: Annotated[str | None, Query(pattern="^(it|en|other)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    with session_scope(_kb(request).url) as session:
        rows = repo.list_entries(session=session, status=status, language=language,
                                 limit=limit, offset=offset)
        return {"entries": [{"id": e.id, **draft_to_mapping(e)} for e in rows],
                "limit": limit, "offset": offset}


@router.get("/entries/{ref}")
def entry(request: Request, ref: Annotated[str, Path(max_length=200)]) -> dict:
    with session_scope(_kb(request).url) as session:
        try:
            e = repo.get_entry(ref, session=session)
        except EntryNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        history = [{"version": v.version, "changed_at": v.changed_at.isoformat(),
                    "changed_by": v.changed_by, "reason": v.reason}
                   for v in repo.versions_of(e.id, session=session)]
        return {"id": e.id, **draft_to_mapping(e), "source": e.source.value,
                "source_ref": e.source_ref, "ticket_id": e.ticket_id, "version": e.version,
                "history": history}


@router.get("/stats")
def stats(request: Request) -> dict:
    with session_scope(_kb(request).url) as session:
        return repo.stats(session=session)
