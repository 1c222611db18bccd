"""How likely the best entry is the right answer, and the decision made from it.

Three small logistic models over features of one search (see `FEATURES`):

- in scope: does the knowledge base answer this question at all? Trained with equal weight
  on both sides, so the share of unanswerable questions is applied afterwards as a prior
  (Bayes' rule on the odds) and can follow the deployment without retraining;
- right: given that it does, is the best-ranked entry the one?
- among: given that it does, is the right entry among the clarify buttons?

P(right) = P(in scope) x P(right | in scope), and likewise for the buttons. A model is plain
numbers (means, scales, weights), stored as JSON: nothing is unpickled from the database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from knowledge.classifier import NO_CLASSIFIER
from knowledge.risk import cumulative_bound
from knowledge.scoring import LEXICAL_SCALE, DecisionKind, ScoredEntry, is_near_copy

MODEL_FORMAT = 3
FEATURES = (
    "score", "runner_up", "margin_2", "margin_3", "nearest", "centroid", "lexical",
    "lexical_lead", "questions", "query_words", "uncovered_words", "lead_10", "lead_background",
    "classifier_best", "classifier_max", "classifier_agrees", "classifier_offered",
    # the last four: knowledge.classifier
)
# The features that are similarities (or differences of them): what a question asked in
# another language than the KB's lowers.
SIMILARITIES = ("score", "runner_up", "margin_2", "margin_3", "nearest", "centroid", "lead_10",
                "lead_background")
CLARIFY_BAND = 0.08  # buttons: the best 2-3 entries within this score of the best one
MAX_BUTTONS = 3
MIN_SHARE, MAX_SHARE = 0.02, 0.9  # the unanswerable share is kept inside these


@dataclass(frozen=True)
class QueryFacts:
    """What the features need besides the ranked entries."""
    words: int  # content words in the question
    questions: int  # questions of the best-ranked entry
    classified: tuple[float, float, float, float] = NO_CLASSIFIER  # EntryClassifier.features
    uncovered: float = 0.0  # share of its words the best entry's questions lack (LexicalIndex)


def feature_vector(scored: Sequence[ScoredEntry], facts: QueryFacts) -> np.ndarray:
    """The features of one search, in the order of `FEATURES` (zeros when nothing matched)."""
    if not scored:
        return np.zeros(len(FEATURES))
    first = scored[0]
    second = scored[1].score if len(scored) > 1 else 0.0
    third = scored[2].score if len(scored) > 2 else 0.0
    best_lexical = max(s.lexical for s in scored)
    return np.array([
        first.score, second, first.score - second, first.score - third,
        first.nearest, first.centroid,
        1.0 - math.exp(-first.lexical / LEXICAL_SCALE),
        1.0 if first.lexical > 0 and first.lexical >= best_lexical else 0.0,
        math.log1p(facts.questions), math.log1p(facts.words), facts.uncovered,
        first.score - scored[-1].score,
        first.score - (float(np.mean([s.score for s in scored[3:]])) if len(scored) > 3 else 0.0),
        *facts.classified,
    ])


def buttons(scored: Sequence[ScoredEntry]) -> list[ScoredEntry]:
    """The entries a clarify offer would show: the best ones close to the best (2-3), or []."""
    if not scored:
        return []
    close = [s for s in scored[:MAX_BUTTONS] if s.score >= scored[0].score - CLARIFY_BAND]
    return close if len(close) >= 2 else []


@dataclass(frozen=True)
class Logistic:
    """A standardised logistic regression, kept as numbers."""
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> Logistic:
        from sklearn.linear_model import LogisticRegression

        if len(set(y.tolist())) < 2:  # one class only: a constant at its (smoothed) rate
            rate = (y.sum() + 1) / (len(y) + 2)
            return cls((0.0,) * x.shape[1], (1.0,) * x.shape[1], (0.0,) * x.shape[1],
                       float(math.log(rate / (1 - rate))))
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        fitted = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, y, weight)
        return cls(tuple(mean.tolist()), tuple(scale.tolist()), tuple(fitted.coef_[0].tolist()),
                   float(fitted.intercept_[0]))

    def logit(self, x: np.ndarray) -> np.ndarray:
        return ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights) \
            + self.bias


def sigmoid(z):
    """Never exactly 0 or 1: an answer threshold of 1.0 then answers nothing."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass(frozen=True)
