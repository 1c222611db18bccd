"""The confidence model: features, buttons, the logistic parts, storage, the prior, the answer
threshold, decisions, the share estimate and calibration tables. Synthetic numbers only."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from core import DecisionKind
from knowledge.confidence import (
    CLARIFY_BAND,
    FEATURES,
    LEXICAL_SCALE,
    MAX_SHARE,
    MIN_SHARE,
    MODEL_FORMAT,
    ConfidenceModel,
    Logistic,
    Probes,
    QueryFacts,
    buttons,
    calibration_error,
    choose_answer_at,
    estimate_unanswerable_share,
    feature_vector,
    reliability_table,
    sigmoid,
    train,
    wrong_upper,
)
from knowledge.scoring import ScoredEntry

N = len(FEATURES)
SCORE, MARGIN = FEATURES.index("score"), FEATURES.index("margin_2")
ANSWER, CLARIFY, ESCALATE = DecisionKind.ANSWER, DecisionKind.CLARIFY, DecisionKind.ESCALATE


def s(entry_id, score, lexical=0.0):
    return ScoredEntry(entry_id, score, score - 0.05, score + 0.02, lexical, entry_id * 10)


def part(bias=0.0, **weights):
    """A Logistic on raw features (mean 0, scale 1), weights by feature name."""
    w = [weights.get(name, 0.0) for name in FEATURES]
    return Logistic((0.0,) * N, (1.0,) * N, tuple(w), bias)


def hand_model(**changes):
    """P(in scope) = 1 at share 0.5, P(right) = sigmoid(score), P(among) = sigmoid(margin_2)."""
    return replace(ConfidenceModel(part(50.0), part(score=1.0), part(margin_2=1.0),
                                   unanswerable_share=0.5, answer_at=0.8, clarify_at=0.7,
                                   budget=0.05), **changes)


def logit(p):
    return math.log(p / (1 - p))


def synthetic_probes(rng, n_in=400, n_out=400, shift=2.0):
    """In-scope rows high on `score`; the right ones also high on `margin_2`."""
    x_in, x_out = rng.normal(size=(n_in, N)), rng.normal(size=(n_out, N))
    x_in[:, SCORE] += shift
    x_out[:, SCORE] -= shift
    right = rng.random(n_in) < sigmoid(2.0 * x_in[:, MARGIN] + 1.0)
    among, no = right | (rng.random(n_in) < 0.5), np.zeros(n_out, bool)
    source = np.array(["variant"] * n_in + ["entry", "bank"] * (n_out // 2))
    return Probes(np.vstack([x_in, x_out]), np.r_[np.ones(n_in, bool), no], np.r_[right, no],
                  np.r_[among, no], rng.random(n_in + n_out) < 0.6, source)


@pytest.fixture(scope="module")
def probes():
    return synthetic_probes(np.random.default_rng(0))


@pytest.fixture(scope="module")
def trained(probes):
    return train(probes, budget=0.05, clarify_at=0.8, share=0.5, embedder="e", kb_version=3)


def wrong_rate(model, probes):
    answered = model.probabilities(probes.x)[0] >= model.answer_at
    return float(probes.weights(model.unanswerable_share)[answered & ~probes.right].sum())


def upper(model, probes):
    """What the threshold choice holds to the budget at `model.answer_at`: the share of wrong
    answers, one more on each side, and the estimate's uncertainty."""
    p = model.probabilities(probes.x)[0]
    order = np.argsort(-p)
    bound = wrong_upper(probes, probes.weights(model.unanswerable_share), order,
                        model.unanswerable_share)
    return float(bound[int((p >= model.answer_at).sum()) - 1])


