import json
from collections import Counter

import numpy as np
import pytest

from core import DecisionKind
from knowledge.confidence import (
    FEATURES,
    ConfidenceModel,
    Logistic,
    QueryFacts,
    feature_vector,
)
from knowledge.errors import ImportRejected
from knowledge.eval_curves import (
    SWEEP,
    Outcome,
    coverage_risk,
    outcome_rates,
    reliability,
)
from knowledge.evaluation import EvaluationError, evaluate, keep_shots, matthews, read_labelled
from knowledge.scoring import ScoredEntry

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
    # A KB of 6 entries is held to caution (few probes vouch for little): it answers well
    # above chance (1/6) and within the wrong-answer budget.
    assert report.in_scope_accuracy > 0.3 and report.wrong <= 0.02
    assert report.mcc > 0.3
    assert report.oos_recall >= 0.5
    # A confidence model decided (no score thresholds), with an answer bar of at least 0.5.
    assert report.thresholds == {} and report.calibration["answer_at"] >= 0.5
    assert not list(tmp_path.glob("tmp*"))  # the temporary work dir is removed


# -- issue 11: shots, decision figures, coverage-risk, reliability --------------------------

A, C, E = DecisionKind.ANSWER, DecisionKind.CLARIFY, DecisionKind.ESCALATE


def _sized_rows():
    """a: 10 distinct questions (one repeated), b: 3 distinct (each twice), c: 1, plus oos."""
    rows = [(f"alpha question number {i}", "a")
            for i in range(10)] + [("alpha question number 0", "a")]
    rows += [(f"beta {w}", "b") for w in ("one", "two", "three")] * 2
    rows += [("gamma only", "c"), ("something off topic", "oos")]
    return rows


@pytest.mark.parametrize("shots, expected, short", [
    (1, {"a": 1, "b": 1, "c": 1}, {}),
    (2, {"a": 2, "b": 2, "c": 1}, {"c": 1}),
    (5, {"a": 5, "b": 3, "c": 1}, {"b": 3, "c": 1}),
    (0, {"a": 10, "b": 3, "c": 1}, {}),
])
def test_keep_shots_keeps_min_k_n_distinct_questions(shots, expected, short):
    kept, short_labels = keep_shots(_sized_rows(), shots, seed=7)
    assert Counter(label for _, label in kept) == expected
    assert len(set(kept)) == len(kept)  # duplicates count once
    assert short_labels == short
    assert set(kept) <= set(_sized_rows())


def test_keep_shots_is_deterministic_per_seed_and_differs_across_seeds():
    rows = _sized_rows()
    assert keep_shots(rows, 3, seed=1) == keep_shots(rows, 3, seed=1)
    samples = {tuple(keep_shots(rows, 3, seed=s)[0]) for s in range(6)}
    assert len(samples) > 1
    # A label's sample does not depend on the other labels in the file.
    only_a = [r for r in rows if r[1] == "a"]
    a_sample = [r for r in keep_shots(rows, 3, seed=4)[0] if r[1] == "a"]
    assert keep_shots(only_a, 3, seed=4)[0] == a_sample


def test_keep_shots_refuses_negative():
    with pytest.raises(EvaluationError, match="shots must be 0"):
        keep_shots(_sized_rows(), -1, seed=0)


def _hand_outcomes():
    return [
        Outcome("a", A, ("a",), "a", 0.95),  # answered right
        Outcome("a", A, ("b",), "b", 0.85),  # answered wrong
        Outcome("b", C, ("a", "b"), "a", 0.62),  # clarify hit
        Outcome("b", C, ("a", "c"), "a", 0.61),  # clarify miss
        Outcome("oos", A, ("c",), "c", 0.91),  # answered the unanswerable
        Outcome("oos", E, (), "a", 0.30),  # escalated, as it should
        Outcome("c", E, (), "c", 0.35),  # escalated although ranked first
        Outcome("c", A, ("c",), "c", 1.2),  # lexical bonus above 1: read as 1.0
    ]


def test_outcome_rates_by_hand():
    rates = outcome_rates(_hand_outcomes())
    assert rates == {"answerable": 6, "out_of_scope": 2, "resolved": 0.5, "wrong": 0.25,
                     "answered": 0.5, "clarify_offered": 0.25, "clarify_hit": 0.5,
                     "escalated": 0.25}


