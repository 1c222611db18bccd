"""The knowledge base in the console: drafts waiting for approval, search, editing,
retiring and restoring. Every change goes through `knowledge.repository.update_entry`
with the operator as `by`, so each version records who made it and why.

The review list (/console/kb/review) gathers what customers' signals and learning left for
a person: candidate question variants (approve / reject, `knowledge.candidates`), entries
that several customers disliked (`analytics.log.disliked_entries`), and learned answers
kept as drafts because they contradict an entry (publish / merge / replace,
`knowledge.learning.resolve_conflict`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from analytics.log import disliked_entries
from bot.console.deps import OPERATORS_ONLY, CurrentOperator, SessionDep
from bot.console.errors import ConsoleError, NotFound
from bot.console.tickets import CATEGORIES
from bot.console.web import (
    MAX_TEXT,
    checked_form,
    config,
    flash,
    parse_id,
    redirect,
    render,
    text_field,
)
from core import utcnow
from knowledge import EntryNotFound, InvalidEntry, candidates, queries
from knowledge import repository as repo
from knowledge.learning import RESOLUTIONS, conflicts, resolve_conflict
from knowledge.text import clean, fingerprint

router = APIRouter(prefix="/console/kb", include_in_schema=False, dependencies=OPERATORS_ONLY)
PAGE = 50
# (from, to) -> (button, why in the version history); other moves are refused.
MOVES = {
    ("draft", "published"): ("Approva", "approvata dalla console"),
    ("draft", "retired"): ("Rifiuta", "rifiutata dalla console"),
    ("published", "retired"): ("Ritira", "ritirata dalla console"),
    ("retired", "published"): ("Ripristina", "ripristinata dalla console"),
}


@router.get("")
def kb_page(request: Request, session: SessionDep, q: str = "", status: str = "",
            offset: str = "0") -> Response:
    """Drafts (always first, oldest first) and one page of entries matching `q`."""
    # Query values are parsed here: a bad one shows the first page, not a JSON 422.
    q = q.strip()[:200]
    offset = int(offset) if offset.isascii() and offset.isdigit() and len(offset) < 8 else 0
    found = queries.search_entries(q, status, offset=offset, page=PAGE, session=session)
    return render(request, "kb.html", section="kb", drafts=found.drafts, entries=found.entries,
                  q=q, status=status, offset=offset, more=found.more, page=PAGE,
                  categories=CATEGORIES)


# -- the review list -----------------------------------------------------------------------
@router.get("/review")
def review_page(request: Request, session: SessionDep) -> Response:
    disliked = disliked_entries(session=session, now=utcnow())
    entries = queries.entry_rows([d.entry_id for d in disliked], session=session)
    return render(request, "review.html", section="kb",
                  candidates=candidates.pending(session=session),
                  disliked=[(d, entries[d.entry_id]) for d in disliked if d.entry_id in entries],
                  conflicts=conflicts(session=session),
                  needed=config(request).settings.learn_variant_confirmations)


def _decide_candidate(session: Session, candidate_id: int, action: str, operator: str) -> str:
    try:
        if action == "approve":
            view = candidates.approve(candidate_id, operator, session=session)
            return f"«{view.question}» è ora una domanda della voce {view.entry_key}."
        view = candidates.reject(candidate_id, operator, session=session)
        return f"«{view.question}» scartata: non sarà più proposta."
    except candidates.CandidateError as exc:
        raise ConsoleError(f"Operazione non riuscita: {exc}.") from None


@router.post("/review/candidates/{candidate}/{action}")
async def decide_candidate(request: Request, candidate: str, action: str,
                           operator: CurrentOperator, session: SessionDep) -> Response:
    await checked_form(request)
    if action not in ("approve", "reject"):
        raise NotFound("Azione sconosciuta.")
    message = await asyncio.to_thread(_decide_candidate, session, parse_id(candidate), action,
                                      operator)
    flash(request, "ok", message)
    return redirect("/console/kb/review")


def _resolve(session: Session, draft_id: int, action: str, operator: str) -> str:
    try:
        return resolve_conflict(draft_id, action, operator, session=session)
    except (EntryNotFound, InvalidEntry) as exc:
        raise ConsoleError(f"Operazione non riuscita: {exc}.") from None


@router.post("/review/conflicts/{draft}/{action}")
async def decide_conflict(request: Request, draft: str, action: str,
                          operator: CurrentOperator, session: SessionDep) -> Response:
    await checked_form(request)
    if action not in RESOLUTIONS:
        raise NotFound("Azione sconosciuta.")
    message = await asyncio.to_thread(_resolve, session, parse_id(draft), action, operator)
    flash(request, "ok", message)
    return redirect("/console/kb/review")


def _load(session: Session, ref: str) -> queries.EntryDetail:
    try:
        return queries.entry_detail(ref, session=session)
    except EntryNotFound:
        raise NotFound(f"La voce «{ref[:80]}» non esiste nella knowledge base.") from None


def _entry_page(request: Request, session: Session, ref: str, status: int = 200,
                **extra) -> Response:
    entry = _load(session, ref)
    return render(request, "entry.html", status, section="kb", entry=entry,
                  versions=entry.versions, moves=MOVES, categories=CATEGORIES,
                  max_text=MAX_TEXT, **extra)


@router.get("/{ref}")
def entry_page(request: Request, ref: str, session: SessionDep) -> Response:
    return _entry_page(request, session, ref)


def _edit(session: Session, ref: str, operator: str, answer: str, questions: list[str]
          ) -> bool:
    """Whether anything changed. A refused edit is rolled back here: the page that says why
    shows the entry as stored, and the request's commit writes none of it."""
    entry = repo.get_entry(ref, session=session)
    current = {q.fingerprint: q.text for q in entry.questions}
    wanted = {fingerprint(q): q for q in questions}
    try:
        return repo.update_entry(
            entry, session=session, by=operator, reason="modificata dalla console", answer=answer,
            add_questions=tuple(q for f, q in wanted.items() if f not in current),
            remove_questions=tuple(q for f, q in current.items() if f not in wanted))
    except InvalidEntry:
        session.rollback()
        raise


