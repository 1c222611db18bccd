"""Customers' picks, thumbs and rephrasings, read from the interaction log: candidate
variants (through the background round), entries flagged for review, and the verdicts the
confidence model learns from."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from analytics.log import (
    FLAG_AFTER,
    answer_verdicts,
    customer_signals,
    disliked_entries,
    is_rephrase,
)
from analytics.models import EventKind, InteractionEvent
from bot.conversation.signal_learning import SETTLE, collect
from core import DecisionKind, session_scope, utcnow
from knowledge import candidates as cand
from knowledge import repository as repo
from knowledge.models import Entry

Q = "what do i pay to get my parcel"


class Log:
    """Writes a conversation's events with explicit times, as the assistant logs them."""

    def __init__(self, url: str):
        self.url, self.clock = url, utcnow() - timedelta(hours=1)

    def __call__(self, conversation: str, kind: EventKind, *, gap_s: float = 1, **fields):
        self.clock += timedelta(seconds=gap_s)
        with session_scope(self.url) as session:
            session.add(InteractionEvent(kind=kind.value, conversation_id=conversation,
                                         occurred_at=self.clock, language="en",
                                         **{"data": {}, **fields}))

    def clarified_pick(self, conversation: str, entry_id: int, question: str = Q,
                       offered: tuple[int, ...] | None = None):
        # The assistant logs the entries a clarify offered as buttons (data["candidates"]).
        self(conversation, EventKind.MESSAGE, text=question, decision="clarify",
             entry_id=entry_id, data={"candidates": list(offered or (entry_id,))})
        self(conversation, EventKind.CHOICE, entry_id=entry_id, decision="answer")

    def thumbs(self, conversation: str, entry_id: int, helpful: bool):
        self(conversation, EventKind.FEEDBACK, entry_id=entry_id, data={"helpful": helpful})


@pytest.fixture
def log(database_url):
    return Log(database_url)


@pytest.fixture
def ship(add_entry):
    add_entry("Returns are free within 30 days.", "How do I return an item?", key="en-return")
    return add_entry("Shipping is free over EUR 59.", "How much does shipping cost?", key="en-ship")


def _later():
    return utcnow() + SETTLE + timedelta(minutes=1)


def _pending(url):
    with session_scope(url) as session:
        return cand.pending(session=session)


def _questions(url, entry_id):
    with session_scope(url) as session:
        return [q.text for q in repo.get_entry(entry_id, session=session).questions]


def test_twenty_picks_from_one_conversation_publish_nothing(kb, log, ship):
    log("flood", EventKind.MESSAGE, text=Q, decision="clarify", entry_id=ship,
        data={"candidates": [ship]})
    for _ in range(20):
        log("flood", EventKind.CHOICE, entry_id=ship, decision="answer")
    result = collect(kb, now=_later())
    assert (result.signals, result.published) == (20, 0)
    assert [(v.question, v.confirmations) for v in _pending(kb.url)] == [(Q, 1)]
    assert Q not in _questions(kb.url, ship)


def test_three_conversations_publish_and_the_kb_then_answers_the_question(kb, log, ship):
    kb.warm_up()
    assert kb.search(Q, language="en").kind is not DecisionKind.ANSWER
    for conversation in ("a", "b", "c"):
        log.clarified_pick(conversation, ship)
    assert collect(kb, now=_later()).published == 1
    decision = kb.search(Q, language="en")
    assert decision.kind is DecisionKind.ANSWER and decision.entry.entry_id == ship
    # the next round starts after the last event: nothing is counted twice
    assert collect(kb, now=_later()).signals == 0


def test_a_thumbs_down_blocks_publication(kb, log, ship):
    log.clarified_pick("d", ship)
    log.thumbs("d", ship, False)  # the pick is taken back and the question is blocked
    for conversation in ("a", "b", "c"):
        log.clarified_pick(conversation, ship)
    assert collect(kb, now=_later()).published == 0
    [view] = _pending(kb.url)
    assert view.blocked and (view.confirmations, view.denials) == (3, 1)


def test_a_pick_followed_by_a_handoff_or_a_rephrase_confirms_nothing(kb, log, ship):
    log.clarified_pick("h", ship)
    log("h", EventKind.HANDOFF, text="I want a person")
    log.clarified_pick("r", ship)
    log("r", EventKind.MESSAGE, text="what do I pay to get the parcel??", decision="escalate")
    log.clarified_pick("ok", ship)
    log("ok", EventKind.MESSAGE, text="and how do I return it?", decision="answer")
    with session_scope(kb.url) as session:
        signals, _ = customer_signals(session=session, after_id=0, until=_later())
    assert [(s.conversation_id, s.confirms) for s in signals] == [
        ("h", False), ("r", False), ("ok", True)]


def test_a_pick_of_an_entry_the_clarify_did_not_offer_confirms_nothing(kb, log, ship):
    # The button's payload is the client's: a forged pick (or a thumbs-up after it) must
    # not bind the question to an entry the knowledge base never proposed for it.
    with session_scope(kb.url) as session:  # en-return: not among the buttons
        other = session.scalar(select(Entry.id).where(Entry.key == "en-return"))
    for conversation in ("a", "b", "c"):
        log.clarified_pick(conversation, other, offered=(ship,))
        log.thumbs(conversation, other, True)
    with session_scope(kb.url) as session:
        signals, _ = customer_signals(session=session, after_id=0, until=_later())
    assert signals == []
    assert collect(kb, now=_later()).published == 0 and _pending(kb.url) == []


