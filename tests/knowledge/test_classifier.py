"""The entry classifier: which entry a question belongs to, learned from the KB's own
questions; entries added after the fit get an imprinted class at once."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge import classifier as module
from knowledge.classifier import NO_CLASSIFIER, EntryClassifier

DIM = 24


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def kb():
    """Five entries (ids not 0..4) of eight questions each, around their own direction."""
    rng = np.random.default_rng(0)
    centers = unit(rng.normal(size=(5, DIM)))
    ids = np.array([11, 23, 35, 47, 59])
    rows = np.repeat(np.arange(5), 8)
    vectors = unit(centers[rows] + 0.15 * rng.normal(size=(len(rows), DIM)))
    return ids, centers, ids[rows], vectors


def test_a_question_near_an_entry_is_classified_as_it(kb):
    ids, centers, entry_of, vectors = kb
    fitted = EntryClassifier.fit(vectors, entry_of)
    assert sorted(fitted.entries.tolist()) == ids.tolist()
    p_best, p_max, agrees, _ = fitted.features(centers[2], best=35)
    assert p_best == p_max > 0.5 and agrees == 1.0
    p_other, p_max_again, disagrees, _ = fitted.features(centers[2], best=11)  # ranked wrongly
    assert p_other < 0.2 and p_max_again == p_max and disagrees == 0.0


def test_an_excluded_entry_takes_no_probability(kb):
    """How the KB decided before an entry existed: its class is absent, not just low."""
    _, centers, entry_of, vectors = kb
    fitted = EntryClassifier.fit(vectors, entry_of)
    assert fitted.features(centers[2], best=35, exclude=35)[0] == 0.0
    p_best, p_max, agrees, _ = fitted.features(centers[2], best=11, exclude=35)
    assert p_max < 1.0 and 0 <= p_best <= p_max and agrees in (0.0, 1.0)


def test_the_clarify_buttons_hold_the_summed_probability_of_their_entries(kb):
    """What the "among" model reads: how likely the right entry is one of the buttons."""
    _, centers, entry_of, vectors = kb
    fitted = EntryClassifier.fit(vectors, entry_of)
    between = unit(centers[1] + centers[2])  # as near entry 23 as entry 35
    p_best, _, _, alone = fitted.features(between, best=35)
    assert alone == 0.0  # no buttons
    _, _, _, both = fitted.features(between, best=35, offered=[35, 23])
    _, _, _, wrong_pair = fitted.features(between, best=35, offered=[35, 59])
    assert p_best < 0.9 and both > 0.9 and both > wrong_pair >= p_best


def test_a_kb_of_grown_entries_beside_one_off_answers_has_a_classifier(kb):
    """The gate reads the typical question, not the typical entry: five FAQ entries of eight
    questions and six answers learned with one question each (their median entry has one
    question, their median question sits in an entry of eight)."""
    _, _, entry_of, _ = kb
    grown = np.concatenate([entry_of, np.arange(100, 106)])
    assert EntryClassifier.suits(grown)
    assert not EntryClassifier.suits(np.concatenate([entry_of, np.arange(100, 150)]))


def test_too_small_or_too_large_a_kb_has_no_classifier(kb, monkeypatch):
    _, _, entry_of, vectors = kb
    assert EntryClassifier.suits(entry_of)
    assert not EntryClassifier.suits(entry_of[np.isin(entry_of, [11, 23])])  # 2 entries
    few = np.concatenate([np.flatnonzero(entry_of == e)[:module.MIN_TYPICAL_QUESTIONS - 1]
                          for e in np.unique(entry_of)])
    assert not EntryClassifier.suits(entry_of[few])  # too few questions an entry
    monkeypatch.setattr(module, "MAX_FIT_WORK", 5 * 5 * module.MIN_ROWS - 1)
    assert not EntryClassifier.suits(entry_of)  # 5 entries: under 3 questions each in a fit
    monkeypatch.setattr(module, "MAX_FIT_WORK", 5 * 5 * module.MIN_ROWS)
    assert EntryClassifier.suits(entry_of)
    assert len(EntryClassifier.fit(vectors, entry_of).entries) == 5
    assert EntryClassifier.fit(vectors[:8], entry_of[:8]) is None  # one entry: nothing to tell


def test_two_entries_as_a_calibration_fold_may_leave(kb):
    """scikit-learn fits two classes with one weight vector: both get a probability."""
    _, centers, entry_of, vectors = kb
    two = np.isin(entry_of, [11, 23])
    fitted = EntryClassifier.fit(vectors[two], entry_of[two])
    assert sorted(fitted.entries.tolist()) == [11, 23]
    p_first, p_max, agrees, _ = fitted.features(centers[0], best=11)
    assert p_first == p_max > 0.5 and agrees == 1.0
    assert fitted.features(centers[1], best=11)[0] < 0.5


def test_a_new_entry_is_imprinted_and_a_gone_one_dropped(kb):
    """An operator's answer learned after the fit is classified at once; a retired entry
    takes no probability away from the others."""
    _, centers, entry_of, vectors = kb
    fitted = EntryClassifier.fit(vectors, entry_of)
    new_direction = unit(np.random.default_rng(5).normal(size=DIM))
    aligned = fitted.aligned([11, 23, 35, 47, 99], {99: new_direction}.__getitem__)
    assert sorted(aligned.entries.tolist()) == [11, 23, 35, 47, 99]
    p_new, _, agrees, _ = aligned.features(new_direction, best=99)
    assert p_new > 0.5 and agrees == 1.0
    assert aligned.features(centers[2], best=35)[2] == 1.0  # the fitted ones still work
    assert aligned.features(centers[4], best=59)[0] == 0.0  # 59 is gone


def test_the_fit_is_deterministic(kb):
    _, _, entry_of, vectors = kb
    first, again = EntryClassifier.fit(vectors, entry_of), EntryClassifier.fit(vectors, entry_of)
    assert np.array_equal(first.coef, again.coef)


def test_nothing_ranked_gives_the_neutral_features(kb):
    _, centers, entry_of, vectors = kb
    assert EntryClassifier.fit(vectors, entry_of).features(centers[0], best=None) == NO_CLASSIFIER


def test_many_balanced_entries_are_still_told_apart():
    """150 entries of equal size: the averaged gradient at the start is small, and a loose
    stopping tolerance once left every entry equally likely."""
    rng = np.random.default_rng(1)
    centers = unit(rng.normal(size=(150, 128)))
    rows = np.repeat(np.arange(150), 12)
    vectors = unit(centers[rows] + rng.normal(size=(len(rows), 128)))  # much spread
    fitted = EntryClassifier.fit(vectors, rows + 1000)
    p_best, _, agrees, _ = fitted.features(centers[7], best=1007)
    assert p_best > 0.2 and agrees == 1.0  # 1/150 each, had it not learned
