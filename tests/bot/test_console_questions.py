"""A customer's several questions in the console: each is a ticket of its own, the page
shows the others of the same conversation, and answering one closes that one only."""

from __future__ import annotations

from bot.conversation.turns import Turn
from core import session_scope
from escalation import Ticket
from tests.bot.console_fixtures import HOSTILE

QUESTIONS = ("Can I visit your workshop?", "Do you repair old leather bags?",
             "Is there parking near the Milan shop?")


def ask_all(console) -> list[int]:
    for question in QUESTIONS:
        console.assistant.answer(Turn("conv-q", question, language="en", channel="rest",
                                      transcript=(("customer", question),
                                                  ("bot", HOSTILE))))
    with session_scope(console.url) as session:
        return [t.id for t in session.query(Ticket).filter_by(conversation_id="conv-q")
                .order_by(Ticket.id)]


def test_the_ticket_page_lists_the_other_questions_of_the_conversation(signed_in):
    first, second, third = ask_all(signed_in)
    page = signed_in.client.get(f"/console/tickets/{second}").text
    assert "Altre domande di questa conversazione" in page
    assert f'href="/console/tickets/{first}"' in page and QUESTIONS[0] in page
    assert f'href="/console/tickets/{third}"' in page and QUESTIONS[2] in page
    assert "la risposta a questo ticket chiude solo questa domanda" in page
    # The transcript is labelled as what the chat server reported, and stays text.
    assert "Trascrizione come riferita dal server della chat" in page
    assert HOSTILE not in page and "&lt;script&gt;" in page


def test_answering_one_question_leaves_the_others_open(signed_in):
    first, second, third = ask_all(signed_in)
    response = signed_in.post(f"/console/tickets/{second}/answer",
                              answer="Yes, bring it to the Bologna workshop.")
    assert response.status_code == 303
    assert [signed_in.load(i).status for i in (first, second, third)] == [
        "open", "closed", "open"]
    queue = signed_in.client.get("/console?status=open").text
    assert f"/console/tickets/{first}" in queue and f"/console/tickets/{third}" in queue


def test_a_duplicate_is_closed_explicitly_with_its_reason_and_nothing_else_moves(signed_in):
    first, second, third = ask_all(signed_in)
    refused = signed_in.post(f"/console/tickets/{third}/close", reason="   ")
    assert refused.status_code == 400 and "Scrivi perché" in refused.text
    assert signed_in.load(third).status == "open"
    done = signed_in.post(f"/console/tickets/{third}/close", reason=f"doppione del #{first}")
    assert done.status_code == 303
    closed = signed_in.load(third)
    assert closed.status == "closed" and not closed.answer and closed.learned_entry_id is None
    event = next(e for e in closed.events if e.kind == "closed_unanswered")
    assert event.detail == {"by": "op@shop.example", "reason": f"doppione del #{first}"}
    assert [signed_in.load(i).status for i in (first, second)] == ["open", "open"]
    page = signed_in.client.get(f"/console/tickets/{third}").text
    assert f"Chiuso senza risposta da op@shop.example: doppione del #{first}" in page
    again = signed_in.post(f"/console/tickets/{third}/close", reason="again")
    assert again.status_code == 400 and "non è più aperto" in again.text
    with session_scope(signed_in.url) as session:
        from escalation.models import TicketTimer

        assert not session.query(TicketTimer).filter_by(
            ticket_id=third, fired_at=None, cancelled=False).count()


def test_closing_needs_a_signed_in_operator_and_the_csrf_token(console):
    [ticket_id, *_] = ask_all(console)
    anonymous = console.client.post(f"/console/tickets/{ticket_id}/close", data={"reason": "x"})
    assert anonymous.status_code in (303, 401, 403)
    console.login()
    forged = console.client.post(f"/console/tickets/{ticket_id}/close",
                                 data={"reason": "x", "csrf_token": "forged"})
    assert forged.status_code in (400, 403)
    assert console.load(ticket_id).status == "open"