class ConfidenceModel:
    in_scope: Logistic  # trained balanced: prior odds 1
    right: Logistic
    among: Logistic
    unanswerable_share: float  # the prior applied to `in_scope`
    answer_at: float  # answer when P(right) reaches this
    clarify_at: float  # offer buttons when P(right entry among them) reaches this
    budget: float  # the acceptable share of wrong answers it was chosen for
    embedder: str = ""
    version: int = 0
    kb_version: int = -1
    trained_at: float = 0.0  # Unix time
    expected: dict = field(default_factory=dict)  # rates the calibration expects
    reliability: list = field(default_factory=list)
    # language -> the model for questions in a language no entry is in (see knowledge.training)
    cross_lingual: dict = field(default_factory=dict)
    format: int = MODEL_FORMAT

    def p_in_scope(self, x: np.ndarray, share: float | None = None) -> np.ndarray:
        share = self.unanswerable_share if share is None else share
        return sigmoid(self.in_scope.logit(x) + math.log((1 - share) / share))

    def probabilities(self, x: np.ndarray,
                      share: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(P(best entry right), P(right entry among the buttons)) for rows of features."""
        p_in = self.p_in_scope(x, share)
        return p_in * sigmoid(self.right.logit(x)), p_in * sigmoid(self.among.logit(x))

    def for_language(self, language: str | None, kb_languages) -> ConfidenceModel:
        """The model that decides questions in `language`: the cross-lingual one trained for a
        language no entry of the KB is in, where there is one; else this one."""
        if language and language not in kb_languages:
            return self.cross_lingual.get(language, self)
        return self

    def decide(self, scored: Sequence[ScoredEntry], facts: QueryFacts
               ) -> tuple[DecisionKind, list[ScoredEntry], float]:
        """Answer with one entry, offer 2-3, or escalate; with P(best entry right)."""
        return self.decide_on(scored, feature_vector(scored, facts))

    def decide_on(self, scored: Sequence[ScoredEntry], x: np.ndarray
                  ) -> tuple[DecisionKind, list[ScoredEntry], float]:
        if not scored:
            return DecisionKind.ESCALATE, [], 0.0
        p_right, p_among = (float(p[0]) for p in self.probabilities(x[None]))
        # A question that is one of the KB's own is answered (probes never are: each KB
        # question is hidden before it is searched, so the model has not seen the case).
        if p_right >= self.answer_at or is_near_copy(scored):
            return DecisionKind.ANSWER, list(scored[:1]), p_right
        offer = buttons(scored)
        if offer and p_among >= self.clarify_at:
            return DecisionKind.CLARIFY, offer, p_right
        return DecisionKind.ESCALATE, list(scored[:3]), p_right

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ConfidenceModel:
        """Raises ValueError on anything but a model of this format and these features."""
        try:
            if data.get("format") != MODEL_FORMAT:
                raise ValueError(f"model format {data.get('format')!r}, expected {MODEL_FORMAT}")
            parts = {k: Logistic(**{f: (tuple(v) if isinstance(v, list) else v)
                                    for f, v in data[k].items()})
                     for k in ("in_scope", "right", "among")}
            for part in parts.values():
                if not (len(part.mean) == len(part.scale) == len(part.weights) == len(FEATURES)):
                    raise ValueError("the model's features are not this version's")
                if not all(map(math.isfinite, (*part.mean, *part.scale, *part.weights, part.bias))):
                    raise ValueError("the model holds a non-finite number")
            cross = {str(language): cls.from_dict(sub)
                     for language, sub in (data.get("cross_lingual") or {}).items()}
            model = cls(**{**data, **parts, "cross_lingual": cross})
            in_range = (MIN_SHARE <= model.unanswerable_share <= MAX_SHARE
                        and 0 < model.answer_at <= 1 and 0 < model.clarify_at <= 1)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a confidence model: {exc}") from exc
        if not in_range:
            raise ValueError("the model's thresholds are out of range")
        return model

    def with_share(self, share: float, probes: Probes | None = None) -> ConfidenceModel:
        """The same model for another unanswerable share; re-chooses the answer threshold."""
        share = float(min(MAX_SHARE, max(MIN_SHARE, share)))
        moved = replace(self, unanswerable_share=round(share, 4))
        return moved if probes is None else choose_answer_at(moved, probes)


@dataclass(frozen=True)
class Probes:
    """Searches whose truth is known: the calibration's training and checking data."""
    x: np.ndarray  # features, one row a search
    in_scope: np.ndarray  # bool: the KB answers it
    right: np.ndarray  # bool: the best entry is the right one
    among: np.ndarray  # bool: the right entry is among the buttons
    offerable: np.ndarray  # bool: there are buttons to offer (2-3 close entries)
    source: np.ndarray  # str: "variant" (a hidden question), "entry" (a hidden entry), "bank",
    # "log" (an outcome the deployment logged: see knowledge.calibration.Signal)
    # int: for a hidden entry's question, that entry (its questions rise and fall together:
    # knowledge.risk); -1 for every other probe
    group: np.ndarray | None = None

    def hidden_topics(self) -> np.ndarray:
        group = np.full(len(self.x), -1) if self.group is None else self.group
        return np.where((self.source == "entry") & ~self.in_scope, group, -1)

    def with_similarities_scaled(self, ratio: float) -> Probes:
        """The same probes as if every similarity were `ratio` times lower (no lexical match
        assumed): questions asked in another language than the KB's."""
        x = self.x.copy()
        x[:, [FEATURES.index(f) for f in SIMILARITIES]] *= ratio
        return replace(self, x=x)

    @classmethod
    def join(cls, parts: Sequence[Probes]) -> Probes:
        parts = [p for p in parts if len(p.x)]
        if not parts:
            return cls(np.zeros((0, len(FEATURES))), *(np.zeros(0, dtype=bool),) * 4,
                       np.zeros(0, dtype=str), np.zeros(0, dtype=int))
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("x", "in_scope", "right", "among", "offerable", "source")),
                   np.concatenate([np.full(len(p.x), -1) if p.group is None else p.group
                                   for p in parts]).astype(int))

    def weights(self, share: float) -> np.ndarray:
        """Each row's weight so the unanswerable side weighs `share` in all (split evenly
        between hidden entries, the bank and the log, those that exist) and the answerable
        side the rest."""
        w = np.zeros(len(self.x))
        ins = self.in_scope
        if ins.any():
            w[ins] = (1 - share) / ins.sum()
        sources = [s for s in ("entry", "bank", "log") if ((self.source == s) & ~ins).any()]
        for s in sources:
            rows = (self.source == s) & ~ins
            w[rows] = share / len(sources) / rows.sum()
        return w


