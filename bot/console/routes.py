"""Console pages: sign-in, the ticket queue and a ticket with its answer form.

An answer written here takes exactly the path of an emailed one,
`EscalationServices.answer(..., via="console")`, run in a worker thread because it
embeds, searches and writes (and may call Rasa to push the answer into the chat).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bot.console import tickets as views
from bot.console.auth import (
    authenticate,
    home_of,
    sign_in,
    sign_out,
    signed_in_account,
)
from bot.console.deps import OPERATORS_ONLY, CurrentOperator, SessionDep
from bot.console.errors import NotFound, ServiceUnavailable
from bot.console.guard import minutes
from bot.console.web import (
    MAX_TEXT,
    checked_form,
    config,
    flash,
    parse_id,
    redirect,
    render,
    safe_next,
    text_field,
)
from core import LANGUAGES, utcnow
from escalation import EscalationError, TicketStatus
from knowledge.models import Status

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)
MAX_LEVELS = 10  # offered in the level filter when no escalation chain is configured


# -- signing in and out -------------------------------------------------------------------
@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    if account := signed_in_account(request):
        return redirect(safe_next(next) or home_of(account))
    return render(request, "login.html", next=safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_form(request)
    email, password = form.get("email", "").strip()[:320], form.get("password", "")
    target = safe_next(form.get("next"))
    cfg = config(request)
    address = request.client.host if request.client else "?"
    if not email or not password:
        return render(request, "login.html", 400, next=target, email=email,
                      error="Scrivi email e password.")
    key = email.lower()
    if wait := cfg.limiter.wait(address, key):
        log.warning("console login for %s from %s: locked for %s s", email, address, wait)
        return _locked(request, target, email, wait)
    account = await asyncio.to_thread(authenticate, cfg.users_path, email, password)
    if account is None:
        log.info("console login for %s from %s refused", email, address)
        if wait := cfg.limiter.failed(address, key):
            log.warning("console login for %s from %s: locked for %s s after repeated "
                        "failures", email, address, wait)
            return _locked(request, target, email, wait)
        return render(request, "login.html", 401, next=target, email=email,
                      error="Email o password non corretti.")
    cfg.limiter.succeeded(address, key)
    sign_in(request, account)
    log.info("console: %s (%s) signed in", account.email, account.role)
    return redirect(target or home_of(account))


def _locked(request: Request, target: str, email: str, wait: int) -> Response:
    """Refused while (address, account) is locked, with the wait in words and in
    Retry-After; the right password is refused too, or guessing would simply go on."""
    n = minutes(wait)
    error = f"Troppi tentativi: riprova tra {n} {'minuto' if n == 1 else 'minuti'}."
    response = render(request, "login.html", 429, next=target, email=email, error=error)
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    sign_out(request)
    flash(request, "ok", "Sei uscito dalla console.")
    return redirect("/console/login")


# -- the queue ----------------------------------------------------------------------------
@router.get("", dependencies=OPERATORS_ONLY)
def queue(request: Request, session: SessionDep) -> Response:
    """The queue, filtered by the GET parameters of its form (see `views.parse_filter`)."""
    levels = len(config(request).levels) or MAX_LEVELS
    f = views.parse_filter(list(request.query_params.multi_items()), levels)
    rows, counts = views.queue(f, utcnow(), session=session)
    return render(request, "queue.html", section="queue", f=f, status=f.status, rows=rows,
                  counts=counts, categories=views.CATEGORIES, levels=range(levels),
                  languages=LANGUAGES, stale_days=views.STALE_AFTER.days)


@router.get("/")
def queue_slash() -> Response:
    return redirect("/console")


# -- one ticket ---------------------------------------------------------------------------
def _ticket_page(request: Request, session: Session, ticket_id: int, status: int = 200,
                 **extra) -> Response:
    view = views.ticket_view(ticket_id, utcnow(), session=session)
    if view is None:
        raise NotFound(f"Il ticket #{ticket_id} non esiste.")
    return render(request, "ticket.html", status, section="queue", view=view, t=view.ticket,
                  roles=views.ROLES, events=views.EVENTS, categories=views.CATEGORIES,
                  max_text=MAX_TEXT, **extra)


@router.get("/tickets/{ticket_id}", dependencies=OPERATORS_ONLY)
def ticket_page(request: Request, ticket_id: str, session: SessionDep) -> Response:
    return _ticket_page(request, session, parse_id(ticket_id))


@router.post("/tickets/{ticket_id}/close")
async def close(request: Request, ticket_id: str, operator: CurrentOperator,
                session: SessionDep) -> Response:
    """A question closed without an answer (a duplicate, not a question), with its reason."""
    form = await checked_form(request)
    number, reason = parse_id(ticket_id), text_field(form, "reason")
    error = await asyncio.to_thread(views.close_question, number, operator, reason,
                                    session=session)
    if error:
        return await asyncio.to_thread(_ticket_page, request, session, number, 400, error=error)
    flash(request, "ok", f"Ticket #{number} chiuso senza risposta.")
    return redirect(f"/console/tickets/{number}")


@router.post("/tickets/{ticket_id}/answer")
async def answer(request: Request, ticket_id: str, operator: CurrentOperator,
                 session: SessionDep) -> Response:
    """An answer written by the operator, or (field `entry_id`) the answer of one of the
    entries the bot considered, picked: the question then joins that entry."""
    form = await checked_form(request)
    number, text = parse_id(ticket_id), text_field(form, "answer")
    view = await asyncio.to_thread(views.ticket_view, number, utcnow(), session=session)
    if view is None:
        raise NotFound(f"Il ticket #{number} non esiste.")
    picked = None
    if "entry_id" in form:
        picked = _picked(view, form["entry_id"])
        if picked is None:
            return await asyncio.to_thread(
                _ticket_page, request, session, number, 400,
                error="Questa risposta non è tra quelle proposte o non è più pubblicata.")
        text = picked["answer"]
    error, status = _problem(view.ticket, text)
    if error:
        return await asyncio.to_thread(_ticket_page, request, session, number, status, draft=text,
                                       error=error)
    services = request.app.state.escalation
    if services is None:
        raise ServiceUnavailable("Il servizio delle risposte non è attivo in questo processo: "
                                 "avvia il prodotto con `supportbot run`.")
    try:
        chosen = {"picked_entry_id": int(picked["entry_id"])} if picked else {}
        await asyncio.to_thread(services.answer, number, text, operator, via="console", **chosen)
    except EscalationError:  # someone answered between our check and the write
        return await asyncio.to_thread(
            _ticket_page, request, session, number, 409, draft=text,
            error="Nel frattempo il ticket ha già ricevuto una risposta.")
    except Exception:
        log.exception("ticket %s: the answer from the console failed", number)
        flash(request, "error", "La risposta non è stata completata.",
              ["Se il ticket risulta risposto, consegna e apprendimento vengono ripresi "
               "automaticamente entro pochi minuti; altrimenti riprova."])
        return redirect(f"/console/tickets/{number}")
    flash(request, "ok", f"Risposta al ticket #{number} inviata.")
    return redirect(f"/console/tickets/{number}")


def _picked(view, value: str) -> dict | None:
    """The considered, still published entry the form names; never one the client invents."""
    return next((c for c in view.considered if str(c.get("entry_id")) == value.strip()
                 and c.get("status") == Status.PUBLISHED and c.get("answer")), None)


def _problem(ticket, text: str) -> tuple[str, int]:
    if ticket.status != TicketStatus.OPEN:
        who = f" da {ticket.answered_by}" if ticket.answered_by else ""
        return (f"Questo ticket ha già ricevuto una risposta{who}: "
                "non si può rispondere due volte.", 409)
    if not text.strip():
        return "Scrivi la risposta prima di inviarla.", 400
    if len(text) > MAX_TEXT:
        return (f"La risposta è troppo lunga: {len(text):,} caratteri, il massimo è "
                f"{MAX_TEXT:,}.".replace(",", "."), 400)
    return "", 200
