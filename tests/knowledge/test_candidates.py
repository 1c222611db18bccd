"""Candidate question variants: votes, guards, publication and the operator's decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import DecisionKind, session_scope, utcnow
from knowledge import candidates as cand
from knowledge import repository as repo
from knowledge.models import CandidateVariant

Q = "what do i pay to get my parcel"


def _seen(conversation: str, entry_id: int, question: str = Q, *, confirms: bool = True,
          ago: timedelta = timedelta(0), language: str = "en") -> cand.Observation:
    return cand.Observation(conversation, entry_id, question, language, confirms, utcnow() - ago)


def _observe(url, *observations):
    with session_scope(url) as session:
        return cand.observe(list(observations), session=session)


def _publish(url, **kwargs):
    with session_scope(url) as session:
        return cand.publish_ready(session=session, **kwargs)


def _questions(url, entry_id):
    with session_scope(url) as session:
        return [q.text for q in repo.get_entry(entry_id, session=session).questions]


def _pending(url):
    with session_scope(url) as session:
        return cand.pending(session=session)


@pytest.fixture
def ship(add_entry):
    add_entry("Returns are free within 30 days.", "How do I return an item?", key="en-return")
    return add_entry("Shipping is free over EUR 59.", "How much does shipping cost?", key="en-ship")


def test_a_flood_from_one_conversation_counts_once(kb, ship):
    _observe(kb.url, *[_seen("flood", ship) for _ in range(20)])
    assert _publish(kb.url) == []
    [view] = _pending(kb.url)
    assert (view.question, view.confirmations, view.status) == (Q, 1, "pending")
    assert Q not in _questions(kb.url, ship)


def test_three_conversations_publish_the_variant_and_the_kb_answers_it(kb, ship):
    kb.warm_up()
    assert kb.search(Q, language="en").kind is not DecisionKind.ANSWER
    _observe(kb.url, _seen("a", ship), _seen("b", ship))
    assert _publish(kb.url) == []
    _observe(kb.url, _seen("c", ship))
    assert _publish(kb.url) == [ship]
    assert Q in _questions(kb.url, ship) and _pending(kb.url) == []
    kb.sync(force=True)
    decision = kb.search(Q, language="en")
    assert decision.kind is DecisionKind.ANSWER and decision.entry.entry_id == ship
    with session_scope(kb.url) as session:
        last = repo.versions_of(ship, session=session)[-1]
    assert (last.changed_by, last.reason) == ("customers", "confermata da 3 conversazioni")


def test_confirmations_older_than_the_window_do_not_count(kb, ship):
    _observe(kb.url, _seen("a", ship, ago=timedelta(days=40)), _seen("b", ship), _seen("c", ship))
    assert _publish(kb.url) == []
    assert _publish(kb.url, needed=2) == [ship]  # the setting lowers the bar


def test_a_thumbs_down_blocks_until_an_operator_decides(kb, ship):
    _observe(kb.url, _seen("x", ship, confirms=False),
             *[_seen(f"c{i}", ship) for i in range(5)])
    assert _publish(kb.url) == []
    [view] = _pending(kb.url)
    assert view.blocked and (view.confirmations, view.denials) == (5, 1)
    with session_scope(kb.url) as session:
        cand.approve(view.id, "op@shop.example", session=session)
    assert Q in _questions(kb.url, ship)
    with session_scope(kb.url) as session:
        with pytest.raises(cand.CandidateError, match="already published"):
            cand.reject(view.id, "op@shop.example", session=session)


def test_a_rejected_candidate_is_never_proposed_again(kb, ship):
    _observe(kb.url, _seen("a", ship))
    [view] = _pending(kb.url)
    with session_scope(kb.url) as session:
        cand.reject(view.id, "op@shop.example", session=session)
    assert _observe(kb.url, *[_seen(f"n{i}", ship) for i in range(5)]) == set()
    assert _publish(kb.url) == [] and _pending(kb.url) == []
    with session_scope(kb.url) as session:
        row = session.get(CandidateVariant, view.id)
        assert (row.status, row.decided_by) == ("rejected", "op@shop.example")


def test_one_conversation_confirms_at_most_three_candidates(kb, ship):
    questions = [f"parcel price question number {w}" for w in ("one", "two", "three", "four")]
    touched = _observe(kb.url, *[_seen("spray", ship, q) for q in questions])
    assert len(touched) == cand.MAX_CONFIRMATIONS_PER_CONVERSATION


def test_a_capped_conversation_leaves_no_empty_candidates_in_the_review_list(kb, ship):
    # Past its cap a chat's questions get no vote; they must not become (vote-less)
    # candidates either, or one chat fills the operator's review list.
    questions = [f"parcel price question number {n}" for n in range(10)]
    _observe(kb.url, *[_seen("spray", ship, q) for q in questions])
    assert len(_pending(kb.url)) == cand.MAX_CONFIRMATIONS_PER_CONVERSATION
    with session_scope(kb.url) as session:
        assert session.query(CandidateVariant).count() == cand.MAX_CONFIRMATIONS_PER_CONVERSATION


def test_thumbs_down_from_one_conversation_cannot_flood_the_review_list(kb, ship):
    # Blocked candidates sort first in the review list: one chat's thumbs-down on ten new
    # questions makes at most the cap of them, yet still blocks a candidate others made.
    _observe(kb.url, _seen("a", ship), _seen("b", ship))
    downs = [f"parcel price question number {n}" for n in range(10)]
    _observe(kb.url, *[_seen("spray", ship, q, confirms=False) for q in downs],
             _seen("spray", ship, confirms=False))
    views = {v.question: v for v in _pending(kb.url)}
    assert len(views) == cand.MAX_CONFIRMATIONS_PER_CONVERSATION + 1
    assert views[Q].blocked and views[Q].denials == 1


def test_text_is_scrubbed_and_checked_like_learned_questions(kb, ship, add_entry):
    _observe(kb.url, _seen("a", ship, "shipping to mario.rossi@gmail.com costs what?"),
             _seen("b", ship, "x" * 1200),  # longer than a variant may be
             _seen("c", ship, "How much does shipping cost?"),  # already one of its questions
             _seen("d", ship, "quanto costa spedire", language="it"))  # not the entry's language
    assert [v.question for v in _pending(kb.url)] == ["shipping to [email] costs what?"]


def test_a_candidate_of_a_retired_entry_is_dropped(kb, ship):
    _observe(kb.url, _seen("a", ship), _seen("b", ship))
    with session_scope(kb.url) as session:
        repo.update_entry(repo.get_entry(ship, session=session), session=session, by="op",
                          reason="retired", status="retired")
    _observe(kb.url, _seen("c", ship))
    assert _publish(kb.url) == [] and _pending(kb.url) == []
    with session_scope(kb.url) as session:
        assert session.query(CandidateVariant).one().status == "dropped"


def test_a_candidate_that_cannot_be_published_is_dropped_without_blocking_others(
        kb, ship, monkeypatch):
    bad = "parcel price for islands"
    _observe(kb.url, *[_seen(c, ship, q) for c in "abc" for q in (Q, bad)])
    real = repo.update_entry

    def update(entry, **kwargs):
        if bad in kwargs.get("add_questions", ()):
            raise cand.InvalidEntry("refused")
        return real(entry, **kwargs)

    monkeypatch.setattr(repo, "update_entry", update)
    assert _publish(kb.url) == [ship]
    assert Q in _questions(kb.url, ship) and bad not in _questions(kb.url, ship)
    with session_scope(kb.url) as session:
        statuses = {c.question: c.status for c in session.query(CandidateVariant)}
    assert statuses == {Q: "published", bad: "dropped"}