def train(probes: Probes, *, budget: float, clarify_at: float, share: float,
          embedder: str = "", kb_version: int = -1, version: int = 0) -> ConfidenceModel:
    ins, offer = probes.in_scope, probes.offerable
    balanced = probes.weights(0.5) * len(probes.x)
    model = ConfidenceModel(
        trained_at=round(time.time(), 3),
        in_scope=Logistic.fit(probes.x, ins.astype(int), balanced),
        right=Logistic.fit(probes.x[ins], probes.right[ins].astype(int)),
        # Only where there are buttons: the only searches it is asked about.
        among=Logistic.fit(probes.x[ins & offer], probes.among[ins & offer].astype(int)),
        unanswerable_share=share, answer_at=1.0, clarify_at=clarify_at, budget=budget,
        embedder=embedder, version=version, kb_version=kb_version,
    )
    return choose_answer_at(model.with_share(share), probes)


def choose_answer_at(model: ConfidenceModel, probes: Probes) -> ConfidenceModel:
    """The lowest P(right) threshold (never under 0.5) at which the probes, weighted to the
    model's unanswerable share, are answered wrongly at most `budget` of the time, counting
    one wrong answer more on each side than the probes show (few probes, a small FAQ, cannot
    vouch for a low rate; many can) and the wrong answers to hidden entries' questions at an
    upper confidence bound (few hidden topics cannot either: `knowledge.risk`)."""
    w = probes.weights(model.unanswerable_share)
    p_right, p_among = model.probabilities(probes.x)
    order = np.argsort(-p_right)
    wrong = wrong_upper(probes, w, order, model.unanswerable_share)
    ranked = p_right[order]
    # Ties: a threshold must not split equal probabilities, so cut at a distinct value only.
    distinct = np.r_[ranked[1:] != ranked[:-1], True]
    allowed = np.flatnonzero((wrong <= model.budget) & (ranked >= 0.5) & distinct)
    answer_at = float(ranked[allowed[-1]]) if len(allowed) else 1.0
    chosen = replace(model, answer_at=max(0.5, answer_at))  # exact: rounding could admit one more
    expected = {**expected_rates(chosen, probes, p_right, p_among, w),
                "wrong_upper": round(float(wrong[allowed[-1]]), 4) if len(allowed) else 0.0}
    return replace(chosen, expected=expected,
                   reliability=reliability_table(p_right, probes.right, w))