def test_signals_wait_until_the_conversation_settles(kb, log, ship):
    log.clarified_pick("a", ship)
    assert collect(kb, now=log.clock + SETTLE / 2).signals == 0  # a thumbs-down may follow
    assert collect(kb, now=log.clock + SETTLE).signals == 1


def test_a_thumbs_up_on_a_direct_answer_confirms_only_a_new_wording(kb, log, ship):
    log("u1", EventKind.MESSAGE, text=Q, decision="answer", entry_id=ship)
    log.thumbs("u1", ship, True)
    log("u2", EventKind.MESSAGE, text="How much does shipping cost?", decision="answer",
        entry_id=ship)  # already one of the entry's questions: nothing to learn
    log.thumbs("u2", ship, True)
    log("u3", EventKind.MESSAGE, text="do you ship abroad", decision="answer", entry_id=99)
    log.thumbs("u3", ship, True)  # a thumbs on an entry that did not answer this question
    collect(kb, now=_later())
    assert [(v.question, v.confirmations) for v in _pending(kb.url)] == [(Q, 1)]


@pytest.mark.parametrize("first, second, expected", [
    ("Quanto costa la spedizione in Italia?", "ma la spedizione in italia quanto costa??", True),
    ("Perché il mio ordine è in ritardo?", "PERCHE ORDINE IN RITARDO", True),
    ("How much does shipping cost?", "shipping costs how much", True),
    ("How do I return my shoes?", "returning shoes how?", True),
    ("Quanto costa la spedizione in Italia?", "quanto costa il reso?", False),
    ("How much does shipping cost?", "How do I return an item?", False),
    ("how do I return shoes", "how much is shipping for shoes", False),
    ("ciao", "grazie", False),  # nothing but greetings: no content to compare
])
def test_the_rephrase_rule(first, second, expected):
    assert is_rephrase(first, second) is expected


def test_a_rephrase_right_after_an_answer_is_an_unhelpful_verdict(kb, log, ship):
    log("r", EventKind.MESSAGE, text="How much does shipping cost?", decision="answer",
        entry_id=ship)
    log("r", EventKind.MESSAGE, text="shipping costs how much??", decision="answer",
        entry_id=ship)
    log("slow", EventKind.MESSAGE, text="How much does shipping cost?", decision="answer",
        entry_id=ship)
    log("slow", EventKind.MESSAGE, gap_s=180, text="shipping cost how much", decision="answer",
        entry_id=ship)  # three minutes later: not "right after"
    log("thumbed", EventKind.MESSAGE, text="How much does shipping cost?", decision="answer",
        entry_id=ship)
    log.thumbs("thumbed", ship, True)  # a thumbs first: the customer already said
    log("thumbed", EventKind.MESSAGE, text="shipping cost how much", decision="answer",
        entry_id=ship)
    log("new", EventKind.MESSAGE, text="How much does shipping cost?", decision="answer",
        entry_id=ship)
    log("new", EventKind.MESSAGE, text="How do I return an item?", decision="answer",
        entry_id=ship)
    with session_scope(kb.url) as session:
        verdicts = [(v.question, v.entry_id, v.verdict) for v in answer_verdicts(session=session)]
    assert verdicts == [("How much does shipping cost?", ship, "helpful")] + [
        ("How much does shipping cost?", ship, "unhelpful")]


def test_rephrases_keep_the_flood_guard(kb, log, ship):
    for i in range(6):  # one chat asking the same thing again and again
        log("flood", EventKind.MESSAGE, text=f"shipping cost how much {'?' * i}",
            decision="answer", entry_id=ship)
    log("flood", EventKind.MESSAGE, text="shipping cost how much?!", decision="answer",
        entry_id=ship)
    with session_scope(kb.url) as session:
        verdicts = answer_verdicts(session=session)
    assert len(verdicts) == 3 and {v.verdict for v in verdicts} == {"unhelpful"}


def test_repeated_thumbs_down_flag_the_entry_with_its_questions(kb, log, ship):
    for i in range(FLAG_AFTER):
        log(f"d{i}", EventKind.MESSAGE, text=f"shipping question {i}", decision="answer",
            entry_id=ship)
        log.thumbs(f"d{i}", ship, False)
        log.thumbs(f"d{i}", ship, False)  # one chat twice: still one conversation
    log("u", EventKind.MESSAGE, text="shipping?", decision="answer", entry_id=ship)
    log.thumbs("u", ship, True)
    with session_scope(kb.url) as session:
        [flagged] = disliked_entries(session=session, now=utcnow())
    assert (flagged.entry_id, flagged.down, flagged.up) == (ship, FLAG_AFTER, 1)
    assert flagged.questions == tuple(f"shipping question {i}"
                                      for i in reversed(range(FLAG_AFTER)))
    for i in range(FLAG_AFTER):  # as many up as down: not flagged
        log.thumbs(f"u{i}", ship, True)
    with session_scope(kb.url) as session:
        assert disliked_entries(session=session, now=utcnow()) == []
        assert disliked_entries(session=session, now=utcnow() + timedelta(days=31)) == []




def test_the_recalibration_loop_runs_a_round_and_survives_its_failure(kb, monkeypatch):
    import threading

    from bot.conversation import signal_learning
    from bot.jobs import recalibration

    stop, calls = threading.Event(), []

    def failing_round(kb_):
        calls.append(kb_)
        if len(calls) >= 2:
            stop.set()
        raise RuntimeError("database away")

    monkeypatch.setattr(signal_learning, "collect", failing_round)
    monkeypatch.setattr(recalibration, "due", lambda kb_, now: None)
    recalibration.run(kb, stop, interval_s=0.01)  # returns once stopped: the error was logged
    assert calls == [kb, kb]
