"""A linear classifier over the knowledge base's own question vectors: which entry does a
question belong to, learned from the ways of asking each entry has.

Similarity to an entry's questions says how close a question is; it does not say which
directions of the embedding tell this KB's entries apart (every question of a bank's FAQ is
"about banking"). A multinomial logistic regression on the KB's vectors learns them, and its
probabilities for the best-ranked entry and for the clarify buttons' entries are features of
the confidence model (`knowledge.confidence`): measured on the development sets, they tell
right answers from wrong and unanswerable ones, and buttons that hold the right entry from
those that do not, better than the similarities alone (BENCHMARKS.md).

Entries added after the fit (an operator's answer learned a minute ago) get a class at once,
imprinted from their centroid (`aligned`): the classifier is refitted when the confidence
model is (after learned entries, daily) and, in a replica, when it takes up a model another
process trained (in the background), never in a customer's search.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

ROWS_PER_ENTRY = 50  # questions of one entry the fit sees, at most (seeded sample)
# A fit costs about (questions seen) x (entries) per step: within this, a few seconds on one
# core. A larger KB gives each entry fewer questions, down to MIN_ROWS; beyond that (about
# 800 entries) it decides without the classifier.
MAX_FIT_WORK = 2_000_000
MIN_ROWS = 3
# Fewer questions than this in the typical question's entry: the calibration's folds (each
# hides one of an entry's few questions) cannot tell how far its probabilities can be trusted.
# Measured (BENCHMARKS.md): at 3 questions an entry BANKING77's wrong answers doubled; at 5
# they rose on three sets of ten, and in the learning replay on CLINC150 (7.5 -> 10.0 % of all
# questions); from 10 (xSID) up it answered more and as safely or more.
MIN_TYPICAL_QUESTIONS = 8
REGULARISATION_C = 10.0  # inverse L2 strength; vectors are unit length
NO_CLASSIFIER = (0.0, 0.0, 0.0, 0.0)  # the features when there is none


@dataclass(frozen=True)
class EntryClassifier:
    entries: np.ndarray  # entry id of each class
    coef: np.ndarray  # one row per class
    intercept: np.ndarray

    @staticmethod
    def suits(entry_of_row: np.ndarray) -> bool:
        """Whether a KB (each question's entry) gets a classifier: at least 3 entries, the
        typical question in an entry of MIN_TYPICAL_QUESTIONS questions or more (the median
        over questions, not entries: a KB whose FAQ entries have grown, beside many one-off
        answers learned with a question each, has one), and a fit within MAX_FIT_WORK.
        Decided on the whole KB, so that the calibration's folds follow the live search."""
        entries, position, counts = np.unique(entry_of_row, return_inverse=True,
                                              return_counts=True)
        return (len(entries) >= 3
                and float(np.median(counts[position])) >= MIN_TYPICAL_QUESTIONS
                and _questions_per_entry(len(entries)) >= MIN_ROWS)

    @classmethod
    def fit(cls, vectors: np.ndarray, entry_of_row: np.ndarray, *, seed: int = 0
            ) -> EntryClassifier | None:
        """Fitted on up to ROWS_PER_ENTRY questions of each entry (fewer in a larger KB);
        None for fewer than two entries."""
        from sklearn.linear_model import LogisticRegression

        entries = np.unique(entry_of_row)
        if len(entries) < 2:
            return None
        rng = np.random.default_rng(seed)
        per_entry = _questions_per_entry(len(entries))
        rows = np.concatenate([rng.permutation(np.flatnonzero(entry_of_row == e))[:per_entry]
                               for e in entries.tolist()])
        # sklearn's default tolerance: a looser one stops before the first step when many
        # balanced classes make the averaged gradient small (every class then equally likely).
        # A few questions per entry are classes with few samples, as meant: not a warning.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The number of unique classes", UserWarning)
            fitted = LogisticRegression(C=REGULARISATION_C, max_iter=100).fit(
                vectors[rows], entry_of_row[rows])
        coef, intercept = fitted.coef_, fitted.intercept_
        if len(fitted.classes_) == 2:  # one logit for the second class: softmax of (0, it)
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
        return cls(fitted.classes_.astype(np.int64), coef.astype(np.float32),
                   intercept.astype(np.float32))

    def aligned(self, current: Iterable[int], vector_of: Callable[[int], np.ndarray]
                ) -> EntryClassifier:
        """The classifier for the `current` entries: the fitted classes of those still there,
        and for each new one a class imprinted from its unit centroid (`vector_of`) at the
        fitted classes' mean weight norm and mean intercept."""
        position = {int(e): i for i, e in enumerate(self.entries.tolist())}
        current = list(current)
        kept = [position[e] for e in current if e in position]
        new = [e for e in current if e not in position]
        coef, intercept = self.coef[kept], self.intercept[kept]
        if new:
            scale = float(np.linalg.norm(self.coef, axis=1).mean())
            imprinted = np.stack([vector_of(e) for e in new]).astype(np.float32) * scale
            coef = np.vstack([coef, imprinted])
            intercept = np.concatenate([intercept, np.full(len(new), self.intercept.mean(),
                                                           dtype=np.float32)])
        entries = np.array([int(self.entries[i]) for i in kept] + new, dtype=np.int64)
        return EntryClassifier(entries, coef, intercept)

    def features(self, vector: np.ndarray, best: int | None, exclude: int | None = None,
                 offered: Iterable[int] = ()) -> tuple[float, float, float, float]:
        """(P(best entry), the highest P of any entry, 1 if they are the same entry, the
        summed P of the `offered` entries: the clarify buttons, 0 when there are none) for a
        question; `exclude`: an entry treated as absent (how the KB decided before it)."""
        if best is None or not len(self.entries):
            return NO_CLASSIFIER
        logits = self.coef @ vector.astype(np.float32) + self.intercept
        if exclude is not None:
            logits[self.entries == exclude] = -np.inf
        logits -= logits.max()
        p = np.exp(logits)
        p /= p.sum()
        at = np.flatnonzero(self.entries == best)
        p_best = float(p[at[0]]) if len(at) else 0.0
        p_offered = float(p[np.isin(self.entries, list(offered))].sum())
        return p_best, float(p.max()), float(len(at) > 0 and p_best >= float(p.max())), p_offered


def _questions_per_entry(entries: int) -> int:
    return min(ROWS_PER_ENTRY, MAX_FIT_WORK // max(1, entries * entries))


class LiveClassifier:
    """A knowledge base's classifier between calibrations: fitted with the confidence model,
    aligned with the entries its index holds as they change. The service's locks guard it."""

    def __init__(self) -> None:
        self.fitted: EntryClassifier | None = None
        self.tried = False  # fitted (or found impossible) for the KB at least once
        self._aligned: tuple[int, EntryClassifier | None] = (-2, None)  # (KB version, it)
        self._refitting = threading.Lock()

    def use(self, fitted: EntryClassifier | None) -> None:
        self.fitted, self.tried, self._aligned = fitted, True, (-2, None)

    def at(self, version: int, entries: Iterable[int], vector_of: Callable[[int], np.ndarray]
           ) -> EntryClassifier | None:
        """The classifier over `entries`, the index's at KB `version` (realigned once per
        version: milliseconds for the entries a classifier is fitted for)."""
        if self.fitted is not None and self._aligned[0] != version:
            self._aligned = (version, self.fitted.aligned(entries, vector_of))
        return self._aligned[1]

    def refit_in_background(self, fit: Callable[[], None]) -> None:
        """`fit` (seconds: it reads the KB and calls `use`) in a thread of its own, one at a
        time; searches go on with the classifier in use until it is done."""
        if not self._refitting.acquire(blocking=False):
            return

        def refit() -> None:
            try:
                fit()
            except Exception:  # the next model taken up, or a calibration, tries again
                log.exception("refitting the entry classifier failed")
            finally:
                self._refitting.release()
        threading.Thread(target=refit, name="kb-classifier", daemon=True).start()
