"""The staff web pages. The operator console under /console: the ticket queue under its
SLA, answering tickets, quarantined mail, the demo mailbox and the knowledge base. The
marketing dashboard under /dashboard. One sign-in; the account's role decides which."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from bot.console.auth import AccountError, ensure_demo_account, set_account, users_file
from bot.console.errors import ConsoleError
from bot.console.web import SESSION_HOURS, STATIC, console_config, handle_console_error
from core import Settings
from escalation import SlaConfig


def install_console(app: FastAPI, settings: Settings, sla: SlaConfig | None = None) -> None:
    """Sessions, pages, error pages and static files of the console on `app`; `sla` names
    the escalation levels and the clock deadlines are shown on."""
    from bot.console import dashboard_routes, kb_routes, mail_routes, routes

    app.state.console = console_config(settings, sla)
    # Its own key, derived: a leaked session key must not forge ticket reply tokens.
    key = hmac.new(settings.resolved_secret_key, b"console-session", hashlib.sha256).hexdigest()
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie="supportbot_console",
                       max_age=SESSION_HOURS * 3600, path="/", same_site="lax",
                       https_only=settings.console_https_only)
    app.add_exception_handler(ConsoleError, handle_console_error)
    app.add_exception_handler(AccountError, handle_console_error)
    for module in (routes, kb_routes, mail_routes, dashboard_routes):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")


__all__ = ["ensure_demo_account", "install_console", "set_account", "users_file"]
