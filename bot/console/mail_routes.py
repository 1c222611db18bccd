"""Mail in the console: inbound replies that were quarantined or ignored (with why), mail
the product could not send (an alert on every console page until an operator has seen
it), and the local SMTP sink's messages, which are the operators' mailbox in the demo.

Raw mail is shown as escaped text, never rendered: it is whatever a stranger sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import pass_context

from bot.console.deps import OPERATORS_ONLY, SessionDep
from bot.console.errors import NotFound
from bot.console.web import checked_form, config, flash, parse_id, redirect, render, templates
from core import session_scope, utcnow
from escalation import queries
from escalation.mail_sink import list_messages, read_message
from escalation.models import InboundStatus

router = APIRouter(prefix="/console", include_in_schema=False, dependencies=OPERATORS_ONLY)
SHOWN = (InboundStatus.QUARANTINED, InboundStatus.IGNORED)
MAX_RAW = 256 * 1024  # enough to read any real reply; a huge mail is cut, not streamed
LIST_LIMIT = 200
REASONS = {
    "too_large": "troppo grande", "unparseable": "illeggibile",
    "bounce": "notifica di mancato recapito", "auto_reply": "risposta automatica",
    "unauthorised_sender": "mittente non autorizzato",
    "no_token": "manca il codice del ticket", "bad_token": "codice del ticket non valido o scaduto",
    "unknown_ticket": "ticket inesistente", "ticket_closed": "ticket già risposto o chiuso",
    "empty": "risposta vuota", "attachment_only": "solo allegati",
    "envelope_mismatch": "mittente SMTP (busta) non è un operatore",
    "no_envelope_sender": "manca il mittente SMTP (Return-Path)",
    "auth_failed:spf=fail": "il server del mittente non è autorizzato (SPF fallito)",
    "auth_failed:dkim=fail": "firma DKIM non valida: messaggio alterato o falso",
    "auth_failed:dmarc=fail": "mittente falsificato (DMARC fallito)",
    "token_used": "codice del ticket già usato per una risposta",
    "token_not_in_address": "codice del ticket solo nei riferimenti, non nell'indirizzo",
    "unknown_code": "la lettera non corrisponde a nessuna delle risposte proposte: "
                    "rispondi con una lettera dell'elenco o scrivi la risposta",
    "ambiguous_code": "più lettere nella stessa risposta: rispondi con una sola lettera "
                      "o scrivi la risposta",
}
KINDS = {"escalation": "nuova domanda", "reminder": "promemoria", "breach": "SLA superato",
         "answer": "risposta al cliente", "weekly_report": "report settimanale"}


@pass_context
def failed_mail(context) -> int:
    """How many mails failed for good and no operator has seen yet (the banner's number).
    Every console page shows it, error pages and pages without a database session
    included, so it reads in a session of its own."""
    request = context.get("request")
    if request is None or not hasattr(request.app.state, "console"):
        return 0
    with session_scope(config(request).database_url) as session:
        return queries.unseen_failure_count(session=session)


templates.env.globals["failed_mail"] = failed_mail
# The ticket page shows refused replies too, with the same words.
templates.env.filters["mail_reason"] = lambda reason: REASONS.get(str(reason), str(reason))


@router.get("/outbox")
def failed_outbox(request: Request, session: SessionDep) -> Response:
    """Mail that will never leave, newest first, with why; unseen ones on top."""
    messages = queries.failed_mails(limit=LIST_LIMIT, session=session)
    return render(request, "outbox.html", section="mail", messages=messages, kinds=KINDS)


@router.post("/outbox/seen")
async def failed_outbox_seen(request: Request, session: SessionDep) -> Response:
    """The operator has read the list: the banner goes until another mail fails."""
    await checked_form(request)
    await asyncio.to_thread(queries.mark_failures_seen, now=utcnow(), session=session)
    flash(request, "ok", "Avviso archiviato: le email non inviate restano in questo elenco.")
    return redirect("/console/outbox")


@router.get("/quarantine")
def quarantine(request: Request, session: SessionDep, status: str = "") -> Response:
    wanted = (status,) if status in SHOWN else SHOWN
    messages = queries.inbound_rows(wanted, limit=LIST_LIMIT, session=session)
    return render(request, "quarantine.html", section="quarantine", messages=messages,
                  reasons=REASONS, status=status if status in SHOWN else "")


def _raw_text(message: queries.InboundMail, inbound_dir: Path) -> str | None:
    """The stored mail as text, when it is where the receiver keeps mail."""
    if not message.raw_path:
        return None
    path = Path(message.raw_path).resolve()
    if not path.is_relative_to(inbound_dir.resolve()):  # the row says where: trust only our folder
        return None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_RAW + 1)
    except OSError:
        return None
    text = raw[:MAX_RAW].decode("utf-8", errors="replace")
    return text + ("\n[… troncato]" if len(raw) > MAX_RAW else "")


@router.get("/quarantine/{message_id}")
def quarantined_message(request: Request, message_id: str, session: SessionDep) -> Response:
    message = queries.inbound_mail(parse_id(message_id), session=session)
    if message is None:
        raise NotFound(f"Il messaggio #{message_id} non esiste.")
    raw = _raw_text(message, config(request).settings.var_dir / "mail" / "inbound")
    return render(request, "inbound.html", section="quarantine", message=message, raw=raw,
                  reasons=REASONS)


@router.get("/mail")
def mailbox(request: Request) -> Response:
    messages = list_messages(config(request).settings, limit=LIST_LIMIT)
    return render(request, "mail.html", section="mail", messages=messages)


def _body(message) -> tuple[str, bool]:
    """The plain-text body; for HTML-only mail its text (markup dropped, never rendered)."""
    part = message.get_body(("plain",))
    if part is not None:
        return part.get_content(), False
    part = message.get_body(("html",))
    if part is None:
        return "", False
    from bs4 import BeautifulSoup

    return BeautifulSoup(part.get_content(), "html.parser").get_text("\n"), True


@router.get("/mail/{key}")
def mail_message(request: Request, key: str) -> Response:
    message = read_message(config(request).settings, key)
    if message is None:
        raise NotFound("Questo messaggio non è nella casella della demo.")
    headers = [(name, str(message[name] or "")) for name in
               ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID")
               if message[name] is not None]
    body, from_html = _body(message)
    return render(request, "mail_message.html", section="mail", headers=headers,
                  subject=str(message["Subject"] or ""), body=body[:MAX_RAW], from_html=from_html)
