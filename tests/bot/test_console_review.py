"""The console's review list: candidate variants (approve / reject), entries customers
disliked, and learned answers in conflict (publish / merge / replace); forms need the
session's CSRF token and a signed-in operator."""

from __future__ import annotations

import pytest

from core import session_scope, utcnow
from knowledge import candidates as cand
from knowledge import repository as repo
from knowledge.learning import learn
from knowledge.models import CandidateVariant
from tests.bot.console_fixtures import HOSTILE

Q = "what do i pay to get my parcel"


def _entry(console_, key):
    with session_scope(console_.url) as session:
        return repo.get_entry(key, session=session)


def _candidate(console_, question=Q, *, conversations=("a",), confirms=True) -> int:
    ship = _entry(console_, "en-ship").id
    with session_scope(console_.url) as session:
        cand.observe([cand.Observation(c, ship, question, "en", confirms, utcnow())
                      for c in conversations], session=session)
        return session.query(CandidateVariant).filter_by(question=question).one().id


def test_the_review_list_shows_candidates_and_approve_publishes(signed_in):
    blocked = _candidate(signed_in, conversations=("a", "b"))
    _candidate(signed_in, conversations=("x",), confirms=False)
    hostile = _candidate(signed_in, HOSTILE, conversations=("h",))
    page = signed_in.client.get("/console/kb/review")
    assert page.status_code == 200 and "Nuove domande proposte dai clienti" in page.text
    assert f'data-candidate="{blocked}"' in page.text and "bloccata: pollice in giù" in page.text
    assert "2 su 3" in page.text and "<script>alert" not in page.text  # escaped
    assert f'data-candidate="{hostile}"' in page.text
    response = signed_in.post(f"/console/kb/review/candidates/{blocked}/approve")
    assert response.status_code == 303 and response.headers["location"] == "/console/kb/review"
    assert Q in [q.text for q in _entry(signed_in, "en-ship").questions]
    assert "è ora una domanda della voce en-ship" in signed_in.client.get("/console/kb/review").text
    again = signed_in.post(f"/console/kb/review/candidates/{blocked}/approve")
    assert again.status_code == 400 and "already published" in again.text


def test_reject_removes_a_candidate_for_good(signed_in):
    candidate = _candidate(signed_in)
    assert signed_in.post(f"/console/kb/review/candidates/{candidate}/reject").status_code == 303
    with session_scope(signed_in.url) as session:
        row = session.get(CandidateVariant, candidate)
        assert (row.status, row.decided_by) == ("rejected", "op@shop.example")
    assert f'data-candidate="{candidate}"' not in signed_in.client.get("/console/kb/review").text
    assert Q not in [q.text for q in _entry(signed_in, "en-ship").questions]


def test_actions_need_a_signed_in_operator_and_the_csrf_token(console):
    candidate = _candidate(console)
    anonymous = console.client.post(f"/console/kb/review/candidates/{candidate}/approve",
                                    data={"csrf_token": "x"})
    assert anonymous.status_code in (303, 403)
    assert console.client.get("/console/kb/review").status_code == 303  # to the login page
    assert console.login().status_code == 303
    forged = console.client.post(f"/console/kb/review/candidates/{candidate}/approve",
                                 data={"csrf_token": "forged"})
    assert forged.status_code == 403
    for path in (f"/console/kb/review/candidates/{candidate}/publish",
                 "/console/kb/review/candidates/not-a-number/approve",
                 "/console/kb/review/candidates/99999/approve"):
        assert console.post(path).status_code in (400, 404)
    with session_scope(console.url) as session:
        assert session.get(CandidateVariant, candidate).status == "pending"


def test_disliked_entries_are_listed_with_their_questions(signed_in):
    from analytics import EventKind, Interaction, record

    ship = _entry(signed_in, "en-ship").id
    with session_scope(signed_in.url) as session:
        for i in range(3):
            record(Interaction(EventKind.MESSAGE, f"d{i}", text=f"parcel to island {i}",
                               decision="answer", entry_id=ship), session=session)
            record(Interaction(EventKind.FEEDBACK, f"d{i}", entry_id=ship,
                               data={"helpful": False}), session=session)
    page = signed_in.client.get("/console/kb/review").text
    assert f'data-testid="disliked-row" data-entry="{ship:d}"' in page
    assert "3 in giù · 0 in su" in page and "parcel to island 2" in page