# 1. features
def test_feature_vector_order_and_margins():
    scored = [s(1, 0.9, lexical=6.0), s(2, 0.7, lexical=8.0), s(3, 0.6), s(4, 0.5), s(5, 0.3)]
    x = feature_vector(scored, QueryFacts(words=4, questions=5, classified=(0.8, 0.8, 1.0, 0.9),
                                          uncovered=0.25))
    assert x.shape == (N,) and dict(zip(FEATURES, x.tolist(), strict=True)) == pytest.approx({
        "score": 0.9, "runner_up": 0.7, "margin_2": 0.2, "margin_3": 0.3, "nearest": 0.85,
        "centroid": 0.92, "lexical": 1 - math.exp(-6.0 / LEXICAL_SCALE), "lexical_lead": 0.0,
        "questions": math.log1p(5), "query_words": math.log1p(4), "uncovered_words": 0.25,
        "lead_10": 0.6,
        "lead_background": 0.9 - 0.4,
        "classifier_best": 0.8, "classifier_max": 0.8, "classifier_agrees": 1.0,
        "classifier_offered": 0.9})
    lead = FEATURES.index("lexical_lead")
    assert feature_vector([s(1, 0.9, 3.0), s(2, 0.8, 1.0)], QueryFacts(2, 1))[lead] == 1.0
    assert feature_vector([s(1, 0.9), s(2, 0.8)], QueryFacts(2, 1))[lead] == 0.0  # no words
    one = dict(zip(FEATURES, feature_vector([s(1, 0.7)], QueryFacts(3, 2)).tolist(), strict=True))
    # a missing score counts as 0: every margin (and the background lead) is the score itself
    assert one["runner_up"] == one["lead_10"] == 0.0
    assert one["margin_2"] == one["margin_3"] == one["lead_background"] == pytest.approx(0.7)
    empty = feature_vector([], QueryFacts(3, 2))
    assert empty.shape == (N,) and not empty.any()


# 2. buttons
@pytest.mark.parametrize("scores, offered", [
    ([0.90, 0.86, 0.84, 0.70], [1, 2, 3]), ([0.90, 0.86, 0.84, 0.85], [1, 2, 3]),  # 3 at most
    ([0.90, 0.86, 0.70], [1, 2]), ([0.90, 0.90 - CLARIFY_BAND - 0.01, 0.5], []),
    ([0.90], []), ([], []),
])
def test_buttons(scores, offered):
    assert [b.entry_id for b in buttons([s(i + 1, v) for i, v in enumerate(scores)])] == offered


# 3. Logistic
def test_logistic_separable_weighted_and_one_class():
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(3, 0.3, (50, 2)), rng.normal(-3, 0.3, (50, 2))]
    p = sigmoid(Logistic.fit(x, np.r_[np.ones(50, int), np.zeros(50, int)]).logit(x))
    assert p[:50].min() > 0.95 and p[50:].max() < 0.05
    # overlapping classes: weighting the positives up raises every probability
    xo = rng.normal(size=(200, 2))
    yo = (xo[:, 0] + rng.normal(size=200) > 0).astype(int)
    plain = sigmoid(Logistic.fit(xo, yo).logit(xo))
    assert (sigmoid(Logistic.fit(xo, yo, np.where(yo == 1, 10.0, 1.0)).logit(xo)) > plain).all()
    for label in (0, 1):  # one class only: a finite constant on its side of 0.5
        fitted = Logistic.fit(xo, np.full(200, label))
        p = sigmoid(fitted.logit(xo))
        assert np.allclose(p, p[0]) and (p[0] > 0.5) == bool(label)
        assert all(map(math.isfinite, (*fitted.weights, fitted.bias)))


# 4. storage
def test_round_trip_through_json(trained, probes):
    restored = ConfidenceModel.from_dict(json.loads(json.dumps(trained.as_dict())))
    assert restored == trained
    for a, b in zip(restored.probabilities(probes.x), trained.probabilities(probes.x), strict=True):
        assert np.array_equal(a, b)


def _in(name, key, value):
    return lambda d: d[name].update({key: value(d[name][key]) if callable(value) else value})


CORRUPTIONS = {
    "a newer format": lambda d: d.update(format=MODEL_FORMAT + 1),
    "the previous format": lambda d: d.update(format=MODEL_FORMAT - 1),
    "no format": lambda d: d.pop("format"),
    "short vector": _in("right", "weights", lambda w: w[:-1]),
    "long vector": _in("in_scope", "mean", lambda m: m + [0.0]),
    "nan weight": _in("among", "weights", lambda w: [math.nan] + w[1:]),
    "inf bias": _in("in_scope", "bias", math.inf), "no bias": lambda d: d["right"].pop("bias"),
    "no answer_at": lambda d: d.pop("answer_at"), "no right part": lambda d: d.pop("right"),
    "no share": lambda d: d.pop("unanswerable_share"), "unknown": lambda d: d.update(x=1),
    **{f"{key}={value}": (lambda k, v: lambda d: d.update({k: v}))(key, value) for key, value in [
        ("unanswerable_share", 0.0), ("unanswerable_share", 0.95), ("unanswerable_share", math.nan),
        ("answer_at", 0.0), ("answer_at", 1.5), ("clarify_at", math.nan)]},
}


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_from_dict_refuses_a_corrupt_model(trained, how):
    data = json.loads(json.dumps(trained.as_dict()))
    CORRUPTIONS[how](data)
    with pytest.raises(ValueError):
        ConfidenceModel.from_dict(data)
    for not_a_mapping in (None, [], "model"):
        with pytest.raises(ValueError):
            ConfidenceModel.from_dict(not_a_mapping)


