"""The learning curve on a hand-made log whose weekly figures are worked out below.

Weeks: 2026-W43 (19-25 October; Rome leaves summer time on the 25th), 2026-W44 (26 October
- 1 November) and 2026-W45, cut by the period (2-4 November) and still under way.
Learned knowledge: entry L, created from ticket 1's answer on 22 October at 12:00; the
wording "Spedite in Svizzera?" taught to the imported entry A by ticket 2 on 27 October at
10:00 (the operator picked A's answer)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from analytics.learning_curve import learning_curve
from analytics.models import InteractionEvent
from analytics.period import Filters, Period
from core import session_scope
from escalation.models import Ticket, TicketEvent
from knowledge.models import Entry, Source

ROME = ZoneInfo("Europe/Rome")
PERIOD = Period(date(2026, 10, 19), date(2026, 11, 4))
TODAY = date(2026, 11, 4)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ROME).astimezone(UTC)


def _ticket(session, question: str, opened: str) -> int:
    ticket = Ticket(conversation_id=f"t-{question}", question=question, language="it",
                    opened_at=local(opened), due_at=local(opened))
    session.add(ticket)
    session.flush()
    return ticket.id


def _learned(session, ticket_id: int, entry_id: int, at: str) -> None:
    session.get(Ticket, ticket_id).learned_entry_id = entry_id
    session.add(TicketEvent(ticket_id=ticket_id, kind="learned", at=local(at),
                            detail={"entry_id": entry_id}))


def _log(session, rows) -> None:
    """rows: (conversation, local time, kind, fields), inserted in order (ids follow time)."""
    for conversation, when, kind, fields in rows:
        language = fields.pop("language", "it")
        session.add(InteractionEvent(occurred_at=local(when), kind=kind, language=language,
                                     conversation_id=conversation, channel="socketio", **fields))
        session.flush()


def ask(text: str, decision: str, entry: int | None = None) -> tuple[str, dict]:
    return "message", {"text": text, "decision": decision, "entry_id": entry}


def escalation(joined: bool = False) -> tuple[str, dict]:
    return "escalation", {"data": {"ticket_id": 1, "joined": joined}}


@pytest.fixture
def log(database_url):
    with session_scope(database_url) as session:
        imported = Entry(key="it-spedizione", answer="Spediamo in tutta Europa.", language="it",
                         created_at=local("2026-01-01 08:00"))
        session.add(imported)
        session.flush()
        t1 = _ticket(session, "Reso gratis?", "2026-10-20 09:00")
        learned = Entry(key="it-reso", answer="Il reso è gratuito.", language="it",
                        source=Source.OPERATOR, ticket_id=t1,
                        created_at=local("2026-10-22 12:00"))
        session.add(learned)
        session.flush()
        _learned(session, t1, learned.id, "2026-10-22 12:00")
        t2 = _ticket(session, "Spedite in Svizzera?", "2026-10-23 10:00")
        _learned(session, t2, imported.id, "2026-10-27 10:00")
        A, L = imported.id, learned.id
        rows = [
            # W43: 5 questions, 3 answered, 1 learned, 2 tickets opened
            ("c1", "2026-10-20 09:00", *ask("Reso gratis?", "escalate")),
            ("c1", "2026-10-20 09:00", *escalation()),
            ("c2", "2026-10-21 09:00", *ask("Reso gratis?", "answer", L)),  # before L: not learned
            ("c3", "2026-10-23 09:00", *ask("Il reso è gratis?", "answer", L)),  # learned
            ("c4", "2026-10-23 10:00", *ask("Spedite in Svizzera?", "escalate")),
            ("c4", "2026-10-23 10:00", *escalation()),
            ("c4", "2026-10-23 10:01", "feedback", {"entry_id": L, "data": {"helpful": True}}),
            # Sunday night, last hour of W43 (22:30 UTC): taught only on the 27th, not learned
            ("c5", "2026-10-25 23:30", *ask("Spedite in Svizzera?", "answer", A)),
            # W44: 5 questions, 4 answered, 2 learned, 1 ticket opened (the other joined)
            ("c10", "2026-10-26 00:30", *ask("Quanto costa?", "answer", A)),  # 23:30 UTC
            ("c6", "2026-10-27 11:00", *ask("  spedite in SVIZZERA? ", "answer", A)),  # taught
            ("c7", "2026-10-28 09:00", *ask("Spedite in Svizzera, a Lugano?", "answer", A)),
            ("c8", "2026-10-28 10:00", "message",
             {"text": "Reso gratis?", "decision": "answer", "entry_id": L, "language": "en"}),
            ("c9", "2026-10-29 09:00", *ask("Avete buoni regalo?", "escalate")),
            ("c9", "2026-10-29 09:00", *escalation()),
            ("c9", "2026-10-29 09:05", *escalation(joined=True)),
            ("c9", "2026-10-29 09:06", "message", {"text": "", "decision": ""}),  # no decision
            # after the period: never counted
            ("c11", "2026-11-05 09:00", *ask("Reso gratis?", "answer", L)),
            ("c11", "2026-11-05 09:00", *escalation()),
        ]
        _log(session, rows)
    return database_url


def curve_of(url, period=PERIOD, filters=None, today=TODAY):
    with session_scope(url) as session:
        return learning_curve(period, filters, session=session, today=today)


def test_weekly_figures_count_learned_knowledge_only_after_it_was_learned(log):
    curve = curve_of(log)
    assert [w.week for w in curve.weeks] == ["2026-W43", "2026-W44", "2026-W45"]
    assert [w.monday for w in curve.weeks] == [date(2026, 10, 19), date(2026, 10, 26),
                                               date(2026, 11, 2)]
    w43, w44, w45 = curve.weeks
    assert (w43.questions, w43.answered, w43.learned, w43.escalations) == (5, 3, 1, 2)
    assert (w44.questions, w44.answered, w44.learned, w44.escalations) == (5, 4, 2, 1)
    assert (w45.questions, w45.answered, w45.learned, w45.escalations) == (0, 0, 0, 0)
    assert w43.learned_share == pytest.approx(1 / 5)
    assert w43.answers_share == pytest.approx(1 / 3)
    assert w44.learned_share == pytest.approx(2 / 5) and w44.answers_share == pytest.approx(0.5)
    assert w45.learned_share is None and w45.answers_share is None and w45.per_100 is None


def test_escalations_per_100_questions_count_tickets_opened_not_joined(log):
    w43, w44, _ = curve_of(log).weeks
    assert w43.per_100 == pytest.approx(40.0)  # 2 tickets, 5 questions
    assert w44.per_100 == pytest.approx(20.0)  # the joined escalation is no new ticket


def test_saved_answers_are_cumulative_over_the_period(log):
    curve = curve_of(log)
    assert [w.saved for w in curve.weeks] == [1, 2, 0]
    assert [w.saved_total for w in curve.weeks] == [1, 3, 3]
    assert (curve.questions, curve.learned, curve.escalations) == (10, 3, 3)
    later = curve_of(log, Period(date(2026, 10, 26), date(2026, 11, 8)), today=date(2026, 11, 9))
    assert [w.saved_total for w in later.weeks] == [2, 3]  # counted from the period's start
    assert later.weeks[1].escalations == 1  # 5 November's ticket


def test_partial_weeks_are_those_cut_by_the_period_or_not_over(log):
    assert [w.partial for w in curve_of(log).weeks] == [False, False, True]
    cut = curve_of(log, Period(date(2026, 10, 21), date(2026, 10, 28)), today=date(2026, 12, 1))
    assert [w.partial for w in cut.weeks] == [True, True]
    assert [w.questions for w in cut.weeks] == [4, 4]  # 21-25 and 26-28 October only


def test_filters_apply_to_questions_and_tickets(log):
    english = curve_of(log, filters=Filters(language="en"))
    assert [(w.questions, w.learned, w.escalations) for w in english.weeks] == [
        (0, 0, 0), (1, 1, 0), (0, 0, 0)]
    rest = curve_of(log, filters=Filters(channel="rest"))
    assert rest.empty and rest.questions == 0


def test_an_empty_period_says_whether_anything_was_learned_by_then(log):
    before = curve_of(log, Period(date(2026, 9, 1), date(2026, 9, 30)), today=TODAY)
    assert before.empty and len(before.weeks) == 5
    assert all(w.questions == 0 and w.per_100 is None for w in before.weeks)
    assert (before.learned_entries, before.taught_wordings, before.knows_anything) == (0, 0, False)
    quiet = curve_of(log, Period(date(2026, 11, 2), date(2026, 11, 4)))
    assert quiet.empty and (quiet.learned_entries, quiet.taught_wordings) == (1, 1)
    assert quiet.knows_anything


def test_an_empty_database_gives_zero_weeks(database_url):
    curve = curve_of(database_url)
    assert curve.empty and not curve.knows_anything
    assert [w.saved_total for w in curve.weeks] == [0, 0, 0]


def test_a_variant_learned_by_its_own_ticket_is_not_counted_twice(log):
    """A ticket that created an entry is no taught wording (the entry counts already)."""
    with session_scope(log) as session:
        entry = session.query(Entry).filter_by(key="it-reso").one()
        _log(session, [("c12", "2026-11-03 09:00", *ask("Reso gratis?", "answer", entry.id))])
    curve = curve_of(log)
    assert curve.weeks[2].learned == 1 and curve.taught_wordings == 1


def test_a_constant_number_of_queries_whatever_the_weeks(log):
    """One aggregate per figure: no query per week or per event."""
    statements = []

    def count(*_args):
        statements.append(1)

    with session_scope(log) as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            long = learning_curve(Period(date(2025, 1, 1), date(2026, 11, 4)), session=session,
                                  today=TODAY)
            few = len(statements)
            statements.clear()
            learning_curve(PERIOD, session=session, today=TODAY)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(long.weeks) == 97 and long.learned == 3
    assert few == len(statements) <= 4
