from datetime import timedelta

import pytest

from core import session_scope
from escalation import (
    EscalationError,
    Ticket,
    TicketRequest,
    TooManyOpenTickets,
    add_contact,
    open_ticket,
    open_ticket_of,
    open_tickets_of,
)
from escalation.models import TicketTimer
from escalation.sla import parse_sla_config
from escalation.tickets import MAX_OPEN_PER_CONVERSATION, MAX_TRANSCRIPT_TURNS, ConsideredEntry

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
                considered=(ConsideredEntry(1, "en-pay", 0.7),))
    return TicketRequest(**{**base, **fields})


def test_a_ticket_records_question_transcript_contact_and_due_time(database_url):
    with session_scope(database_url) as session:
        info = open_ticket(request(), session=session, sla=SLA, notify=notify)
    with session_scope(database_url) as session:
        ticket = session.get(Ticket, info.id)
        assert ticket.question == "Can I pay in 3 instalments?" and ticket.status == "open"
        assert ticket.transcript == [{"role": "customer", "text": "hi"},
                                     {"role": "bot", "text": "hello"}]
        assert ticket.customer_email == "ann@example.com" and ticket.contact_consent
        assert ticket.considered[0]["key"] == "en-pay"
        assert ticket.due_at - ticket.opened_at == timedelta(hours=4)
        assert ticket.sla_policy == "standard"
        assert [e.kind for e in ticket.events] == ["opened", "notified"]
        timers = (session.query(TicketTimer).filter_by(ticket_id=info.id)
                  .order_by(TicketTimer.due_at).all())
        assert [(t.kind, t.due_at - ticket.opened_at) for t in timers] == [
            ("warning", timedelta(hours=3)), ("breach", timedelta(hours=4))]
        assert open_ticket_of("c1", session=session).id == info.id
        assert open_ticket_of("c2", session=session) is None
    assert NOTIFIED == [(info.id, "escalation", ["op@shop.example"])]


def test_each_question_is_a_ticket_of_its_own_with_its_own_notification(database_url):
    with session_scope(database_url) as session:
        first = open_ticket(request(customer_email="", contact_consent=False), session=session,
                            sla=SLA, notify=notify)
    with session_scope(database_url) as session:
        second = open_ticket(request(question="And with PayPal?", customer_email="",
                                     contact_consent=False), session=session, sla=SLA,
                             notify=notify)
    assert second.id != first.id and not second.joined_existing
    with session_scope(database_url) as session:
        assert [t.question for t in open_tickets_of("c1", session=session)] == [
            "Can I pay in 3 instalments?", "And with PayPal?"]
    # Each question reaches the operators: one notification per ticket.
    assert NOTIFIED == [(first.id, "escalation", ["op@shop.example"]),
                        (second.id, "escalation", ["op@shop.example"])]


def test_the_same_question_again_is_the_same_ticket(database_url):
    with session_scope(database_url) as session:
        first = open_ticket(request(), session=session, sla=SLA, notify=notify)
    with session_scope(database_url) as session:
        again = open_ticket(request(question="  can I pay in 3   INSTALMENTS? "),
                            session=session, sla=SLA, notify=notify)
    assert again.id == first.id and again.joined_existing
    assert len(NOTIFIED) == 1


def test_the_same_words_about_another_product_are_a_ticket_of_their_own(database_url):
    # "when is it back in black?" on the bag's page, then on the coat's: two questions; joined,
    # the coat's would be answered (and learned) for the bag only.
    with session_scope(database_url) as session:
        bag = open_ticket(request(question="When is it back in black?", product_slug="bag",
                                  product_attribute="restock"), session=session, sla=SLA,
                          notify=notify)
    with session_scope(database_url) as session:
        coat = open_ticket(request(question="When is it back in black?", product_slug="coat",
                                   product_attribute="restock"), session=session, sla=SLA,
                           notify=notify)
        again = open_ticket(request(question=" when is it BACK in black?", product_slug="coat",
                                    product_attribute="restock"), session=session, sla=SLA,
                            notify=notify)
    assert coat.id != bag.id and not coat.joined_existing
    assert again.id == coat.id and again.joined_existing
    with session_scope(database_url) as session:
        assert session.get(Ticket, coat.id).product_slug == "coat"


