"""What /healthz reports: whether customers can chat (Rasa answering with a model, the action
endpoint answering Rasa's token, the database) and whether mail leaves (the outbox is not
stuck). The chat's parts decide the HTTP status; a stuck outbox only degrades it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import httpx
from sqlalchemy import func, select, text

from bot.conversation.boundary import ACTION_TOKEN_HEADER, action_endpoint_token
from core import Settings, as_utc, session_scope, utcnow
from escalation.models import OutboxMessage, OutboxStatus
from escalation.queries import unseen_failure_count

# A mail still pending this long after it was queued means the sender is stuck or failing.
MAIL_STUCK_AFTER = timedelta(minutes=15)
CACHE_S = 2.0  # /healthz is public: a flood of probes must not become a flood of checks


class RasaProbe(Protocol):
    def status(self, timeout: float = 2.0) -> tuple[bool, str]: ...


@dataclass(frozen=True)
class Component:
    ok: bool
    detail: str
    critical: bool = True  # the chat is down when a critical component is

    def as_dict(self) -> dict:
        return {"status": "ok" if self.ok else "down" if self.critical else "degraded",
                "detail": self.detail}


class ChatHealth:
    """Checks each part the chat needs. Without a Rasa server (an app started alone, as in
    unit tests) only the app's own parts are checked."""

    def __init__(self, settings: Settings, *, rasa: RasaProbe | None = None,
                 action_url: str | None = None) -> None:
        self.settings, self.rasa, self.action_url = settings, rasa, action_url
        self._token = action_endpoint_token(settings) if action_url else ""
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Component]] | None = None

    def check(self) -> dict[str, Component]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_S:
                return self._cached[1]
            components = {"database": self._database(), "mail": self._mail()}
            if self.rasa is not None:
                components["rasa"] = Component(*self.rasa.status())
            if self.action_url:
                components["action_endpoint"] = self._action_endpoint()
            self._cached = (time.monotonic(), components)
            return components

    def _database(self) -> Component:
        try:
            with session_scope(self.settings.resolved_database_url) as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure of the database means no chat
            return Component(False, f"unreachable ({type(exc).__name__})")
        return Component(True, "answering")

    def _mail(self) -> Component:
        try:
            with session_scope(self.settings.resolved_database_url) as session:
                pending, oldest = session.execute(
                    select(func.count(), func.min(OutboxMessage.created_at))
                    .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
                ).one()
                failed = unseen_failure_count(session=session)
        except Exception as exc:
            return Component(False, f"outbox unreadable ({type(exc).__name__})", critical=False)
        age = utcnow() - as_utc(oldest) if oldest is not None else timedelta(0)
        detail = (f"{pending} pending (oldest {int(age.total_seconds())} s), "
                  f"{failed} failed and not yet seen")
        return Component(age < MAIL_STUCK_AFTER, detail, critical=False)

    def _action_endpoint(self) -> Component:
        try:
            response = httpx.get(f"{self.action_url.rstrip('/')}/actions", timeout=2,
                                 headers={ACTION_TOKEN_HEADER: f"Bearer {self._token}"})
        except httpx.HTTPError as exc:
            return Component(False, f"not reachable ({type(exc).__name__})")
        if response.status_code != 200:
            return Component(False, f"answers {response.status_code}")
        return Component(True, "answering")


def report(health: ChatHealth) -> tuple[int, dict]:
    """The HTTP status and body of /healthz."""
    components = health.check()
    chat_up = all(c.ok for c in components.values() if c.critical)
    degraded = not all(c.ok for c in components.values())
    status = "ok" if not degraded else "degraded" if chat_up else "down"
    return (200 if chat_up else 503,
            {"status": status, "components": {k: c.as_dict() for k, c in components.items()}})
