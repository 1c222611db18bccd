from datetime import timedelta

import pytest

from core import session_scope
from escalation import EscalationError, Ticket, TicketRequest, open_ticket, open_ticket_of

SLA = timedelta(hours=4)


def request(**fields) -> TicketRequest:
    base = dict(conversation_id="c1", question="Can I pay in 3 instalments?", language="en",
                reason="kb_escalate", transcript=(("customer", "hi"), ("bot", "hello")),
                customer_email="ann@example.com", contact_consent=True,
                considered=({"entry_id": 1, "key": "en-pay", "score": 0.7},))
    return TicketRequest(**{**base, **fields})


def test_a_ticket_records_question_transcript_contact_and_due_time(database_url):
    with session_scope(database_url) as session:
        info = open_ticket(request(), session=session, sla=SLA)
    with session_scope(database_url) as session:
        ticket = session.get(Ticket, info.id)
        assert ticket.question == "Can I pay in 3 instalments?" and ticket.status == "open"
        assert ticket.transcript == [{"role": "customer", "text": "hi"}, {"role": "bot", "text": "hello"}]
        assert ticket.customer_email == "ann@example.com" and ticket.contact_consent
        assert ticket.considered[0]["key"] == "en-pay"
        assert ticket.due_at - ticket.opened_at == SLA
        assert [e.kind for e in ticket.events] == ["opened"]
        assert open_ticket_of("c1", session=session).id == info.id
        assert open_ticket_of("c2", session=session) is None


def test_asking_again_joins_the_open_ticket(database_url):
    with session_scope(database_url) as session:
        first = open_ticket(request(customer_email="", contact_consent=False), session=session, sla=SLA)
    with session_scope(database_url) as session:
        again = open_ticket(request(question="And with PayPal?"), session=session, sla=SLA)
    assert again.id == first.id and again.joined_existing and not first.joined_existing
    with session_scope(database_url) as session:
        assert session.query(Ticket).count() == 1
        ticket = session.get(Ticket, first.id)
        assert ticket.transcript[-1] == {"role": "customer", "text": "And with PayPal?"}
        assert ticket.customer_email == "ann@example.com"  # given the second time
        assert [e.kind for e in ticket.events] == ["opened", "customer_followup"]


def test_other_conversations_get_their_own_ticket(database_url):
    with session_scope(database_url) as session:
        a = open_ticket(request(), session=session, sla=SLA)
        b = open_ticket(request(conversation_id="c2"), session=session, sla=SLA)
    assert a.id != b.id


def test_no_email_is_kept_without_consent(database_url):
    with session_scope(database_url) as session:
        info = open_ticket(request(contact_consent=False), session=session, sla=SLA)
        assert session.get(Ticket, info.id).customer_email == ""


@pytest.mark.parametrize("fields", [{"question": "  "}, {"customer_email": "a" * 400 + "@x.io"}])
def test_bad_requests_are_refused_and_write_nothing(database_url, fields):
    with pytest.raises(EscalationError):
        with session_scope(database_url) as session:
            open_ticket(request(**fields), session=session, sla=SLA)
    with session_scope(database_url) as session:
        assert session.query(Ticket).count() == 0