@router.post("/{ref}/edit")
async def edit_entry(request: Request, ref: str, operator: CurrentOperator,
                     session: SessionDep) -> Response:
    form = await checked_form(request)
    answer, raw_questions = text_field(form, "answer"), text_field(form, "questions")
    questions = [clean(line) for line in raw_questions.split("\n") if clean(line)]
    entry = await asyncio.to_thread(_load, session, ref)  # 404 before judging the form
    error = ""
    if not answer.strip():
        error = "La risposta non può essere vuota."
    elif len(answer) > MAX_TEXT or len(raw_questions) > MAX_TEXT:
        error = f"Il testo è troppo lungo: il massimo è {MAX_TEXT:,} caratteri.".replace(",", ".")
    elif not questions:
        error = "Serve almeno una domanda."
    if not error:
        try:
            changed = await asyncio.to_thread(_edit, session, ref, operator, answer, questions)
        except InvalidEntry as exc:
            error = f"Modifica rifiutata: {exc}."
    if error:
        return await asyncio.to_thread(_entry_page, request, session, ref, 400, error=error,
                                       draft_answer=answer, draft_questions=raw_questions)
    flash(request, "ok", f"Voce {entry.key} aggiornata." if changed else "Nessuna modifica.")
    return redirect(f"/console/kb/{entry.id}")


def _move(session: Session, ref: str, operator: str, target: str) -> str:
    entry = repo.get_entry(ref, session=session)
    _, reason = MOVES.get((entry.status.value, target), ("", ""))
    if not reason:
        raise ConsoleError(f"La voce {entry.key} è «{entry.status.value}»: "
                           f"non può passare a «{target}».")
    repo.update_entry(entry, session=session, by=operator, reason=reason, status=target)
    return f"Voce {entry.key}: {reason.removesuffix(' dalla console')}."


@router.post("/{ref}/status")
async def change_status(request: Request, ref: str, operator: CurrentOperator,
                        session: SessionDep) -> Response:
    form = await checked_form(request)
    entry = await asyncio.to_thread(_load, session, ref)
    message = await asyncio.to_thread(_move, session, ref, operator, form.get("status", ""))
    flash(request, "ok", message)
    back = form.get("back", "")
    return redirect("/console/kb" if back == "list" else f"/console/kb/{entry.id}")
