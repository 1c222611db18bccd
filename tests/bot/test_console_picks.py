"""The operator sends an answer the knowledge base already has, from the ticket page: the
customer gets it and the question joins that entry, never a duplicate."""

from sqlalchemy import func, select

from core import session_scope
from escalation import ConsideredEntry
from knowledge import repository as repo
from knowledge.models import Entry


def _considered(console_, *keys):
    with session_scope(console_.url) as session:
        return tuple(ConsideredEntry(repo.get_entry(key, session=session).id, key, 0.6)
                     for key in keys)


def _entries(console_) -> int:
    with session_scope(console_.url) as session:
        return session.scalar(select(func.count(Entry.id)))


def test_a_considered_answer_is_sent_and_the_question_joins_its_entry(signed_in):
    considered = _considered(signed_in, "en-ship", "en-return")
    ticket_id = signed_in.ticket("what do i pay to get my parcel", considered=considered,
                                 customer_email="ann@example.com", contact_consent=True)
    page = signed_in.client.get(f"/console/tickets/{ticket_id}").text
    assert "Shipping is free over EUR 59." in page and "Returns are free within 30 days." in page
    assert page.count("Invia questa risposta") == 2
    before = _entries(signed_in)
    shipping = considered[0].entry_id
    response = signed_in.post(f"/console/tickets/{ticket_id}/answer", entry_id=str(shipping))
    assert response.status_code == 303
    ticket = signed_in.load(ticket_id)
    assert ticket.status == "closed" and ticket.answer == "Shipping is free over EUR 59."
    assert ticket.learned_entry_id == shipping and _entries(signed_in) == before
    answered = next(e for e in ticket.events if e.kind == "answered")
    assert answered.detail["picked_entry_id"] == shipping
    with session_scope(signed_in.url) as session:
        questions = [q.text for q in repo.get_entry(shipping, session=session).questions]
    assert "what do i pay to get my parcel" in questions


def test_an_entry_the_bot_did_not_consider_cannot_be_picked(signed_in):
    considered = _considered(signed_in, "en-ship")
    other = _considered(signed_in, "en-return")[0].entry_id
    ticket_id = signed_in.ticket("what do i pay to get my parcel", considered=considered)
    for value in (str(other), "not-a-number", ""):
        response = signed_in.post(f"/console/tickets/{ticket_id}/answer", entry_id=value)
        assert response.status_code == 400 and "non è tra quelle proposte" in response.text
        assert signed_in.load(ticket_id).status == "open"