@pytest.mark.parametrize("field, value", [("answer_at", None), ("unanswerable_share", "0.5")])
def test_from_dict_wrong_type_threshold_is_a_value_error(field, value):
    with pytest.raises(ValueError):
        ConfidenceModel.from_dict({**hand_model().as_dict(), field: value})


# 5. the prior
def test_p_in_scope_falls_as_the_unanswerable_share_rises():
    model = hand_model(in_scope=part(score=1.0))
    x = np.zeros((3, N))
    x[:, SCORE] = [-2.0, 0.0, 2.0]
    p = np.array([model.p_in_scope(x, share) for share in np.linspace(MIN_SHARE, MAX_SHARE, 12)])
    assert (np.diff(p, axis=0) < 0).all()
    assert model.p_in_scope(x, 0.5) == pytest.approx(sigmoid(x[:, SCORE]))  # odds 1 at 0.5
    assert model.p_in_scope(x, 0.2) == pytest.approx(sigmoid(x[:, SCORE] + math.log(4)))
    assert model.with_share(0.99).unanswerable_share == MAX_SHARE
    assert model.with_share(0.0).unanswerable_share == MIN_SHARE


# 6. the answer threshold
def test_answer_at_keeps_the_budget_and_is_monotone(trained, probes):
    previous = 0.0
    for budget in (0.2, 0.1, 0.05, 0.02, 0.01, 0.0):
        model = choose_answer_at(replace(trained, budget=budget), probes)
        assert 0.5 <= model.answer_at <= 1.0 and wrong_rate(model, probes) <= budget + 1e-12
        assert model.answer_at >= previous  # stricter budget: never a lower threshold
        previous = model.answer_at
        # the lowest such threshold: the next lower probability (>= 0.5) breaks the budget
        p = model.probabilities(probes.x)[0]
        lower = p[(p < model.answer_at - 1e-6) & (p >= 0.5)]
        if len(lower):  # (sums at exactly the budget may differ in the last bit)
            lowered = replace(model, answer_at=float(lower.max()))
            assert upper(lowered, probes) > budget - 1e-9
        e = model.expected
        assert e["answer"] + e["clarify"] + e["escalate"] == pytest.approx(1.0, abs=1e-3)
        assert e["wrong"] <= budget + 1e-4
    assert trained.answer_at < previous  # 5 % answers something that 0 % does not
    assert (trained.budget, trained.clarify_at, trained.unanswerable_share) == (0.05, 0.8, 0.5)
    assert (trained.embedder, trained.kb_version) == ("e", 3)
    assert trained.expected["probes"] == {"variant": 400, "entry": 200, "bank": 200, "log": 0}
    assert sum(row["weight"] for row in trained.reliability) == pytest.approx(1.0, abs=1e-3)


def two_answerable(logits, budget=0.1):
    """Two in-scope probes (right, wrong) and an unanswerable one, P(right) = sigmoid(logit):
    the wrong one alone weighs 0.25 > budget, so it must never be answered."""
    x = np.zeros((3, N))
    x[:, SCORE] = logits
    probes = Probes(x, np.array([1, 1, 0], bool), np.array([1, 0, 0], bool), np.zeros(3, bool),
                    np.zeros(3, bool), np.array(["variant", "variant", "bank"]))
    return wrong_rate(choose_answer_at(hand_model(budget=budget), probes), probes)


@pytest.mark.parametrize("logits", [[logit(0.9000004), logit(0.9000002), logit(0.3)],
                                    [45.0, 45.0, -3.0]], ids=["rounding", "saturated"])
def test_wrong_answers_over_the_budget_are_never_admitted(logits):
    assert two_answerable(logits) <= 0.1


# 7. decisions
def x_for(p_right, p_among):
    x = np.zeros(N)
    x[SCORE], x[MARGIN] = logit(p_right), logit(p_among)
    return x


CLOSE = [s(1, 0.90), s(2, 0.87), s(3, 0.85), s(4, 0.5)]
APART = [s(1, 0.90), s(2, 0.60), s(3, 0.55)]


