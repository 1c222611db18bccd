from datetime import timedelta

import pytest

from core import session_scope
from escalation import EscalationError, Ticket, TicketRequest, open_ticket, open_ticket_of
from escalation.models import TicketTimer
from escalation.sla import parse_sla_config

ALWAYS_OPEN = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SLA = parse_sla_config({
    "timezone": "Europe/Rome", "business_hours": ALWAYS_OPEN, "holidays": [],
    "chain": [{"name": "operators", "emails": ["op@shop.example"]},
              {"name": "backup", "emails": ["backup@shop.example"]}],
    "policies": [{"name": "standard", "first_response_minutes": 240, "warn_before_minutes": 60}],
})
NOTIFIED: list[tuple[int, str, list[str]]] = []


def notify(ticket, kind, recipients, session):
    NOTIFIED.append((ticket.id, kind, recipients))


@pytest.fixture(autouse=True)
def _clear_notified():
    NOTIFIED.clear()


def request(**fields) -> TicketRequest:
    base = dict(conversation_id="c1", question="Can I pay in 3 instalments?", language="en",
                reason="kb_escalate", transcript=(("customer", "hi"), ("bot", "hello")),
                customer_email="ann@example.com", contact_consent=True,
                considered=({"entry_id": 1, "key": "en-pay", "score": 0.7},))
    return TicketRequest(**{**base, **fields})


def test_a_ticket_records_question_transcript_contact_and_due_time(database_url):
    with session_scope(database_url) as session:
        info = open_ticket(request(), session=session, sla=SLA, notify=notify)
    with session_scope(database_url) as session:
        ticket = session.get(Ticket, info.id)
        assert ticket.question == "Can I pay in 3 instalments?" and ticket.status == "open"
        assert ticket.transcript == [{"role": "customer", "text": "hi"}, {"role": "bot", "text": "hello"}]
        assert ticket.customer_email == "ann@example.com" and ticket.contact_consent
        assert ticket.considered[0]["key"] == "en-pay"
        assert ticket.due_at - ticket.opened_at == timedelta(hours=4)
        assert ticket.sla_policy == "standard"
        assert [e.kind for e in ticket.events] == ["opened", "notified"]
        timers = session.query(TicketTimer).filter_by(ticket_id=info.id).order_by(TicketTimer.due_at).all()
        assert [(t.kind, t.due_at - ticket.opened_at) for t in timers] == [
            ("warning", timedelta(hours=3)), ("breach", timedelta(hours=4))]
        assert open_ticket_of("c1", session=session).id == info.id
        assert open_ticket_of("c2", session=session) is None
    assert NOTIFIED == [(info.id, "escalation", ["op@shop.example"])]


def test_asking_again_joins_the_open_ticket(database_url):
    with session_scope(database_url) as session:
        first = open_ticket(request(customer_email="", contact_consent=False), session=session,
                            sla=SLA, notify=notify)
    with session_scope(database_url) as session:
        again = open_ticket(request(question="And with PayPal?"), session=session, sla=SLA, notify=notify)
    assert again.id == first.id and again.joined_existing and not first.joined_existing
    with session_scope(database_url) as session:
        assert session.query(Ticket).count() == 1
        ticket = session.get(Ticket, first.id)
        assert ticket.transcript[-1] == {"role": "customer", "text": "And with PayPal?"}
        assert ticket.customer_email == "ann@example.com"  # given the second time
        assert [e.kind for e in ticket.events] == ["opened", "notified", "customer_followup"]
    assert len(NOTIFIED) == 1  # joining an open ticket notifies nobody again


def test_other_conversations_get_their_own_ticket(database_url):
    with session_scope(database_url) as session:
        a = open_ticket(request(), session=session, sla=SLA, notify=notify)
        b = open_ticket(request(conversation_id="c2"), session=session, sla=SLA, notify=notify)
    assert a.id != b.id


def test_no_email_is_kept_without_consent(database_url):
    with session_scope(database_url) as session:
        info = open_ticket(request(contact_consent=False), session=session, sla=SLA, notify=notify)
        assert session.get(Ticket, info.id).customer_email == ""


@pytest.mark.parametrize("fields", [{"question": "  "}, {"customer_email": "a" * 400 + "@x.io"}])
def test_bad_requests_are_refused_and_write_nothing(database_url, fields):
    with pytest.raises(EscalationError):
        with session_scope(database_url) as session:
            open_ticket(request(**fields), session=session, sla=SLA, notify=notify)
    with session_scope(database_url) as session:
        assert session.query(Ticket).count() == 0
