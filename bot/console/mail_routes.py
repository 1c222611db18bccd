"""Mail in the console: inbound replies that were quarantined or ignored (with why), and
the local SMTP sink's messages, which are the operators' mailbox in the demo.

Raw mail is shown as escaped text, never rendered: it is whatever a stranger sent."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from bot.console.auth import current_operator
from bot.console.errors import NotFound
from bot.console.web import config, parse_id, render
from core import session_scope
from escalation.mail_sink import list_messages, read_message
from escalation.models import InboundMessage

router = APIRouter(prefix="/console", include_in_schema=False)
SHOWN = ("quarantined", "ignored")
MAX_RAW = 256 * 1024  # enough to read any real reply; a huge mail is cut, not streamed
LIST_LIMIT = 200
REASONS = {
    "too_large": "troppo grande", "unparseable": "illeggibile",
    "bounce": "notifica di mancato recapito", "auto_reply": "risposta automatica",
    "unauthorised_sender": "mittente non autorizzato",
    "no_token": "manca il codice del ticket", "bad_token": "codice del ticket non valido o scaduto",
    "unknown_ticket": "ticket inesistente", "ticket_closed": "ticket già risposto o chiuso",
    "empty": "risposta vuota", "attachment_only": "solo allegati",
}


@router.get("/quarantine")
def quarantine(request: Request, status: str = "",
               operator: str = Depends(current_operator)) -> Response:
    wanted = (status,) if status in SHOWN else SHOWN
    with session_scope(config(request).database_url) as session:
        messages = list(session.scalars(select(InboundMessage)
                                        .where(InboundMessage.status.in_(wanted))
                                        .order_by(InboundMessage.id.desc()).limit(LIST_LIMIT)))
    return render(request, "quarantine.html", section="quarantine", messages=messages,
                  reasons=REASONS, status=status if status in SHOWN else "")


def _raw_text(message: InboundMessage, inbound_dir: Path) -> str | None:
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
def quarantined_message(request: Request, message_id: str,
                        operator: str = Depends(current_operator)) -> Response:
    cfg = config(request)
    with session_scope(cfg.database_url) as session:
        message = session.get(InboundMessage, parse_id(message_id))
    if message is None:
        raise NotFound(f"Il messaggio #{message_id} non esiste.")
    raw = _raw_text(message, cfg.settings.var_dir / "mail" / "inbound")
    return render(request, "inbound.html", section="quarantine", message=message, raw=raw,
                  reasons=REASONS)


@router.get("/mail")
def mailbox(request: Request, operator: str = Depends(current_operator)) -> Response:
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
def mail_message(request: Request, key: str, operator: str = Depends(current_operator)) -> Response:
    message = read_message(config(request).settings, key)
    if message is None:
        raise NotFound("Questo messaggio non è nella casella della demo.")
    headers = [(name, str(message[name] or "")) for name in
               ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID")
               if message[name] is not None]
    body, from_html = _body(message)
    return render(request, "mail_message.html", section="mail", headers=headers,
                  subject=str(message["Subject"] or ""), body=body[:MAX_RAW], from_html=from_html)
