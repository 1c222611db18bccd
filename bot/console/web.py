"""What every console page shares: its configuration on the app, the Jinja2 environment
(autoescape on: tickets, mail and KB answers are written by strangers), the response
headers, flash messages and form reading with the CSRF check."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context
from limits.storage import storage_from_string

from bot.console.auth import (
    AccountError,
    check_csrf,
    csrf_token,
    signed_in_account,
    users_file,
)
from bot.console.errors import Forbidden, LoginRequired, Misconfigured, NotFound, TooLarge
from bot.console.guard import LoginLimiter, SessionRegistry
from core import Settings, as_utc, utcnow
from core.text import drop_controls
from escalation import SlaConfig
from knowledge.privacy import scrub

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
MAX_TEXT = 20_000  # an answer or a KB entry, as the KB itself allows
MAX_FORM_BYTES = 512 * 1024  # every form here fits; a bigger body is refused before parsing
# Scripts and styles only from our own static files: escaped text could never run anyway,
# this is the second lock on the door.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # tickets hold customers' words: keep them out of caches
}


@dataclass
class ConsoleConfig:
    settings: Settings
    users_path: Path
    limiter: LoginLimiter
    sessions: SessionRegistry  # live session ids: logging out ends a session everywhere
    timezone: ZoneInfo  # deadlines are shown on the support team's clock
    levels: tuple[str, ...]  # names of the escalation chain's levels

    @property
    def database_url(self) -> str:
        return self.settings.resolved_database_url

    def level_name(self, level: int) -> str:
        return self.levels[min(level, len(self.levels) - 1)] if self.levels else str(level + 1)


SESSION_HOURS = 12  # one working day; then sign in again


def console_config(settings: Settings, sla: SlaConfig | None) -> ConsoleConfig:
    # One store (one Redis pool) for locks and sessions, shared by replicas when it is Redis.
    storage = storage_from_string(settings.rate_limit_storage)
    return ConsoleConfig(settings, users_file(settings), LoginLimiter(storage),
                         SessionRegistry(storage, SESSION_HOURS * 3600),
                         sla.timezone if sla else settings.zone,
                         tuple(level.name for level in sla.chain) if sla else ())


def config(request: Request) -> ConsoleConfig:
    return request.app.state.console


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return None if moment is None else as_utc(moment)


@pass_context
def _when(context, moment: datetime | None) -> str:
    moment = aware(moment)
    if moment is None:
        return "—"
    return moment.astimezone(context["tz"]).strftime("%d/%m/%Y %H:%M")


def _iso(moment: datetime | None) -> str:
    moment = aware(moment)
    return moment.astimezone(UTC).isoformat() if moment else ""


# Values stored in English, shown in Italian; anything unknown is shown as stored.
LABELS = {"published": "pubblicata", "draft": "bozza", "retired": "ritirata",
          "imported": "importata", "operator": "da un operatore", "manual": "manuale",
          "normal": "normale", "urgent": "urgente", "high": "alta", "low": "bassa"}


def _plain(value: Any) -> str:
    """An audit-trail value as a reader expects it: lists joined, yes/no."""
    if isinstance(value, bool):
        return "sì" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _pct(value: float | None) -> str:
    """A share as Italians write it: 12,5%; "—" when there is nothing to divide."""
    return "—" if value is None else f"{value * 100:.1f}%".replace(".", ",")


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    minutes = round(value)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


REASONS = {"unused": "mai usata", "disliked": "più giudizi negativi che positivi",
           "review overdue": "revisione scaduta"}

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                   trim_blocks=True, lstrip_blocks=True)
_env.filters.update(when=_when, iso=_iso, plain=_plain, path=lambda text: quote(str(text), safe=""),
                    label=lambda value: LABELS.get(str(value), str(value)), pct=_pct,
                    minutes=_minutes, reason=lambda value: REASONS.get(value, value),
                    scrub=lambda text: scrub(str(text or "")))
templates = Jinja2Templates(env=_env)


def render(request: Request, name: str, code: int = 200, **context: Any) -> Response:
    cfg = config(request)
    try:
        account = signed_in_account(request)
    except AccountError:  # the page may be the one reporting that very problem
        account = None
    context.update(
        operator=account.email if account else None, role=account.role if account else "",
        # marketing never sees the console's menu, even on a console error page
        area=context.get("area") or ("dashboard" if account and account.role == "marketing"
                                     else "console"),
        csrf=csrf_token(request),
        flash=request.session.pop("flash", None), tz=cfg.timezone, now=utcnow(),
        shop=cfg.settings.shop_name, section=context.get("section", ""),
        level_name=cfg.level_name)
    return templates.TemplateResponse(request, name, context, status_code=code,
                                      headers=SECURITY_HEADERS)


def flash(request: Request, kind: str, title: str, lines: list[str] | None = None) -> None:
    """A message for the next page (post/redirect/get); kept short: it rides in the cookie."""
    request.session["flash"] = {"kind": kind, "title": title[:300],
                                "lines": [line[:300] for line in (lines or [])][:6]}


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form's text fields, after the CSRF check; files are dropped."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise TooLarge("Il testo inviato è troppo grande per questa console.")
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    return {key: value for key, value in form.items() if isinstance(value, str)}


def text_field(form: dict[str, str], name: str) -> str:
    """Browsers send CRLF line ends; lengths are counted on what will be stored. Control
    characters go (PostgreSQL refuses NUL in text; none belongs in an answer)."""
    return drop_controls(form.get(name, "").replace("\r\n", "\n"))


def parse_id(text: str) -> int:
    """A numeric id from the URL; anything else is simply not found (never a 422)."""
    if text.isascii() and text.isdigit() and len(text) < 19 and int(text) > 0:
        return int(text)
    raise NotFound(f"Non esiste nulla con l'identificativo «{text[:80]}».")


def safe_next(path: str | None) -> str:
    """Where to go after login: only a console or dashboard page of this site, never
    another host; "" when there is no such page (then the account's own home)."""
    if (path and (path.startswith("/console") or path.startswith("/dashboard"))
            and "//" not in path and "\\" not in path and not path.startswith("/console/log")):
        return path
    return ""


async def handle_console_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, AccountError):  # the details are in the log, not on a public page
        log.error("operator console: %s", exc)
        exc = Misconfigured("Il file degli account operatori non è leggibile: vedi il log del "
                            "server e `supportbot console-user`.")
    if isinstance(exc, LoginRequired):
        target = safe_next(exc.next_path)
        return redirect("/console/login" + (f"?next={quote(target, safe='/')}" if target else ""))
    if isinstance(exc, Forbidden):
        return render(request, "error.html", exc.status, title=exc.title, message=exc.message,
                      home=exc.home)
    area = "dashboard" if request.url.path.startswith("/dashboard") else ""
    return render(request, "error.html", exc.status, title=exc.title, message=exc.message,
                  area=area)
