"""Thresholds from the knowledge base itself, by cross-validation.

Each fold hides a share of the entries entirely (their questions become
"out-of-scope" probes: the right decision for them is to escalate) and a few
question variants of every other entry (probes that should be answered with
that entry). Searching the rest with the live scoring code gives, for every
threshold pair, the rate of correct answers and of wrong answers; we keep the
pair that answers most while staying under the target wrong-answer rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from knowledge.errors import CalibrationImpossible
from knowledge.lexical import LexicalIndex
from knowledge.scoring import Thresholds, score_entries

SEARCH_K = 64
MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05)


@dataclass(frozen=True)
class Probe:
    in_scope: bool
    first: float  # best entry score
    second: float  # runner-up score
    correct: bool  # the best entry is the right one (always False out of scope)


@dataclass(frozen=True)
class CalibrationReport:
    thresholds: Thresholds
    in_scope_probes: int
    out_of_scope_probes: int
    expected_answer_rate: float  # share of in-scope questions answered correctly
    expected_wrong_rate: float  # at the assumed out-of-scope share

    def as_dict(self) -> dict:
        return asdict(self)


def collect_probes(
    entry_of_variant: np.ndarray,
    vectors: np.ndarray,
    texts: list[str],
    *,
    folds: int = 5,
    per_entry: int = 5,
    lexical_weight: float = 0.0,
    seed: int = 0,
) -> list[Probe]:
    rng = np.random.default_rng(seed)
    entries = np.unique(entry_of_variant)
    if len(entries) < 3:
        return []
    folds = min(folds, len(entries))
    fold_of_entry = dict(zip(rng.permutation(entries).tolist(), np.arange(len(entries)) % folds))
    by_entry: dict[int, np.ndarray] = {
        e: np.flatnonzero(entry_of_variant == e) for e in entries.tolist()
    }
    probes: list[Probe] = []
    for fold in range(folds):
        hidden_entries = [e for e, f in fold_of_entry.items() if f == fold]
        queries: list[tuple[int, int | None]] = []  # (variant row, true entry or None)
        hidden = np.zeros(len(entry_of_variant), dtype=bool)
        for e in hidden_entries:
            rows = by_entry[e]
            hidden[rows] = True
            queries += [(r, None) for r in rng.permutation(rows)[:per_entry].tolist()]
        for e, rows in by_entry.items():
            if fold_of_entry[e] != fold and len(rows) > 1:
                take = max(1, min(per_entry, len(rows) // 5))
                for r in rng.permutation(rows)[:take].tolist():
                    hidden[r] = True
                    queries.append((r, e))
        probes += _probe_fold(entry_of_variant, vectors, texts, hidden, queries, lexical_weight)
    return probes


def _probe_fold(entry_of_variant, vectors, texts, hidden, queries, lexical_weight) -> list[Probe]:
    visible = np.flatnonzero(~hidden)
    kb_vectors, kb_entries = vectors[visible], entry_of_variant[visible]
    centroids = {}
    for e in np.unique(kb_entries).tolist():
        members = kb_vectors[kb_entries == e]
        if len(members) > 1:
            c = members.mean(axis=0)
            centroids[e] = c / max(float(np.linalg.norm(c)), 1e-12)
    lexical = LexicalIndex()
    if lexical_weight:
        lexical.build(visible.tolist(), [texts[i] for i in visible])
    rows = np.array([q for q, _ in queries])
    sims = vectors[rows] @ kb_vectors.T
    k = min(SEARCH_K, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    probes = []
    for i, (row, truth) in enumerate(queries):
        hits = [(int(visible[j]), float(sims[i, j])) for j in top[i]]
        query = vectors[row]
        scored = score_entries(
            hits,
            lambda v: int(entry_of_variant[v]),
            lambda e: None if e not in centroids else float(centroids[e] @ query),
            lexical.search(texts[row], SEARCH_K) if lexical_weight else None,
            lexical_weight,
        )
        first = scored[0].score if scored else 0.0
        second = scored[1].score if len(scored) > 1 else 0.0
        correct = truth is not None and bool(scored) and scored[0].entry_id == truth
        probes.append(Probe(truth is not None, first, second, correct))
    return probes


def choose_thresholds(
    probes: list[Probe], *, target_wrong_rate: float, oos_share: float, clarify_factor: float = 3.0
) -> CalibrationReport:
    """Most correct answers with wrong answers (wrong entry, or answering the unanswerable)
    at or under the target; clarify where answering would be `clarify_factor` times riskier."""
    ins = [p for p in probes if p.in_scope]
    oos = [p for p in probes if not p.in_scope]
    if not ins or not oos:
        raise CalibrationImpossible(
            "the knowledge base is too small to calibrate: it needs at least 3 entries, some "
            "with 2 or more ways of asking; until then the default thresholds are used")
    i1, i2 = np.array([p.first for p in ins]), np.array([p.second for p in ins])
    ok = np.array([p.correct for p in ins])
    o1, o2 = np.array([p.first for p in oos]), np.array([p.second for p in oos])
    grid = np.unique(np.round(np.quantile(np.concatenate([i1, o1]), np.linspace(0, 1, 401)), 4))

    def best(target: float, margins) -> tuple[float, float, float, float]:
        choice = (float(grid[-1]) + 1e-3, 0.0, 0.0, 0.0)
        for margin in margins:
            for t in grid:
                answered = (i1 >= t) & (i1 - i2 >= margin)
                oos_answered = ((o1 >= t) & (o1 - o2 >= margin)).mean()
                wrong = (1 - oos_share) * (answered & ~ok).mean() + oos_share * oos_answered
                coverage = (answered & ok).mean()
                if wrong <= target and coverage > choice[2]:
                    choice = (float(t), margin, float(coverage), float(wrong))
        return choice

    answer, margin, coverage, wrong = best(target_wrong_rate, MARGINS)
    clarify = min(best(target_wrong_rate * clarify_factor, (0.0,))[0], answer)
    thresholds = Thresholds(answer, margin, clarify, source="calibrated")
    return CalibrationReport(thresholds, len(ins), len(oos), round(coverage, 4), round(wrong, 4))
