"""Shared by the console tests: an app on a real database with the hashing embedder, an
operator account, EscalationServices built from the Assistant (nothing stubbed but the
live chat, which these tests do not have), and helpers that post forms as the pages do."""

from __future__ import annotations

import re
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import uvicorn
from fastapi.testclient import TestClient

from bot.conversation.assistant import Assistant
from bot.jobs.services import EscalationServices
from bot.stack import free_port
from core import Settings, session_scope, utcnow
from escalation import Ticket, TicketRequest, open_ticket
from escalation.sla import parse_sla_config

EMAIL, PASSWORD = "op@shop.example", "correct horse battery"
ALWAYS_OPEN = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SLA = parse_sla_config({
    "timezone": "Europe/Rome", "business_hours": ALWAYS_OPEN, "holidays": [],
    "chain": [{"name": "operators", "emails": [EMAIL]},
              {"name": "backup", "emails": ["b@shop.example"]}],
    "policies": [{"name": "standard", "first_response_minutes": 240, "warn_before_minutes": 120}],
})
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    client: TestClient
    assistant: Assistant
    services: EscalationServices
    settings: Settings

    @property
    def url(self) -> str:
        return self.settings.resolved_database_url

    def token(self, path: str = "/console/login") -> str:
        return CSRF.search(self.client.get(path).text).group(1)

    def login(self, email: str = EMAIL, password: str = PASSWORD, **extra):
        data = {"email": email, "password": password, "csrf_token": self.token(), **extra}
        return self.client.post("/console/login", data=data)

    def post(self, path: str, **data):
        """A form post with this session's CSRF token, as the page's form sends it."""
        return self.client.post(path, data={"csrf_token": self.token("/console"), **data})

    def ticket(self, question: str = "Do you sell gift cards?", *,
               opened_ago: timedelta = timedelta(0), **fields) -> int:
        request = TicketRequest(conversation_id=f"c-{uuid.uuid4().hex[:8]}", question=question,
                                language="en", reason="kb_escalate",
                                transcript=(("customer", question),
                                            ("bot", "I'll ask a colleague.")),
                                **fields)
        with session_scope(self.url) as session:
            info = open_ticket(request, session=session, sla=SLA, notify=lambda *a: None,
                               now=utcnow() - opened_ago)
        return info.id

    def load(self, ticket_id: int) -> Ticket:
        with session_scope(self.url) as session:
            ticket = session.get(Ticket, ticket_id)
            _ = ticket.events  # loaded while the session is open
            return ticket


@contextmanager
def served(app):
    """The app under uvicorn on a free port, for a real browser; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)