def wrong_upper(probes: Probes, w: np.ndarray, order: np.ndarray, share: float) -> np.ndarray:
    """For each cut of `order` (probes by falling P(right)): the upper bound of the weighted
    share of wrong answers (`w`: the weights for unanswerable `share`) that the threshold
    choice holds to the budget."""
    answerable = int(probes.in_scope.sum())
    unseen = (1 - share) / max(1, answerable) + share / max(1, len(probes.x) - answerable)
    wrong = ~probes.right
    return (np.cumsum((w * wrong)[order]) + unseen
            + cumulative_bound(order, wrong, w, probes.hidden_topics()))


def expected_rates(model: ConfidenceModel, probes: Probes, p_right, p_among, w) -> dict:
    answered = p_right >= model.answer_at
    offered = ~answered & (p_among >= model.clarify_at) & probes.offerable
    ins = probes.in_scope
    total_in = w[ins].sum() or 1.0
    return {
        "answer": round(float(w[answered].sum()), 4),
        "wrong": round(float(w[answered & ~probes.right].sum()), 4),
        "clarify": round(float(w[offered].sum()), 4),
        "escalate": round(float(w[~answered & ~offered].sum()), 4),
        "resolved": round(float((w[ins & answered & probes.right].sum()
                                 + w[ins & offered & probes.among].sum()) / total_in), 4),
        "unanswerable_share": model.unanswerable_share,
        "probes": {s: int((probes.source == s).sum()) for s in ("variant", "entry", "bank", "log")},
    }


def reliability_table(p: np.ndarray, right: np.ndarray, weight: np.ndarray | None = None,
                      bins: int = 10) -> list[dict]:
    """Equal-width bins of P(right): how many, the mean probability and the share right."""
    weight = np.ones(len(p)) if weight is None else weight
    which = np.minimum((np.clip(p, 0, 1) * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        rows = which == b
        total = float(weight[rows].sum())
        table.append({
            "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "count": int(rows.sum()),
            "mean": round(float((weight[rows] * p[rows]).sum() / total), 4) if total else None,
            "right": round(float((weight[rows] * right[rows]).sum() / total), 4) if total else None,
            "weight": round(total / float(weight.sum() or 1.0), 4),
        })
    return table


def calibration_error(table: list[dict]) -> float:
    """Expected calibration error of a reliability table (weighted by each bin's share)."""
    return round(sum(r["weight"] * abs(r["mean"] - r["right"]) for r in table
                     if r["mean"] is not None), 4)


def estimate_unanswerable_share(model: ConfidenceModel, x: np.ndarray, *,
                                iterations: int = 100) -> float:
    """The share of unanswerable questions among logged searches, by expectation-maximisation
    of the class prior (Saerens, Latinne and Decaestecker 2002) over the balanced in-scope
    model: no labels needed, only the questions customers asked."""
    if not len(x):
        return model.unanswerable_share
    p = sigmoid(model.in_scope.logit(x))  # at prior 0.5
    share_in = 0.5
    for _ in range(iterations):
        odds = share_in / 0.5, (1 - share_in) / 0.5
        posterior = odds[0] * p / (odds[0] * p + odds[1] * (1 - p))
        new = float(posterior.mean())
        if abs(new - share_in) < 1e-6:
            break
        share_in = new
    return float(min(MAX_SHARE, max(MIN_SHARE, 1 - share_in)))
