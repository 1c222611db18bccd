"""The console's queue and ticket page in real headless Chromium, served by the real app
over HTTP: no serious or critical axe-core violation on a desktop screen, and on a phone
(390 x 844) nothing scrolls sideways and every menu entry is on screen."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from bot.app import create_app
from bot.console.auth import set_account, users_file
from bot.conversation.assistant import Assistant
from core import session_scope, utcnow
from escalation import Ticket, TicketRequest, open_ticket
from tests.bot.axe import describe, violations
from tests.bot.console_fixtures import EMAIL, PASSWORD, SLA, served

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
# One unbroken word a customer might paste: it must wrap, not widen the page.
LONG = "https://tracking.example/" + "ABCDEFGHIJ" * 12


def _ticket(url: str, question: str, opened_ago: timedelta, transcript: tuple) -> int:
    request = TicketRequest(conversation_id=f"l-{uuid.uuid4().hex[:8]}", question=question,
                            language="it", reason="kb_escalate", transcript=transcript)
    with session_scope(url) as session:
        return open_ticket(request, session=session, sla=SLA, notify=lambda *a: None,
                           now=utcnow() - opened_ago).id


@pytest.fixture
def console_site(kb, add_entry, monkeypatch):
    """The app on a database with a current ticket, one overdue for days and a transcript
    with clicks; returns (base URL, the current ticket's id)."""
    monkeypatch.delenv("SUPPORTBOT_CONSOLE_USERS", raising=False)
    entry = add_entry("La spedizione è gratuita sopra i 59 euro.", "Quanto costa la spedizione?",
                      language="it", key="it-ship")
    set_account(users_file(kb.settings), EMAIL, PASSWORD)
    url = kb.settings.resolved_database_url
    clicks = (("customer", "Quanto costa la spedizione?"),
              ("bot", "La spedizione è gratuita sopra i 59 euro."),
              ("customer", f'/feedback_unhelpful{{"entry_id": "{entry:d}"}}'),
              ("customer", "/ask_human"), ("customer", "/affirm"), ("customer", LONG))
    current = _ticket(url, f"Dov'è il mio pacco? {LONG}", timedelta(hours=1), clicks)
    _ticket(url, "Posso cambiare taglia?", timedelta(days=4), ())
    with session_scope(url) as session:
        ticket = session.get(Ticket, current)
        ticket.customer_email, ticket.contact_consent = f"{'m' * 60}@example.com", True
    with served(create_app(Assistant(kb.settings, kb, sla=SLA))) as base:
        yield base, current


def sign_in(page, base: str) -> None:
    page.goto(base + "/console")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.locator("[data-testid=queue]").wait_for()


def test_queue_and_ticket_page_have_no_serious_accessibility_violations(page, console_site):
    base, ticket_id = console_site
    sign_in(page, base)
    assert not (found := violations(page)), describe(found)
    page.goto(f"{base}/console?language=it&breached=yes&q=taglia")  # a filtered queue
    assert page.locator("[data-testid=ticket-row]").count() == 1
    assert not (found := violations(page)), describe(found)
    page.goto(f"{base}/console/tickets/{ticket_id}")
    assert "Voglio parlare con una persona" in page.locator("[data-testid=transcript]").inner_text()
    assert not (found := violations(page)), describe(found)


def no_sideways_scroll(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]} px wide on a {widths[1]} px screen"
    for link in page.locator("header.top a, header.top button").all():
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (
            f"{link.inner_text()!r} is off screen: {box}")


def test_on_a_phone_nothing_scrolls_sideways_and_the_menu_is_on_screen(page, console_site):
    base, ticket_id = console_site
    page.set_viewport_size(PHONE)
    sign_in(page, base)
    no_sideways_scroll(page)
    page.goto(f"{base}/console/tickets/{ticket_id}")
    no_sideways_scroll(page)
    page.goto(f"{base}/console?status=closed")  # the empty queue too
    no_sideways_scroll(page)