def test_a_later_question_takes_the_contact_given_earlier_in_the_conversation(database_url):
    with session_scope(database_url) as session:
        open_ticket(request(), session=session, sla=SLA, notify=notify)
        later = open_ticket(request(question="Do you ship to Norway?", customer_email="",
                                    contact_consent=False), session=session, sla=SLA,
                            notify=notify)
        other = open_ticket(request(conversation_id="c2", customer_email="",
                                    contact_consent=False), session=session, sla=SLA,
                            notify=notify)
        assert later.has_contact and session.get(Ticket, later.id).customer_email == (
            "ann@example.com")
        assert not other.has_contact and session.get(Ticket, other.id).customer_email == ""


def test_a_contact_is_added_to_the_open_tickets_without_one(database_url):
    with session_scope(database_url) as session:
        a = open_ticket(request(customer_email="", contact_consent=False), session=session,
                        sla=SLA, notify=notify)
        b = open_ticket(request(question="Gift wrap?", customer_email="", contact_consent=False),
                        session=session, sla=SLA, notify=notify)
    with session_scope(database_url) as session:
        assert add_contact("c1", " Ann@Example.com", session=session) == [a.id, b.id]
    with session_scope(database_url) as session:
        assert {session.get(Ticket, i).customer_email for i in (a.id, b.id)} == {
            "Ann@example.com"}
        assert [e.kind for e in session.get(Ticket, a.id).events][-1] == "contact_added"
        assert add_contact("c1", "other@example.com", session=session) == []  # has one


@pytest.mark.parametrize("address", [
    "crlf@example.com\r\nBcc: attacker@evil.example", "a@b.example\n", "no-at-sign",
    "two@@example.com", "x@example.com>, y@evil.example", "\x00@example.com",
    "a" * 400 + "@x.io"])
def test_an_invalid_address_is_refused_by_the_ticket_itself(database_url, address):
    with pytest.raises(EscalationError):
        with session_scope(database_url) as session:
            open_ticket(request(customer_email=address), session=session, sla=SLA,
                        notify=notify)
    with pytest.raises(EscalationError):
        with session_scope(database_url) as session:
            add_contact("c1", address, session=session)
    with session_scope(database_url) as session:
        assert session.query(Ticket).count() == 0
    assert NOTIFIED == []


def test_consent_without_an_address_is_no_contact(database_url):
    with session_scope(database_url) as session:
        info = open_ticket(request(customer_email="", contact_consent=True), session=session,
                           sla=SLA, notify=notify)
        ticket = session.get(Ticket, info.id)
        assert (ticket.customer_email, ticket.contact_consent, info.has_contact) == ("", False,
                                                                                     False)


def test_what_a_stranger_sends_is_capped_and_cleaned(database_url):
    forged = tuple(("bot", f"turn {i} \x1b[31m" + "x" * 5000) for i in range(500))
    with session_scope(database_url) as session:
        info = open_ticket(request(question="Why?\x00\x1b " + "q" * 9000, language="xx" * 20,
                                   transcript=(("operator", "I am staff"), *forged),
                                   considered=(ConsideredEntry("1; drop", "", 0.0),
                                               ConsideredEntry(2, "<b>" * 100, "high")),
                                   category="c" * 50, reason="r" * 100),
                           session=session, sla=SLA, notify=notify)
        ticket = session.get(Ticket, info.id)
        assert ticket.question.startswith("Why? q") and len(ticket.question) == 4000
        assert len(ticket.transcript) == MAX_TRANSCRIPT_TURNS
        assert all(len(t["text"]) <= 2000 and "\x1b" not in t["text"] for t in ticket.transcript)
        assert {t["role"] for t in ticket.transcript} == {"bot"}  # no made-up "operator"
        assert ticket.considered == [{"entry_id": 2, "key": ("<b>" * 100)[:120], "score": 0.0,
                                      "category": "general"}]
        assert len(ticket.language) <= 8 and len(ticket.category) <= 20


def test_a_conversation_has_a_bounded_number_of_open_questions(database_url):
    with session_scope(database_url) as session:
        for i in range(MAX_OPEN_PER_CONVERSATION):
            open_ticket(request(question=f"Question {i}?"), session=session, sla=SLA,
                        notify=notify)
        with pytest.raises(TooManyOpenTickets):
            open_ticket(request(question="One more?"), session=session, sla=SLA, notify=notify)


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
