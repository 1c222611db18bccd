"""A learned answer that contradicts an entry the knowledge base would have offered for
its question is kept as a flagged draft, never published side by side; the operator
publishes it separately, merges its question, or replaces the other answer. The ticket's
customer gets the operator's answer whatever learning decides."""

from __future__ import annotations

import pytest

from analytics import EventKind, Interaction, record
from core import DecisionKind, session_scope
from escalation import TicketRequest, finish_answer, open_ticket, record_answer
from escalation.models import Ticket
from escalation.sla import parse_sla_config
from knowledge import repository as repo
from knowledge.learning import ConflictError, conflicts, learn, resolve_conflict

SHIP = "Shipping is free over EUR 59."
SWISS = "Shipping to Switzerland costs EUR 25 and takes a week."
ASKED = "How much does the shipping cost"  # the KB answers it with en-ship (score 0.95)
OP = "op@shop.example"


@pytest.fixture
def ship(add_entry):
    add_entry("Returns are free within 30 days.", "How do I return an item?", key="en-return")
    return add_entry(SHIP, "How much does shipping cost?", key="en-ship")


def _learn(kb, question=ASKED, answer=SWISS, ticket_id=1):
    return learn(kb, question=question, answer=answer, language="en", ticket_id=ticket_id,
                 operator=OP)


def test_a_contradicting_answer_becomes_a_flagged_draft(kb, ship):
    kb.warm_up()
    learned = _learn(kb)
    assert (learned.as_variant, learned.status, learned.conflict_with) == (False, "draft", ship)
    # the knowledge base still answers with the published entry only
    decision = kb.search(ASKED, language="en")
    assert decision.kind is DecisionKind.ANSWER and decision.entry.entry_id == ship
    with session_scope(kb.url) as session:
        [conflict] = conflicts(session=session)
    assert (conflict.draft_id, conflict.other_id, conflict.question, conflict.answer,
            conflict.other_answer, conflict.ticket_id) == (
        learned.entry_id, ship, ASKED, SWISS, SHIP, 1)


def test_the_same_answer_still_merges_and_an_unrelated_question_is_published(kb, ship):
    kb.warm_up()
    same = _learn(kb, answer=SHIP, ticket_id=1)
    assert same.as_variant and same.entry_id == ship
    new = _learn(kb, question="Do you sell gift cards?", answer="Yes, from EUR 10.", ticket_id=2)
    assert (new.status, new.conflict_with) == ("published", None)


def test_publish_keeps_both_entries(kb, ship):
    learned = _learn(kb)
    with session_scope(kb.url) as session:
        message = resolve_conflict(learned.entry_id, "publish", OP, session=session)
    assert "voce separata" in message
    with session_scope(kb.url) as session:
        draft = repo.get_entry(learned.entry_id, session=session)
        assert (draft.status.value, draft.conflict_with) == ("published", None)
        assert conflicts(session=session) == []
        with pytest.raises(ConflictError, match="not a conflicting draft"):
            resolve_conflict(learned.entry_id, "merge", OP, session=session)


def test_merge_moves_the_question_and_retires_the_draft(kb, ship):
    learned = _learn(kb)
    with session_scope(kb.url) as session:
        resolve_conflict(learned.entry_id, "merge", OP, session=session)
    with session_scope(kb.url) as session:
        other = repo.get_entry(ship, session=session)
        assert other.answer == SHIP and ASKED in [q.text for q in other.questions]
        assert repo.get_entry(learned.entry_id, session=session).status.value == "retired"


def test_replace_gives_the_other_entry_the_new_answer(kb, ship):
    learned = _learn(kb)
    with session_scope(kb.url) as session:
        resolve_conflict(learned.entry_id, "replace", OP, session=session)
    kb.sync(force=True)
    decision = kb.search(ASKED, language="en")
    assert decision.kind is DecisionKind.ANSWER and decision.entry.entry_id == ship
    assert decision.entry.answer == SWISS
    with session_scope(kb.url) as session:
        with pytest.raises(ConflictError, match="unknown action"):
            resolve_conflict(ship, "delete", OP, session=session)


def test_the_customer_of_the_ticket_still_gets_the_answer(kb, ship):
    sla = parse_sla_config({
        "timezone": "Europe/Rome", "holidays": [],
        "business_hours": {d: ["00:00-24:00"] for d in
                           ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "chain": [{"name": "operators", "emails": [OP]}],
        "policies": [{"name": "standard", "first_response_minutes": 240,
                      "warn_before_minutes": 120}]})
    request = TicketRequest(conversation_id="c1", question=ASKED, language="en",
                            reason="customer_request", transcript=(("customer", ASKED),),
                            customer_email="ann@example.com", contact_consent=True)
    with session_scope(kb.url) as session:  # the customer is still in the chat
        record(Interaction(EventKind.MESSAGE, "c1", text=ASKED, decision="answer",
                           entry_id=ship), session=session)
        ticket_id = open_ticket(request, session=session, sla=sla, notify=lambda *a: None).id
    record_answer(ticket_id, SWISS, OP, via="console", settings=kb.settings)
    pushed = []
    outcome = finish_answer(ticket_id, settings=kb.settings, kb=kb,
                            deliver_in_chat=lambda ticket: pushed.append(ticket.answer) or True)
    with session_scope(kb.url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert (ticket.status, ticket.answer) == ("closed", SWISS)
        draft = repo.get_entry(ticket.learned_entry_id, session=session)
        assert (draft.status.value, draft.conflict_with) == ("draft", ship)
    assert (outcome.delivered_via, pushed) == ("chat", [SWISS]) and "draft" in outcome.note
