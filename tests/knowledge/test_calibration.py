import numpy as np
import pytest

from knowledge.calibration import Probe, choose_thresholds, collect_probes


def synthetic_probes(seed=0, n_in=600, n_oos=300):
    rng = np.random.default_rng(seed)
    probes = []
    for _ in range(n_in):
        first = float(np.clip(rng.normal(0.78, 0.08), 0, 1))
        correct = bool(rng.random() < 0.9 if first > 0.7 else rng.random() < 0.6)
        second = float(first - abs(rng.normal(0.06 if correct else 0.02, 0.03)))
        probes.append(Probe(True, first, second, correct))
    for _ in range(n_oos):
        first = float(np.clip(rng.normal(0.58, 0.08), 0, 1))
        probes.append(Probe(False, first, float(first - abs(rng.normal(0.02, 0.02))), False))
    return probes


def wrong_rate(probes, t, oos_share):
    ins = [p for p in probes if p.in_scope]
    oos = [p for p in probes if not p.in_scope]
    answered = lambda p: p.first >= t.answer and p.first - p.second >= t.margin  # noqa: E731
    wrong_in = np.mean([answered(p) and not p.correct for p in ins])
    wrong_oos = np.mean([answered(p) for p in oos])
    return (1 - oos_share) * wrong_in + oos_share * wrong_oos


@pytest.mark.parametrize("target", [0.02, 0.05, 0.1])
def test_thresholds_respect_target(target):
    probes = synthetic_probes()
    report = choose_thresholds(probes, target_wrong_rate=target, oos_share=0.2)
    t = report.thresholds
    assert t.source == "calibrated"
    assert t.clarify <= t.answer
    assert report.expected_wrong_rate <= target + 1e-9
    assert wrong_rate(probes, t, 0.2) <= target + 1e-9
    assert report.in_scope_probes == 600 and report.out_of_scope_probes == 300
    assert 0 < report.expected_answer_rate <= 1


def test_stricter_target_does_not_lower_answer_threshold():
    # Runner-ups far below the best: the margin never binds, so only the threshold moves.
    probes = [Probe(p.in_scope, p.first, 0.0, p.correct) for p in synthetic_probes(seed=1)]
    previous = None
    for target in (0.15, 0.10, 0.05, 0.02, 0.01):
        report = choose_thresholds(probes, target_wrong_rate=target, oos_share=0.2)
        if previous is not None:
            assert report.thresholds.answer >= previous.thresholds.answer
            assert report.expected_answer_rate <= previous.expected_answer_rate
        previous = report


def test_stricter_target_never_answers_more():
    # With margins in play the threshold may trade against the margin, but coverage and
    # the wrong-answer rate must still move with the target.
    probes = synthetic_probes(seed=1)
    loose = choose_thresholds(probes, target_wrong_rate=0.10, oos_share=0.2)
    strict = choose_thresholds(probes, target_wrong_rate=0.02, oos_share=0.2)
    assert strict.expected_answer_rate <= loose.expected_answer_rate
    assert wrong_rate(probes, strict.thresholds, 0.2) <= 0.02 + 1e-9


def test_separable_probes_answer_everything_in_scope():
    probes = [Probe(True, 0.9, 0.3, True)] * 50 + [Probe(False, 0.4, 0.35, False)] * 50
    report = choose_thresholds(probes, target_wrong_rate=0.01, oos_share=0.5)
    assert 0.4 < report.thresholds.answer <= 0.9
    assert report.expected_answer_rate == 1.0 and report.expected_wrong_rate == 0.0


def test_impossible_target_answers_nothing():
    probes = [Probe(True, 0.8, 0.1, False)] * 20 + [Probe(False, 0.8, 0.1, False)] * 20
    report = choose_thresholds(probes, target_wrong_rate=0.01, oos_share=0.2)
    assert report.thresholds.answer > 0.8 and report.expected_answer_rate == 0.0


def test_needs_both_kinds_of_probes():
    with pytest.raises(ValueError):
        choose_thresholds([Probe(True, 0.9, 0.1, True)], target_wrong_rate=0.05, oos_share=0.2)
    with pytest.raises(ValueError):
        choose_thresholds([], target_wrong_rate=0.05, oos_share=0.2)


def test_collect_probes_on_clustered_vectors():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(10, 16))
    entry_of, vectors = [], []
    for e, c in enumerate(centers):
        for _ in range(8):
            entry_of.append(e)
            vectors.append(c + rng.normal(scale=0.1, size=16))
    vectors = np.array(vectors, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    probes = collect_probes(np.array(entry_of), vectors, [f"t{i}" for i in range(len(vectors))])
    ins = [p for p in probes if p.in_scope]
    oos = [p for p in probes if not p.in_scope]
    assert ins and oos
    assert all(not p.correct for p in oos)
    assert np.mean([p.correct for p in ins]) >= 0.9
    assert np.mean([p.first for p in ins]) > np.mean([p.first for p in oos])
    assert collect_probes(np.array([0, 0, 1]), vectors[:3], ["a", "b", "c"]) == []
