import json

import numpy as np
import pytest

from knowledge.errors import ImportRejected
from knowledge.evaluation import evaluate, matthews, read_labelled

TOPICS = {
    "shipping": ["shipping", "delivery", "courier", "parcel", "postage", "freight"],
    "refund": ["refund", "money", "reimburse", "chargeback", "repayment", "credit"],
    "password": ["password", "login", "account", "reset", "credentials", "signin"],
    "warranty": ["warranty", "guarantee", "defect", "broken", "repair", "faulty"],
    "invoice": ["invoice", "receipt", "billing", "vat", "fiscal", "statement"],
    "giftcard": ["giftcard", "voucher", "coupon", "promo", "discount", "code"],
}
OOS_WORDS = ["volcano", "giraffe", "saxophone", "nebula", "tundra", "origami", "quasar", "mongolia"]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    return path


def _dataset(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for label, words in TOPICS.items():
        for _ in range(8):
            picked = rng.choice(words, 3, replace=False)
            rows.append((f"question about {' '.join(picked)}", label))
    return rows


def test_matthews_known_values():
    assert matthews(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == pytest.approx(1.0)
    assert matthews(["a", "b", "c"], ["a", "b", "c"]) == pytest.approx(1.0)
    assert matthews(["a", "a", "b", "b"], ["b", "b", "a", "a"]) == pytest.approx(-1.0)
    # binary: TP=3, FN=1, FP=2, TN=4 -> (3*4 - 2*1) / sqrt(5*4*6*5)
    truth = ["p"] * 4 + ["n"] * 6
    predicted = ["p", "p", "p", "n"] + ["p", "p", "n", "n", "n", "n"]
    assert matthews(truth, predicted) == pytest.approx(10 / np.sqrt(600))
    assert matthews(["a", "b"], ["a", "a"]) == pytest.approx(0.0)  # constant prediction
    assert matthews(["a", "a"], ["a", "a"]) == 0.0  # degenerate


def test_read_labelled_rejects_malformed_lines(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"text": "hello", "label": "greet"}\n\nnot json\n{"text": "x"}\n[1, 2]\n'
                    '{"text": "bye", "label": "greet"}\n')
    with pytest.raises(ImportRejected) as info:
        read_labelled(path)
    assert [p.split(":")[0] for p in info.value.problems] == ["line 3", "line 4", "line 5"]


def test_read_labelled_good_and_empty(tmp_path):
    good = _write_jsonl(tmp_path / "g.jsonl", [("  Hello\u200b there ", "greet"), ("x", "oos")])
    assert read_labelled(good) == [("Hello there", "greet"), ("x", "oos")]
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(ImportRejected, match="no labelled questions"):
        read_labelled(empty)
    with pytest.raises(ImportRejected):
        read_labelled(tmp_path / "missing.jsonl")
    bad = tmp_path / "b.jsonl"
    bad.write_bytes(b'{"text": "caf\xe9", "label": "x"}\n')
    with pytest.raises(ImportRejected):
        read_labelled(bad)


def test_evaluate_with_hashing_embedder(tmp_path):
    kb = _write_jsonl(tmp_path / "kb.jsonl", _dataset(0))
    queries = _dataset(1)
    rng = np.random.default_rng(2)
    for _ in range(12):
        queries.append((" ".join(rng.choice(OOS_WORDS, 3, replace=False)), "oos"))
    qpath = _write_jsonl(tmp_path / "q.jsonl", queries)
    report = evaluate(kb, qpath, embedder="hashing", work_dir=tmp_path)
    d = report.as_dict()
    for key in ("in_scope_accuracy", "oos_recall", "wrong_answer_rate", "clarify_rate", "mcc",
                "latency_ms_p50", "latency_ms_p95"):
        assert key in d
    for key in ("in_scope_accuracy", "oos_recall", "wrong_answer_rate", "clarify_rate",
                "clarify_hit_rate"):
        assert 0.0 <= d[key] <= 1.0, key
    assert -1.0 <= d["mcc"] <= 1.0
    assert 0 <= d["latency_ms_p50"] <= d["latency_ms_p95"]
    assert report.queries == len(queries)
    assert report.in_scope_accuracy > 0.5  # chance is 1/6
    assert report.mcc > 0.3
    assert report.oos_recall >= 0.5
    assert set(report.thresholds) >= {"answer", "margin", "clarify"}
    assert not list(tmp_path.glob("tmp*"))  # the temporary work dir is removed
