import math

import pytest

from core import DecisionKind
from knowledge.scoring import (
    CENTROID_WEIGHT,
    LEXICAL_SCALE,
    NEAREST_WEIGHT,
    ScoredEntry,
    Thresholds,
    decide,
    score_entries,
)

T = Thresholds(answer=0.70, margin=0.03, clarify=0.55, clarify_band=0.08)


def s(entry_id, score):
    return ScoredEntry(entry_id, score, score, score, 0.0, entry_id * 10)


def ids(chosen):
    return [c.entry_id for c in chosen]


def test_answer_when_clear_winner():
    kind, chosen = decide([s(1, 0.9), s(2, 0.6), s(3, 0.5)], T)
    assert kind is DecisionKind.ANSWER and ids(chosen) == [1]


def test_answer_single_candidate():
    kind, chosen = decide([s(1, 0.71)], T)
    assert kind is DecisionKind.ANSWER and ids(chosen) == [1]


def test_clarify_two_close_candidates_above_answer():
    # both high, but within the margin: ask which one
    kind, chosen = decide([s(1, 0.80), s(2, 0.79), s(3, 0.40)], T)
    assert kind is DecisionKind.CLARIFY and ids(chosen) == [1, 2]


def test_clarify_three_candidates_within_band_below_answer():
    kind, chosen = decide([s(1, 0.65), s(2, 0.62), s(3, 0.60), s(4, 0.59)], T)
    assert kind is DecisionKind.CLARIFY and ids(chosen) == [1, 2, 3]  # at most 3


def test_clarify_excludes_candidates_outside_band_or_below_clarify():
    kind, chosen = decide([s(1, 0.66), s(2, 0.60), s(3, 0.59)], T)
    assert kind is DecisionKind.CLARIFY and ids(chosen) == [1, 2, 3]
    kind, chosen = decide([s(1, 0.66), s(2, 0.60), s(3, 0.57)], T)  # 3 is outside the 0.08 band
    assert ids(chosen) == [1, 2]
    kind, chosen = decide([s(1, 0.66), s(2, 0.60), s(3, 0.54)], T)
    assert ids(chosen) == [1, 2]
    kind, chosen = decide([s(1, 0.62), s(2, 0.56), s(3, 0.53)], T)
    assert kind is DecisionKind.CLARIFY and ids(chosen) == [1, 2]


def test_escalate_below_clarify_threshold_keeps_context():
    kind, chosen = decide([s(1, 0.5), s(2, 0.4), s(3, 0.3), s(4, 0.2)], T)
    assert kind is DecisionKind.ESCALATE and ids(chosen) == [1, 2, 3]


def test_escalate_on_nothing():
    assert decide([], T) == (DecisionKind.ESCALATE, [])


def test_escalate_single_mid_score():
    # above clarify but below answer, nobody close to offer as alternative
    kind, chosen = decide([s(1, 0.65), s(2, 0.30)], T)
    assert kind is DecisionKind.ESCALATE


def test_margin_rule():
    thresholds = Thresholds(answer=0.70, margin=0.05, clarify=0.55, clarify_band=0.03)
    # runner-up within margin but outside the clarify band: answer anyway
    kind, chosen = decide([s(1, 0.80), s(2, 0.76)], thresholds)
    assert kind is DecisionKind.ANSWER and ids(chosen) == [1]
    # runner-up within margin and band: clarify
    kind, chosen = decide([s(1, 0.80), s(2, 0.78)], thresholds)
    assert kind is DecisionKind.CLARIFY
    # exactly the margin apart: answer
    kind, _ = decide([s(1, 0.80), s(2, 0.75)], Thresholds(0.70, 0.05, 0.55, 0.08))
    assert kind is DecisionKind.ANSWER


def test_threshold_boundaries_are_inclusive():
    assert decide([s(1, 0.70)], T)[0] is DecisionKind.ANSWER
    assert decide([s(1, 0.55), s(2, 0.55)], T)[0] is DecisionKind.CLARIFY


def test_score_entries_groups_by_entry_and_mixes_centroid():
    owners = {1: 10, 2: 10, 3: 20, 4: -1}
    centroids = {10: 0.5}
    hits = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.99), (-1, 0.0)]
    scored = score_entries(hits, lambda v: owners.get(v, -1), centroids.get)
    by_id = {x.entry_id: x for x in scored}
    assert set(by_id) == {10, 20}
    assert by_id[10].variant_id == 1 and by_id[10].nearest == 0.9
    assert by_id[10].score == pytest.approx(NEAREST_WEIGHT * 0.9 + CENTROID_WEIGHT * 0.5)
    assert by_id[20].score == pytest.approx(0.7)  # no centroid: the nearest stands in
    assert [x.entry_id for x in scored] == [20, 10]  # sorted by score, best first


def test_score_entries_lexical_bonus():
    scored = score_entries([(1, 0.5), (2, 0.5)], lambda v: v, lambda e: None, {2: 5.0}, 0.3)
    assert scored[0].entry_id == 2
    assert scored[0].score == pytest.approx(0.5 + 0.3 * (1 - math.exp(-5.0 / LEXICAL_SCALE)))
    assert scored[1].score == pytest.approx(0.5)


def test_score_entries_caps_candidates():
    scored = score_entries([(i, 1 - i / 100) for i in range(50)], lambda v: v, lambda e: None)
    assert len(scored) == 10 and scored[0].entry_id == 0
