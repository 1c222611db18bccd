"""How sure the probes can be of the wrong answers to questions on topics a KB lacks.

The hidden entries' questions play the questions no entry answers, and their sample is smaller
than their number: a hidden entry stands for one topic a KB may lack, and its questions rise
or fall together (when a neighbouring entry seems to answer that topic, most of them are
answered at once), so a KB of ten entries tells of ten missing topics, not of five hundred
questions. The answer threshold is chosen so that their share of wrong answers is counted at an
upper confidence bound, not at its estimate: the variance of a ratio estimator over clusters
(a hidden entry's questions). The other probes are independent draws (the KB's own entries are
all probed, not sampled; bank questions and logged outcomes are each their own), and the one
unseen wrong answer the threshold choice adds on each side stands for their uncertainty.
Measured before it was kept: BENCHMARKS.md, "Few hidden topics cannot vouch for a low rate"."""

from __future__ import annotations

import numpy as np

Z = 1.645  # one-sided 95 %


def cumulative_bound(order: np.ndarray, wrong: np.ndarray, weight: np.ndarray,
                     clusters: np.ndarray, z: float = Z) -> np.ndarray:
    """For each cut of `order` (probes by falling P(right); cut k answers the first k + 1):
    z standard errors of the weighted share of wrong answers among the probes with a cluster
    (`clusters` >= 0; their `weight` equal), 0 when they are fewer than two clusters."""
    ranked_clusters, ranked_wrong = clusters[order], wrong[order]
    rows = ranked_clusters >= 0
    n = int(rows.sum())
    codes, sizes = np.unique(ranked_clusters[rows], return_inverse=True, return_counts=True)[1:]
    if len(sizes) < 2:
        return np.zeros(len(order))
    # Cumulative over the cuts: S wrong answers, Q = the sum of each cluster's count squared,
    # M = the sum of each cluster's count times its size (the terms of the variance).
    hit = rows & ranked_wrong
    code_of_hit = codes[ranked_wrong[rows]]
    s_, q_, m_ = (np.zeros(len(order)) for _ in range(3))
    s_[hit], q_[hit] = 1.0, 2.0 * _occurrences_before(code_of_hit) + 1.0
    m_[hit] = sizes[code_of_hit]
    s_, q_, m_ = np.cumsum(s_), np.cumsum(q_), np.cumsum(m_)
    r = s_ / n
    spread = np.maximum(q_ - 2 * r * m_ + r * r * float((sizes ** 2).sum()), 0.0)
    total = float(weight[order[rows]].sum())
    return z * total * np.sqrt(len(sizes) / (len(sizes) - 1) * spread) / n


def _occurrences_before(codes: np.ndarray) -> np.ndarray:
    """For each element, how many earlier elements have the same code."""
    if not len(codes):
        return np.zeros(0)
    idx = np.argsort(codes, kind="stable")
    ordered = codes[idx]
    starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]
    lengths = np.diff(np.r_[starts, len(ordered)])
    out = np.empty(len(codes))
    out[idx] = np.arange(len(ordered)) - np.repeat(starts, lengths)
    return out
