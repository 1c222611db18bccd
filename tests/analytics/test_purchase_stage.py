"""The purchase-stage classifier: held-out quality on the real multilingual embedder, and
the mechanics (save/load, odd input, bad training data) on the fast hashing embedder."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from analytics.purchase_stage import (
    EXAMPLES,
    HOLDOUT,
    LABELS,
    Example,
    Prediction,
    PurchaseStageClassifier,
    PurchaseStageError,
    evaluate,
    load_examples,
    train_default,
)
from knowledge.embedders import HashingEmbedder, make_embedder

HOSTILE = [
    "",
    "   \n\t ",
    "\x00\x01\x02",
    "'; DROP TABLE orders; --",
    "<script>alert('x')</script> dov'è il mio ordine?",
    "😀" * 50,
    "Posso restituire la borsa? " * 2000,
    "\u202eoiggerd\u202c ﬁne spedizione",
]


@pytest.fixture(scope="module")
def hashing_model() -> PurchaseStageClassifier:
    return train_default(HashingEmbedder(128))


def test_example_files_are_labelled_balanced_and_disjoint():
    train, holdout = load_examples(EXAMPLES), load_examples(HOLDOUT)
    for examples, per_class in ((train, 200), (holdout, 50)):
        counts = Counter(e.label for e in examples)
        assert set(counts) == set(LABELS)
        assert min(counts.values()) >= per_class
        assert {e.language for e in examples} == {"it", "en"}
    assert not {e.text.casefold() for e in train} & {e.text.casefold() for e in holdout}


@pytest.mark.slow
def test_beats_target_on_the_held_out_set_in_both_languages():
    model = train_default(make_embedder("use-multilingual"))
    report = evaluate(model, load_examples(HOLDOUT))
    for scope in ("all", "it", "en"):
        assert report[scope]["accuracy"] >= 0.85, report
        assert report[scope]["macro_f1"] >= 0.85, report


def test_save_load_roundtrip_gives_identical_predictions(hashing_model, tmp_path):
    path = tmp_path / "stage.npz"
    hashing_model.save(path)
    loaded = PurchaseStageClassifier.load(path, HashingEmbedder(128))
    texts = [e.text for e in load_examples(HOLDOUT)] + HOSTILE
    assert loaded.predict(texts) == hashing_model.predict(texts)
    np.testing.assert_array_equal(loaded.probabilities(texts), hashing_model.probabilities(texts))


def test_load_refuses_another_embedder(hashing_model, tmp_path):
    path = tmp_path / "stage.npz"
    hashing_model.save(path)
    with pytest.raises(PurchaseStageError):
        PurchaseStageClassifier.load(path, HashingEmbedder(256))  # other name and dimension


def test_empty_and_hostile_text(hashing_model):
    predictions = hashing_model.predict(HOSTILE)
    assert len(predictions) == len(HOSTILE)
    assert predictions[0] == predictions[1] == predictions[2] == Prediction("other", 1.0)
    for p in predictions:
        assert p.label in LABELS and 0.0 <= p.confidence <= 1.0
    assert hashing_model.predict([]) == []
    with pytest.raises(TypeError):
        hashing_model.predict([None])  # type: ignore[list-item]


def test_training_rejects_unknown_or_missing_labels():
    embedder = HashingEmbedder(32)
    with pytest.raises(PurchaseStageError):
        PurchaseStageClassifier.train([Example("ciao", "greeting")], embedder)
    with pytest.raises(PurchaseStageError):
        PurchaseStageClassifier.train([{"text": "dov'è il pacco", "label": "post_purchase"}],
                                      embedder)


def test_evaluate_scores_per_language():
    class Fixed(PurchaseStageClassifier):
        def __init__(self):
            pass

        def predict(self, texts):
            return [Prediction("pre_purchase", 1.0) for _ in texts]

    examples = [Example("a", "pre_purchase", "it"), Example("b", "other", "it"),
                Example("c", "pre_purchase", "en")]
    report = evaluate(Fixed(), examples)
    assert report["all"] == {"n": 3, "accuracy": round(2 / 3, 4), "macro_f1": round(0.8 / 3, 4)}
    assert report["en"]["accuracy"] == 1.0 and report["it"]["accuracy"] == 0.5
