"""The figures `supportbot eval` reports about the answer/clarify/escalate decision, as pure
functions of what the search returned, so each is testable by hand.

- outcome rates: resolved (answered right, or a clarify offer holding the right entry) over
  the answerable queries; wrong (answered with a wrong entry, or answered an out-of-scope
  query) over all queries; how often clarify is offered, how often an offer holds the right
  entry, how often the query is escalated;
- the coverage-risk curve: the same decision re-run over a sweep of the answer threshold,
  everything else as the product has it, so the trade-off between resolving and being wrong
  is visible;
- a reliability table and the expected calibration error of the decision's confidence (the
  confidence model's P(best entry right); the raw top score where no model decided).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from knowledge.confidence import ConfidenceModel
from knowledge.scoring import DecisionKind, ScoredEntry

OOS = "oos"
RELIABILITY_BINS = 10
# Thresholds on P(best entry right): from "answer whenever more likely right than not" to
# "answer only the surest".
SWEEP = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)


@dataclass(frozen=True)
class Outcome:
    truth: str  # the right entry's key, or "oos"
    kind: DecisionKind
    offered: tuple[str, ...]  # the answered key, or the clarify buttons; empty on escalate
    top_key: str | None  # the best-ranked entry, whatever was decided
    confidence: float  # P(best entry right), or the raw top score where no model decided


def outcome_of(truth: str, kind: DecisionKind, chosen: Sequence[ScoredEntry],
               scored: Sequence[ScoredEntry], key_of: Callable[[int], str],
               confidence: float | None = None) -> Outcome:
    offered = () if kind is DecisionKind.ESCALATE else tuple(key_of(s.entry_id) for s in chosen)
    top = scored[0] if scored else None
    if confidence is None:
        confidence = top.score if top else 0.0
    return Outcome(truth, kind, offered, key_of(top.entry_id) if top else None, confidence)


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def outcome_rates(outcomes: Sequence[Outcome]) -> dict[str, float | int]:
    answerable = [o for o in outcomes if o.truth != OOS]
    answered = [o for o in outcomes if o.kind is DecisionKind.ANSWER]
    clarified = [o for o in outcomes if o.kind is DecisionKind.CLARIFY]
    escalated = [o for o in outcomes if o.kind is DecisionKind.ESCALATE]
    resolved = [o for o in answerable if o.kind is not DecisionKind.ESCALATE
                and o.truth in o.offered]
    wrong = [o for o in answered if o.offered[0] != o.truth]  # an oos truth is never offered
    hits = [o for o in clarified if o.truth in o.offered]
    return {
        "answerable": len(answerable),
        "out_of_scope": len(outcomes) - len(answerable),
        "resolved": share(len(resolved), len(answerable)),
        "wrong": share(len(wrong), len(outcomes)),
        "answered": share(len(answered), len(outcomes)),
        "clarify_offered": share(len(clarified), len(outcomes)),
        "clarify_hit": share(len(hits), len(clarified)),
        "escalated": share(len(escalated), len(outcomes)),
    }


def reliability(outcomes: Sequence[Outcome],
                bins: int = RELIABILITY_BINS) -> tuple[list[dict], float]:
    """Equal-width bins over the confidence clipped to [0, 1]; 'right' means the top-ranked
    entry is the query's entry (never for an out-of-scope query). Returns (table, ECE)."""
    if not outcomes:
        return [], 0.0
    confidence = np.clip([o.confidence for o in outcomes], 0.0, 1.0)
    right = np.array([o.top_key is not None and o.top_key == o.truth for o in outcomes])
    # A score of exactly 1.0 belongs to the last bin, not to an eleventh.
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        row = {"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "count": count,
               "mean_score": None, "accuracy": None}
        if count:
            mean, accuracy = float(confidence[members].mean()), float(right[members].mean())
            row.update(mean_score=round(mean, 4), accuracy=round(accuracy, 4))
            ece += count / len(outcomes) * abs(accuracy - mean)
        table.append(row)
    return table, round(ece, 4)


def decide_all(ranked: Sequence[tuple[str, Sequence[ScoredEntry], np.ndarray]],
               key_of: Callable[[int], str], model: ConfidenceModel) -> list[Outcome]:
    """The model's decision on every (truth, ranked entries, features) of an evaluation."""
    outcomes = []
    for truth, scored, x in ranked:
        kind, chosen, p = model.decide_on(list(scored), x)
        outcomes.append(outcome_of(truth, kind, chosen, scored, key_of, p))
    return outcomes


def coverage_risk(
    ranked: Sequence[tuple[str, Sequence[ScoredEntry], np.ndarray]],
    key_of: Callable[[int], str],
    model: ConfidenceModel,
    sweep: Sequence[float] = SWEEP,
) -> list[dict[str, float]]:
    """For each answer threshold on P(right), the model's own decision with that threshold
    (everything else as the product has it): moving the risk budget moves along this curve."""
    curve = []
    for answer in sweep:
        rates = outcome_rates(decide_all(ranked, key_of, replace(model, answer_at=answer)))
        curve.append({"answer_threshold": answer, "resolved": rates["resolved"],
                      "wrong": rates["wrong"], "answered": rates["answered"],
                      "clarify_offered": rates["clarify_offered"]})
    return curve


def format_curves(report: dict) -> list[str]:
    """The curve and the reliability table as text lines for the terminal."""
    lines = ["", "coverage-risk (the answer threshold on P(right) swept):",
             "  threshold  resolved  wrong  answered  clarify"]
    lines += [f"  {p['answer_threshold']:>9.3f}  {p['resolved']:>8.1%}  {p['wrong']:>5.1%}  "
              f"{p['answered']:>8.1%}  {p['clarify_offered']:>7.1%}"
              for p in report["coverage_risk"]]
    lines += ["", f"reliability of P(right) (ECE {report['ece']:.4f}):",
              "  bin        count  mean P(right)  accuracy"]
    for row in report["reliability"]:
        mean = "-" if row["mean_score"] is None else f"{row['mean_score']:.3f}"
        accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
        lines.append(f"  {row['bin']:<9}  {row['count']:>5}  {mean:>13}  {accuracy:>8}")
    return lines
