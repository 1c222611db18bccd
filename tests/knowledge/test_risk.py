"""The wrong-answer rate's upper bound: its arithmetic against a direct computation, and what
it must change in the answer threshold (wrong answers of one topic are one piece of evidence,
not fifty). Synthetic numbers only."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.confidence import FEATURES, Probes, choose_answer_at
from knowledge.risk import cumulative_bound
from tests.knowledge.test_confidence import hand_model

SCORE = FEATURES.index("score")


def direct_bound(answered, wrong, weight, clusters, z):
    """The same bound for one set of answered probes, written out from its definition."""
    rows = clusters >= 0
    x, g = (answered & wrong)[rows].astype(float), clusters[rows]
    topics, which = np.unique(g, return_inverse=True)
    size, hits, rate = np.bincount(which), np.bincount(which, weights=x), x.mean()
    variance = (weight[rows].sum() ** 2 * len(topics) / (len(topics) - 1)
                * ((hits - size * rate) ** 2).sum() / rows.sum() ** 2)
    return z * np.sqrt(variance)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_cumulative_bound_is_the_direct_one_at_every_cut(seed):
    rng = np.random.default_rng(seed)
    n = 240
    hidden = rng.random(n) < 0.4  # questions of 9 hidden entries; the others without a cluster
    clusters = np.where(hidden, rng.integers(0, 9, n), -1)
    wrong = rng.random(n) < 0.3
    weight = np.where(hidden, 0.25 / hidden.sum(), 0.75 / (~hidden).sum())
    order = rng.permutation(n)
    bound = cumulative_bound(order, wrong, weight, clusters, z=1.5)
    for cut in (0, 1, 17, 120, n - 1):
        answered = np.zeros(n, bool)
        answered[order[:cut + 1]] = True
        assert bound[cut] == pytest.approx(direct_bound(answered, wrong, weight, clusters, 1.5),
                                           abs=1e-12)
    assert bound[-1] > 0 and (bound >= 0).all()
    one = np.where(hidden, 7, -1)  # a single hidden topic: nothing to tell its spread by
    assert not cumulative_bound(order, wrong, weight, one).any()


def hidden_topics(concentrated: bool) -> Probes:
    """200 answerable probes, all right, with P(right) spread over 0.5-1; 10 hidden entries
    of 20 questions each. 20 of their questions score high (a neighbouring entry seems to
    answer them): all of one hidden entry, or two of each."""
    rng = np.random.default_rng(0)
    n_in, topics, per = 200, 10, 20
    score = np.r_[np.linspace(0.1, 6.0, n_in), rng.uniform(-6.0, -2.0, topics * per)]
    group = np.r_[np.full(n_in, -1), np.repeat(100 + np.arange(topics), per)]
    high = np.arange(n_in, n_in + per) if concentrated else n_in + np.arange(topics) * per + \
        np.arange(topics) % 2
    if not concentrated:
        high = np.r_[high, high + 2]
    score[high] = np.linspace(1.0, 4.0, len(high))
    x = np.zeros((len(score), len(FEATURES)))
    x[:, SCORE] = score
    ins = np.r_[np.ones(n_in, bool), np.zeros(topics * per, bool)]
    return Probes(x, ins, ins.copy(), ins.copy(), np.zeros(len(x), bool),
                  np.array(["variant"] * n_in + ["entry"] * (topics * per)), group)


def test_wrong_answers_of_one_topic_need_a_stricter_threshold_than_the_same_spread_out():
    """The same 20 high-scoring unanswerable questions: spread over ten topics, the probes
    vouch well for the rate; all in one topic, the next customer's missing topic may be like
    it or not, so the threshold must stay above more of them."""
    model = hand_model(budget=0.05, unanswerable_share=0.5)
    spread = choose_answer_at(model, hidden_topics(concentrated=False))
    one_topic = choose_answer_at(model, hidden_topics(concentrated=True))
    assert spread.answer_at < 1.0
    assert one_topic.answer_at > spread.answer_at
    assert one_topic.expected["wrong"] < spread.expected["wrong"]
    for model in (spread, one_topic):  # what `kb calibrate` shows: the estimate and its bound
        assert model.expected["wrong"] < model.expected["wrong_upper"] <= model.budget