def test_reliability_and_ece_by_hand():
    table, ece = reliability(_hand_outcomes())
    assert [row["count"] for row in table] == [0, 0, 0, 2, 0, 0, 2, 0, 1, 3]
    by_bin = {row["bin"]: row for row in table}
    assert by_bin["0.3-0.4"]["mean_score"] == pytest.approx(0.325)
    assert by_bin["0.3-0.4"]["accuracy"] == 0.5
    assert by_bin["0.6-0.7"]["accuracy"] == 0.0
    assert by_bin["0.9-1.0"]["mean_score"] == pytest.approx((0.95 + 0.91 + 1.0) / 3, abs=1e-4)
    assert by_bin["0.9-1.0"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert by_bin["0.0-0.1"]["mean_score"] is None
    expected = (2 * 0.175 + 2 * 0.615 + 1 * 0.85 + 3 * abs(2 / 3 - 2.86 / 3)) / 8
    assert ece == pytest.approx(expected, abs=1e-4)
    # A perfectly calibrated case has no error.
    fair = [Outcome("a", A, ("a",), "a", 0.75)] * 3 + [Outcome("a", A, ("b",), "b", 0.75)]
    assert reliability(fair)[1] == 0.0


def _scored(*pairs):
    return [ScoredEntry(entry_id, score, score, score, 0.0, entry_id) for entry_id, score in pairs]


def _model_on_score() -> ConfidenceModel:
    """By hand: always in scope, the right entry always among the buttons, and
    P(best entry right) = sigmoid(20 x (score - 0.7))."""
    n = len(FEATURES)
    weights = [0.0] * n
    weights[FEATURES.index("score")] = 20.0
    sure = Logistic((0.0,) * n, (1.0,) * n, (0.0,) * n, 50.0)
    return ConfidenceModel(in_scope=sure,
                           right=Logistic((0.0,) * n, (1.0,) * n, tuple(weights), -14.0),
                           among=sure, unanswerable_share=0.5, answer_at=0.8, clarify_at=0.8,
                           budget=0.02)


def test_coverage_risk_by_hand():
    keys = {1: "a", 2: "b"}
    facts = QueryFacts(words=3, questions=2)
    ranked = [(truth, scored, feature_vector(scored, facts)) for truth, scored in (
        ("a", _scored((1, 0.80), (2, 0.60))),  # clear winner: P(right) 0.88, no close runner-up
        ("oos", _scored((2, 0.65), (1, 0.40))),  # unanswerable: P(right) 0.27
        ("b", _scored((1, 0.75), (2, 0.72))),  # P(right) 0.73, two close entries: buttons
    )]
    curve = coverage_risk(ranked, keys.__getitem__, _model_on_score(), sweep=(0.5, 0.7, 0.8, 0.9))
    third = round(1 / 3, 4)
    assert curve == [
        {"answer_threshold": 0.5, "resolved": 0.5, "wrong": third, "answered": round(2 / 3, 4),
         "clarify_offered": 0.0},
        {"answer_threshold": 0.7, "resolved": 0.5, "wrong": third, "answered": round(2 / 3, 4),
         "clarify_offered": 0.0},
        {"answer_threshold": 0.8, "resolved": 1.0, "wrong": 0.0, "answered": third,
         "clarify_offered": third},
        {"answer_threshold": 0.9, "resolved": 0.5, "wrong": 0.0, "answered": 0.0,
         "clarify_offered": third},
    ]


def _oos_queries(seed, n=12):
    rng = np.random.default_rng(seed)
    return [(" ".join(rng.choice(OOS_WORDS, 3, replace=False)), "oos") for _ in range(n)]


def test_evaluate_reports_issue_11_figures(tmp_path):
    kb = _write_jsonl(tmp_path / "kb.jsonl", _dataset(0))
    qpath = _write_jsonl(tmp_path / "q.jsonl", _dataset(1) + _oos_queries(2))
    report = evaluate(kb, qpath, embedder="hashing", work_dir=tmp_path)
    assert (report.answerable, report.out_of_scope) == (48, 12)
    assert report.wrong == report.wrong_answer_rate  # the same definition, two names
    assert report.clarify_offered == report.clarify_rate
    assert report.resolved >= report.in_scope_accuracy
    total = report.answered + report.clarify_offered + report.escalated
    assert total == pytest.approx(1.0, abs=1e-3)
    assert sum(row["count"] for row in report.reliability) == report.queries
    assert 0.0 <= report.ece <= 1.0
    assert [p["answer_threshold"] for p in report.coverage_risk] == list(SWEEP)
    answered = [p["answered"] for p in report.coverage_risk]
    wrong = [p["wrong"] for p in report.coverage_risk]
    assert answered == sorted(answered, reverse=True)  # a higher bar never answers more
    assert wrong == sorted(wrong, reverse=True)  # ... nor answers more wrongly
    assert 0.0 <= report.unanswerable_share <= 1.0 and report.at_start["wrong"] >= 0.0
    assert (report.shots, report.kb_entries, report.kb_questions) == (0, 6, len(set(_dataset(0))))


def test_evaluate_few_shots(tmp_path):
    kb = _write_jsonl(tmp_path / "kb.jsonl", _dataset(0))
    qpath = _write_jsonl(tmp_path / "q.jsonl", _dataset(1) + _oos_queries(2))
    three = evaluate(kb, qpath, embedder="hashing", work_dir=tmp_path, shots=3, seed=5)
    assert (three.kb_entries, three.kb_questions, three.short_labels) == (6, 18, {})
    assert three.calibration.get("error") is None
    # One question per entry: calibration cannot run; the product's defaults decide.
    one = evaluate(kb, qpath, embedder="hashing", work_dir=tmp_path, shots=1, seed=5)
    assert one.kb_questions == 6
    assert "too small to calibrate" in one.calibration["error"]
    assert one.thresholds["source"] == "default"
    many = evaluate(kb, qpath, embedder="hashing", work_dir=tmp_path, shots=50)
    assert many.kb_questions == len(set(_dataset(0)))
    assert set(many.short_labels) == set(TOPICS)


def test_evaluate_rejects_unknown_query_labels_with_line_numbers(tmp_path):
    kb = _write_jsonl(tmp_path / "kb.jsonl", _dataset(0))
    queries = _dataset(1)[:2] + [("where is my parcel", "tracking")] + _dataset(1)[2:4]
    queries += [("and my refund", "refunds")]
    qpath = _write_jsonl(tmp_path / "q.jsonl", queries)
    with pytest.raises(EvaluationError) as info:
        evaluate(kb, qpath, embedder="hashing", work_dir=tmp_path)
    message = str(info.value)
    assert "2 queries have a label the knowledge base lacks" in message
    assert "line 3: label 'tracking'" in message and "line 6: label 'refunds'" in message


def test_read_lines_rejects_empty_text_or_label(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "  ", "label": "a"}\n\n'
                    '{"text": "fine", "label": ""}\n{"text": "\\u200b", "label": "a"}\n')
    with pytest.raises(ImportRejected) as info:
        read_labelled(path)
    assert info.value.problems == ["line 2: empty text", "line 4: empty label",
                                   "line 5: empty text"]