def test_the_among_model_learns_from_searches_that_had_buttons():
    """It is asked only where there are buttons to offer; a search without any (the right
    entry then never "among" them) must not teach it that the right entry rarely is."""
    rng = np.random.default_rng(3)
    n = 2000
    x = rng.normal(size=(n, N))
    offerable = rng.random(n) < 0.3
    among = offerable & (rng.random(n) < sigmoid(x[:, MARGIN] + 1.5))
    probes = Probes(x, np.ones(n, bool), among, among, offerable, np.array(["variant"] * n))
    model = train(probes, budget=0.05, clarify_at=0.8, share=0.5)
    predicted = sigmoid(model.among.logit(x[offerable]))
    assert abs(float(predicted.mean()) - float(among[offerable].mean())) < 0.03


def test_decide_on():
    model = hand_model()
    kind, chosen, p = model.decide_on(CLOSE, x_for(0.9, 0.1))
    assert (kind, chosen) == (ANSWER, CLOSE[:1]) and p == pytest.approx(0.9)
    kind, chosen, p = model.decide_on(CLOSE, x_for(0.6, 0.75))
    assert (kind, chosen) == (CLARIFY, buttons(CLOSE)) and p == pytest.approx(0.6)
    kind, chosen, _ = model.decide_on(APART, x_for(0.6, 0.95))  # no buttons to offer
    assert (kind, chosen) == (ESCALATE, APART[:3])
    assert model.decide_on(CLOSE, x_for(0.6, 0.65))[0] is ESCALATE  # buttons, P(among) low
    assert model.decide_on([], x_for(0.99, 0.99)) == (ESCALATE, [], 0.0)
    # both thresholds are inclusive
    x = x_for(0.81, 0.71)
    p_right, p_among = (float(v[0]) for v in model.probabilities(x[None]))
    assert replace(model, answer_at=p_right).decide_on(CLOSE, x)[0] is ANSWER
    assert replace(model, answer_at=0.9, clarify_at=p_among).decide_on(CLOSE, x)[0] is CLARIFY
    above = replace(model, answer_at=0.9, clarify_at=np.nextafter(p_among, 1.0))
    assert above.decide_on(CLOSE, x)[0] is ESCALATE


def test_decide_uses_the_features_of_the_search(trained):
    facts = QueryFacts(words=3, questions=4)
    assert trained.decide(CLOSE, facts) == trained.decide_on(CLOSE, feature_vector(CLOSE, facts))


# 8. the unanswerable share
def test_estimate_unanswerable_share():
    rng = np.random.default_rng(0)
    model = train(synthetic_probes(rng, shift=1.0), budget=0.05, clarify_at=0.8, share=0.5)

    def mix(share, n=2000, apart=1.0):
        out = int(round(share * n))
        x = rng.normal(size=(n, N))
        x[:out, SCORE] -= apart
        x[out:, SCORE] += apart
        return x

    for share in (0.3, 0.7):
        x = mix(share)
        estimate = estimate_unanswerable_share(model, x)
        assert abs(estimate - share) < 0.1
        naive = float(1 - sigmoid(model.in_scope.logit(x)).mean())  # no EM: pulled to 0.5
        assert abs(estimate - share) < abs(naive - share)
    assert estimate_unanswerable_share(model, mix(0.0, apart=6.0)) == MIN_SHARE
    assert estimate_unanswerable_share(model, mix(1.0, apart=6.0)) == MAX_SHARE
    assert estimate_unanswerable_share(model, np.zeros((0, N))) == model.unanswerable_share


# 9. calibration tables
def test_reliability_table_and_calibration_error():
    table = reliability_table(np.array([0.25] * 4 + [0.75] * 4),
                              np.array([1, 0, 0, 0, 1, 1, 1, 0], bool))
    assert len(table) == 10 and (table[2]["count"], table[7]["count"]) == (4, 4)
    assert calibration_error(table) == 0.0  # perfectly calibrated
    p = np.array([0.95] * 4 + [0.15] * 4)  # miscalibrated both ways
    right = np.array([1, 1, 0, 0, 1, 1, 1, 0], bool)
    table = reliability_table(p, right)
    assert table[9]["right"] == 0.5 and table[1]["right"] == 0.75
    assert calibration_error(table) == pytest.approx(0.5 * 0.45 + 0.5 * 0.6)
    weighted = reliability_table(p, right, np.array([3.0] * 4 + [1.0] * 4))  # 3/4 overconfident
    assert calibration_error(weighted) == pytest.approx(0.75 * 0.45 + 0.25 * 0.6)
    edges = reliability_table(np.array([0.0, 1.0]), np.array([False, True]))  # last bin has 1.0
    assert edges[0]["count"] == edges[9]["count"] == 1 and calibration_error(edges) == 0.0