def _conflict(console_) -> int:
    learned = learn(console_.assistant.kb, question="How much does the shipping cost",
                    answer="Shipping to Switzerland costs EUR 25.", language="en",
                    ticket_id=9, operator="op@shop.example")
    assert learned.conflict_with == _entry(console_, "en-ship").id
    return learned.entry_id


def test_a_conflicting_draft_is_listed_and_can_be_merged(signed_in):
    draft = _conflict(signed_in)
    page = signed_in.client.get("/console/kb/review").text
    assert f'data-testid="conflict-row" data-entry="{draft}"' in page
    assert "Shipping to Switzerland costs EUR 25." in page
    assert "Shipping is free over EUR 59." in page
    assert signed_in.post(f"/console/kb/review/conflicts/{draft}/merge").status_code == 303
    ship = _entry(signed_in, "en-ship")
    assert "How much does the shipping cost" in [q.text for q in ship.questions]
    assert ship.answer == "Shipping is free over EUR 59."
    assert _entry(signed_in, str(draft)).status.value == "retired"
    assert 'data-testid="conflict-row"' not in signed_in.client.get("/console/kb/review").text


def test_a_conflicting_draft_can_replace_the_other_answer_or_be_published(signed_in):
    draft = _conflict(signed_in)
    assert signed_in.post(f"/console/kb/review/conflicts/{draft}/replace").status_code == 303
    assert _entry(signed_in, "en-ship").answer == "Shipping to Switzerland costs EUR 25."
    assert signed_in.post(f"/console/kb/review/conflicts/{draft}/publish").status_code == 400
    assert signed_in.post(f"/console/kb/review/conflicts/{draft}/delete").status_code == 404


@pytest.mark.browser
def test_the_review_page_has_no_serious_accessibility_violations(page, kb, add_entry,
                                                                 monkeypatch):
    """In headless Chromium with axe-core, every list filled; on a phone nothing scrolls
    sideways."""
    from analytics import EventKind, Interaction, record
    from bot.app import create_app
    from bot.console.auth import set_account, users_file
    from bot.conversation.assistant import Assistant
    from tests.bot.axe import describe, violations
    from tests.bot.console_fixtures import EMAIL, PASSWORD, SLA, served

    monkeypatch.delenv("SUPPORTBOT_CONSOLE_USERS", raising=False)
    ship = add_entry("Shipping is free over EUR 59.", "How much does shipping cost?",
                     key="en-ship")
    set_account(users_file(kb.settings), EMAIL, PASSWORD)
    with session_scope(kb.url) as session:
        cand.observe([cand.Observation("a", ship, Q, "en", True, utcnow()),
                      cand.Observation("b", ship, "x" * 300, "en", False, utcnow())],
                     session=session)
        for i in range(3):
            record(Interaction(EventKind.MESSAGE, f"d{i}", text=f"parcel {i}", decision="answer",
                               entry_id=ship), session=session)
            record(Interaction(EventKind.FEEDBACK, f"d{i}", entry_id=ship,
                               data={"helpful": False}), session=session)
    learn(kb, question="How much does the shipping cost", answer="Switzerland: EUR 25.",
          language="en", ticket_id=3, operator=EMAIL)
    with served(create_app(Assistant(kb.settings, kb, sla=SLA))) as base:
        page.goto(base + "/console/kb/review")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.locator("[data-testid=conflict-row]").wait_for()
        for testid in ("candidate-row", "disliked-row", "conflict-row"):
            assert page.locator(f"[data-testid={testid}]").count() >= 1
        assert not (found := violations(page)), describe(found)
        page.set_viewport_size({"width": 390, "height": 844})
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