def _cli(tmp_path, *args):
    import os
    import subprocess
    import sys
    from pathlib import Path

    supportbot = Path(sys.executable).parent / "supportbot"
    command = ([str(supportbot)] if supportbot.exists()
               else [sys.executable, "-m", "bot.commands.main"])
    env = {**os.environ, "SUPPORTBOT_VAR_DIR": str(tmp_path), "SUPPORTBOT_EMBEDDER": "hashing",
           "SUPPORTBOT_DATABASE_URL": "", "NO_COLOR": "1"}
    return subprocess.run(command + ["eval", *args], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)


def test_cli_eval_shots_and_bad_input(tmp_path):
    kb = _write_jsonl(tmp_path / "kb.jsonl", _dataset(0))
    qpath = _write_jsonl(tmp_path / "q.jsonl", _dataset(1) + _oos_queries(2))
    result = _cli(tmp_path, "--kb", str(kb), "--queries", str(qpath), "--shots", "2", "--seed", "3",
                  "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["shots"], report["seed"], report["kb_questions"]) == (2, 3, 12)
    assert {"resolved", "wrong", "clarify_offered", "clarify_hit", "escalated", "ece",
            "reliability", "coverage_risk"} <= set(report)
    text = _cli(tmp_path, "--kb", str(kb), "--queries", str(qpath), "--shots", "20")
    assert text.returncode == 0, text.stderr
    assert "6 labels had fewer than 20 questions" in text.stdout
    assert "coverage-risk" in text.stdout and "ECE" in text.stdout

    negative = _cli(tmp_path, "--kb", str(kb), "--queries", str(qpath), "--shots", "-1")
    missing = _cli(tmp_path, "--kb", str(tmp_path / "nope.jsonl"), "--queries", str(qpath))
    bad = _write_jsonl(tmp_path / "bad.jsonl", [("where is my parcel", "tracking")])
    unknown = _cli(tmp_path, "--kb", str(kb), "--queries", str(bad))
    for result, words in ((negative, ["--shots", "greater than or equal to 0"]),
                          (missing, ["nope.jsonl", "does not exist"]),
                          (unknown, ["line 1", "tracking"])):
        assert result.returncode != 0
        assert "Traceback" not in result.stderr + result.stdout, result.stderr
        for word in words:
            assert word in result.stderr, result.stderr
