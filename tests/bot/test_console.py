"""The operator console through HTTP, on a real database: sign-in, CSRF, the queue under
its SLA, answering (the same path as an emailed answer), and that nothing a customer
wrote is ever rendered as HTML."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.console.auth import users_file
from core import session_scope
from knowledge import repository as repo
from tests.bot.console_fixtures import EMAIL, HOSTILE, PASSWORD


# -- signing in ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/console", "/console/tickets/1", "/console/kb",
                                  "/console/kb/en-ship", "/console/quarantine", "/console/mail"])
def test_anonymous_visitors_are_sent_to_the_login_page(console, path):
    response = console.client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=/console")


def test_an_anonymous_answer_changes_nothing(console):
    ticket_id = console.ticket()
    response = console.client.post(f"/console/tickets/{ticket_id}/answer", data={"answer": "Yes"})
    assert response.status_code == 303 and "/console/login" in response.headers["location"]
    assert console.load(ticket_id).status == "open"


def test_login_and_logout(console):
    response = console.login(next="/console/kb")
    assert response.status_code == 303 and response.headers["location"] == "/console/kb"
    cookie = response.headers["set-cookie"].lower()
    # path=/: the same sign-in serves /console and /dashboard
    assert "httponly" in cookie and "samesite=lax" in cookie and re.search(r"path=/(;|$)", cookie)
    page = console.client.get("/console")
    assert page.status_code == 200 and EMAIL in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    response = console.post("/console/logout")
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert console.client.get("/console").status_code == 303


@pytest.mark.parametrize("email, password", [
    (EMAIL, "wrong password"), ("nobody@shop.example", PASSWORD), (EMAIL, "x" * 5000)])
def test_a_wrong_password_or_unknown_email_signs_nobody_in(console, email, password):
    response = console.login(email, password)
    assert response.status_code == 401 and "Email o password non corretti" in response.text
    assert console.client.get("/console").status_code == 303


def test_email_is_case_insensitive_and_next_stays_on_the_console(console):
    response = console.login(EMAIL.upper(), next="https://evil.example/console")
    assert response.status_code == 303 and response.headers["location"] == "/console"


def test_a_removed_account_loses_its_session(signed_in):
    path = users_file(signed_in.settings)
    path.write_text("{}", encoding="utf-8")
    assert signed_in.client.get("/console").status_code == 303


def test_a_broken_accounts_file_is_an_error_page_without_details(console):
    users_file(console.settings).write_text("{not json", encoding="utf-8")
    response = console.login()
    assert response.status_code == 500 and "account operatori non è leggibile" in response.text
    assert str(console.settings.var_dir) not in response.text


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_posts_without_the_right_csrf_token_are_refused(signed_in, token):
    ticket_id = signed_in.ticket()
    data = {"answer": "Yes, from 10 euros."} | ({} if token is None else {"csrf_token": token})
    response = signed_in.client.post(f"/console/tickets/{ticket_id}/answer", data=data)
    assert response.status_code == 403 and "Modulo scaduto" in response.text
    assert signed_in.load(ticket_id).status == "open"
    assert signed_in.client.post("/console/logout", data=data).status_code == 403
    assert signed_in.client.get("/console").status_code == 200  # still signed in


def test_the_login_form_needs_its_csrf_token_too(console):
    response = console.client.post("/console/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 403


# -- the queue ----------------------------------------------------------------------------
def test_the_queue_orders_open_tickets_by_due_time_with_sla_colours(signed_in):
    green = signed_in.ticket("green", opened_ago=timedelta(minutes=30))  # 3 h 30 left
    warned = signed_in.ticket("warned", opened_ago=timedelta(hours=2, minutes=30))  # 1 h 30 left
    urgent = signed_in.ticket("urgent", opened_ago=timedelta(hours=3, minutes=30))  # 30 min left
    late = signed_in.ticket("late", opened_ago=timedelta(hours=5))  # 1 h overdue
    page = signed_in.client.get("/console")
    rows = re.findall(r'data-ticket="(\d+)" data-colour="(\w+)"', page.text)
    assert rows == [(str(late), "red"), (str(urgent), "amber"), (str(warned), "amber"),
                    (str(green), "green")]
    assert "scaduta da 1 h 00 min" in page.text and "tra 3 h 29 min" in page.text
    assert "data-due=" in page.text and "/console/static/console.js" in page.text
    assert "operators" in page.text  # the level's name in the escalation chain


def test_queue_filters_by_status(signed_in):
    ticket_id = signed_in.ticket("Do you sell gift cards?")
    other = signed_in.ticket("Do you ship to Norway?")
    signed_in.services.answer(other, "Yes, we ship to Norway in 5 days.", EMAIL, via="console")
    assert f'data-ticket="{ticket_id}"' in signed_in.client.get("/console").text
    closed = signed_in.client.get("/console?status=closed").text
    assert f'data-ticket="{other}"' in closed and f'data-ticket="{ticket_id}"' not in closed
    assert "Nessun ticket" in signed_in.client.get("/console?status=answered").text
    bogus = signed_in.client.get("/console?status=bogus")  # a clear refusal, not the open tab
    assert bogus.status_code == 400 and "Stato «bogus» sconosciuto" in bogus.text


# -- answering ----------------------------------------------------------------------------
def test_answering_closes_the_ticket_and_teaches_the_kb_by_the_email_path(signed_in, monkeypatch):
    calls = []
    original = signed_in.services.answer
    monkeypatch.setattr(signed_in.services, "answer",
                        lambda *args, **kw: calls.append((args, kw)) or original(*args, **kw))
    question = "Do you sell gift cards for birthdays?"
    ticket_id = signed_in.ticket(question, customer_email="ann@example.com", contact_consent=True)
    page = signed_in.client.get(f"/console/tickets/{ticket_id}")
    assert "ann@example.com" in page.text and "Rispondi" in page.text
    answer = "Yes, gift cards from 10 to 200 euros are sold in every shop and online."
    response = signed_in.post(f"/console/tickets/{ticket_id}/answer", answer=answer)
    assert response.status_code == 303
    assert calls == [((ticket_id, answer, EMAIL), {"via": "console"})]
    ticket = signed_in.load(ticket_id)
    assert ticket.status == "closed" and ticket.answered_by == EMAIL
    assert ticket.delivery_channel == "email" and ticket.learned_entry_id
    answered = next(e for e in ticket.events if e.kind == "answered")
    assert answered.detail == {"by": EMAIL, "via": "console"}
    page = signed_in.client.get(response.headers["location"]).text
    assert f"Risposta al ticket #{ticket_id} inviata" in page
    assert "Inviata al cliente per email." in page
    assert "Pubblicata nella knowledge base come nuova voce" in page
    with session_scope(signed_in.url) as session:
        entry = repo.get_entry(ticket.learned_entry_id, session=session)
        assert entry.created_by == EMAIL and entry.ticket_id == ticket_id
    decision = signed_in.assistant.kb.search(question, language="en")
    assert decision.kind.value == "answer" and decision.entry.answer == answer


def test_without_contact_the_outcome_says_it_was_not_delivered(signed_in):
    ticket_id = signed_in.ticket("Can I visit your workshop?")
    signed_in.post(f"/console/tickets/{ticket_id}/answer", answer="Yes, on Saturdays at 10.")
    page = signed_in.client.get(f"/console/tickets/{ticket_id}").text
    assert "Non consegnata" in page and "nessuna email" in page


def test_a_huge_form_is_refused_before_it_is_parsed(signed_in):
    ticket_id = signed_in.ticket()
    response = signed_in.post(f"/console/tickets/{ticket_id}/answer", answer="a" * 600_000)
    assert response.status_code == 413 and signed_in.load(ticket_id).status == "open"


@pytest.mark.parametrize("text, message", [
    ("", "Scrivi la risposta"), ("   \n  ", "Scrivi la risposta"),
    ("a" * 20_001, "troppo lunga: 20.001 caratteri"),
])
def test_a_bad_answer_is_a_form_error_and_changes_nothing(signed_in, text, message):
    ticket_id = signed_in.ticket()
    response = signed_in.post(f"/console/tickets/{ticket_id}/answer", answer=text)
    assert response.status_code == 400 and message in response.text
    ticket = signed_in.load(ticket_id)
    assert ticket.status == "open" and not ticket.answer and len(ticket.events) == 2


def test_answering_an_answered_ticket_says_so(signed_in):
    ticket_id = signed_in.ticket()
    signed_in.services.answer(ticket_id, "Yes, from 10 euros.", "b@shop.example", via="email")
    response = signed_in.post(f"/console/tickets/{ticket_id}/answer", answer="Another answer")
    assert response.status_code == 409
    assert "già ricevuto una risposta da b@shop.example" in response.text
    assert signed_in.load(ticket_id).answer == "Yes, from 10 euros."


def test_an_answer_written_while_the_operator_submits_is_shown_on_the_conflict_page(
        signed_in, monkeypatch):
    # The page's checks pass, then another operator's emailed answer lands first: the
    # conflict page must show that answer, not the ticket as the request first read it.
    ticket_id = signed_in.ticket()
    original = signed_in.services.answer

    def answered_meanwhile(number, *args, **kwargs):
        original(number, "Yes, from 10 euros.", "b@shop.example", via="email")
        return original(number, *args, **kwargs)

    monkeypatch.setattr(signed_in.services, "answer", answered_meanwhile)
    response = signed_in.post(f"/console/tickets/{ticket_id}/answer", answer="Another answer")
    assert response.status_code == 409 and "Nel frattempo" in response.text
    assert "Yes, from 10 euros." in response.text and "b@shop.example" in response.text
    assert signed_in.load(ticket_id).answer == "Yes, from 10 euros."


def test_without_escalation_services_the_console_says_so(signed_in):
    signed_in.client.app.state.escalation = None
    ticket_id = signed_in.ticket()
    response = signed_in.post(f"/console/tickets/{ticket_id}/answer", answer="Yes.")
    assert response.status_code == 503 and signed_in.load(ticket_id).status == "open"


@pytest.mark.parametrize("path", ["/console/tickets/999999", "/console/tickets/abc",
                                  "/console/tickets/99999999999999999999", "/console/kb/nope",
                                  "/console/kb/999999", "/console/quarantine/42",
                                  "/console/mail/nokey"])
def test_unknown_things_are_a_404_page(signed_in, path):
    response = signed_in.client.get(path)
    assert response.status_code == 404 and "Non trovato" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_answering_an_unknown_ticket_is_a_404(signed_in):
    assert signed_in.post("/console/tickets/999999/answer", answer="Yes").status_code == 404


def test_html_written_by_customers_is_escaped(signed_in):
    ticket_id = signed_in.ticket(f"Is this safe? {HOSTILE}")
    for path in ("/console", f"/console/tickets/{ticket_id}"):
        text = signed_in.client.get(path).text
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
