"""`supportbot eval`: how well a knowledge base built from labelled questions answers,
clarifies and escalates. Every label of the KB file becomes one entry; queries
labelled `oos` must be escalated. The confidence model is trained on the KB alone
(and the bundled bank), never on the queries' labels; as in a deployment, the share of
unanswerable questions is then estimated from the questions asked (the queries, unlabelled,
stand for the log). The figures a new deployment would see before any log are reported too
(`at_start`). `shots` keeps K questions per label (a small FAQ).
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

from core import Settings, dispose_all, session_scope
from knowledge.confidence import ConfidenceModel
from knowledge.embedders import Embedder
from knowledge.errors import CalibrationImpossible, ImportRejected, KnowledgeError
from knowledge.eval_curves import (
    OOS,
    Outcome,
    coverage_risk,
    decide_all,
    outcome_of,
    outcome_rates,
    reliability,
    share,
)
from knowledge.models import Entry, KBChange, Question
from knowledge.scoring import DecisionKind, decide
from knowledge.service import KnowledgeBase
from knowledge.text import clean, fingerprint


class EvaluationError(KnowledgeError):
    """The evaluation cannot run as asked (bad shots, queries the KB cannot label)."""


@dataclass(frozen=True)
class EvalReport:
    queries: int
    in_scope_accuracy: float
    oos_recall: float
    wrong_answer_rate: float
    clarify_rate: float
    clarify_hit_rate: float  # clarify offers that contained the right entry
    mcc: float
    latency_ms_p50: float
    latency_ms_p95: float
    thresholds: dict
    calibration: dict
    # Issue 11's figures: see knowledge.eval_curves for their definitions.
    answerable: int
    out_of_scope: int
    resolved: float
    wrong: float
    answered: float
    clarify_offered: float
    clarify_hit: float
    escalated: float
    ece: float
    unanswerable_share: float  # estimated from the queries, unlabelled
    at_start: dict  # the outcome rates with the assumed share, before any log
    reliability: list
    coverage_risk: list
    shots: int  # 0 = every question of the KB file
    seed: int
    kb_entries: int
    kb_questions: int
    short_labels: dict  # label -> questions kept, for labels with fewer than `shots`

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Labelled:
    line: int
    text: str
    label: str


def read_lines(path: Path) -> list[Labelled]:
    """Labelled questions with their line numbers; every bad line is reported at once.
    Blank lines are skipped (a trailing newline is common); a record with an empty text or
    label is an error, never silently dropped."""
    rows, problems = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRejected(str(path), [f"cannot read the file as UTF-8: {exc}"]) from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text, label = clean(str(record["text"])), str(record["label"]).strip()
        except (json.JSONDecodeError, KeyError, TypeError):
            problems.append(f"line {number}: expected {{\"text\": ..., \"label\": ...}}")
            continue
        if not text or not label:
            problems.append(f"line {number}: empty {'text' if not text else 'label'}")
            continue
        rows.append(Labelled(number, text, label))
    if problems or not rows:
        raise ImportRejected(str(path), problems or ["no labelled questions in the file"])
    return rows


def read_labelled(path: Path) -> list[tuple[str, str]]:
    return [(r.text, r.label) for r in read_lines(path)]


def keep_shots(rows: list[tuple[str, str]], shots: int,
               seed: int) -> tuple[list[tuple[str, str]], dict]:
    """At most `shots` distinct questions per label (0 = all), drawn with `seed`. Each label
    draws from its own generator, so adding a label never changes another's sample.
    Returns the kept rows (in file order) and {label: kept} for labels that had fewer."""
    if shots < 0:
        raise EvaluationError(f"shots must be 0 (every question) or more, not {shots}")
    distinct: dict[str, dict[str, int]] = defaultdict(dict)  # label -> fingerprint -> row
    for i, (text, label) in enumerate(rows):
        if label != OOS:
            distinct[label].setdefault(fingerprint(text), i)
    if shots == 0:
        return [rows[i] for q in distinct.values() for i in q.values()], {}
    kept, short = [], {}
    for label in sorted(distinct):
        candidates = sorted(distinct[label].values())
        if len(candidates) < shots:
            short[label] = len(candidates)
        kept += random.Random(f"{seed}:{label}").sample(candidates, min(shots, len(candidates)))
    return [rows[i] for i in sorted(kept)], short


def check_labels(queries: list[Labelled], kb_labels: set[str], path: Path) -> None:
    unknown = [q for q in queries if q.label != OOS and q.label not in kb_labels]
    if unknown:
        listed = "\n".join(f"  - line {q.line}: label {q.label!r}" for q in unknown[:50])
        more = f"\n  ... and {len(unknown) - 50} more" if len(unknown) > 50 else ""
        raise EvaluationError(
            f"{path}: {len(unknown)} queries have a label the knowledge base lacks "
            f"(label questions it must not answer 'oos'):\n{listed}{more}")


def build_kb(rows: list[tuple[str, str]], url: str, language: str,
             answers: dict[str, str] | None = None) -> None:
    """Bulk-insert one entry per label (the eval KB can have tens of thousands of rows);
    its answer is `answers[label]` when given, else a placeholder naming the label."""
    grouped: dict[str, dict[str, str]] = defaultdict(dict)
    for text, label in rows:
        if label != OOS:
            grouped[label].setdefault(fingerprint(text), text)
    with session_scope(url) as session:
        for label, questions in grouped.items():
            entry = Entry(key=label, answer=(answers or {}).get(label, f"[{label}]"),
                          language=language)
            session.add(entry)
            session.flush()
            session.execute(insert(Question), [
                {"entry_id": entry.id, "text": t, "fingerprint": f} for f, t in questions.items()
            ])
            session.add(KBChange(entry_id=entry.id))


def evaluate(
    kb_path: Path,
    queries_path: Path,
    *,
    embedder: str,
    language: str = "other",
    hybrid: bool = True,
    target_wrong_rate: float | None = None,
    work_dir: Path | None = None,
    shots: int = 0,
    seed: int = 0,
    model: Embedder | None = None,
    query_language: str | None = None,
) -> EvalReport:
    """`language`: the KB's entries' language; `query_language`: the queries' (as the chat
    would have detected it; None: not known). `model` lets a benchmark reuse one loaded
    embedder across many runs."""
    from migrations import upgrade

    kb_rows, short = keep_shots(read_labelled(kb_path), shots, seed)
    queries = read_lines(queries_path)
    check_labels(queries, {label for _, label in kb_rows}, queries_path)
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        languages = sorted({language, query_language or language} - {"other"}) or ["it", "en"]
        settings = Settings(var_dir=Path(tmp), database_url="", embedder=embedder,
                            hybrid_lexical=hybrid, max_question_chars=100_000, languages=languages)
        if target_wrong_rate is not None:
            settings = settings.model_copy(update={"wrong_answer_budget": target_wrong_rate})
        upgrade(settings.resolved_database_url)
        build_kb(kb_rows, settings.resolved_database_url, language)
        kb = KnowledgeBase(settings, model)
        kb.warm_up()
        try:
            start, calibrated, calibration = _calibrate(kb, queries, query_language)
            outcomes, ranked, key_of, latencies = _run(kb, queries, query_language, calibrated)
            at_start = outcome_rates(decide_all(ranked, key_of.__getitem__, start)) if start else {}
        finally:
            dispose_all()
    rates = outcome_rates(outcomes)
    figures = {**_legacy(outcomes, latencies, rates), **rates}
    table, ece = reliability(outcomes)
    curve = coverage_risk(ranked, key_of.__getitem__, calibrated) if calibrated else []
    return EvalReport(
        **figures, thresholds=asdict(kb.thresholds()) if calibrated is None else {},
        calibration=calibration, ece=ece, reliability=table, coverage_risk=curve,
        unanswerable_share=calibrated.unanswerable_share if calibrated else 0.0,
        at_start=at_start, shots=shots, seed=seed,
        kb_entries=len({label for _, label in kb_rows}), kb_questions=len(kb_rows),
        short_labels=short,
    )


def _calibrate(kb: KnowledgeBase, queries: list[Labelled], query_language: str | None
               ) -> tuple[ConfidenceModel | None, ConfidenceModel | None, dict]:
    """(the model trained on the KB alone, as a new shop starts; the one that has also
    seen the queries, as after a while in production; what the second one is), each for
    `query_language`. Too small a KB: (None, None, why), and the default thresholds."""
    try:
        start = kb.calibrate()
        calibrated = kb.calibrate(
            recent_questions=[(q.text, query_language or "") for q in queries])
    except CalibrationImpossible as exc:  # the product keeps its default thresholds
        return None, None, {"error": str(exc)}
    calibration = {k: getattr(calibrated, k) for k in (
        "version", "answer_at", "clarify_at", "budget", "unanswerable_share", "expected")}
    return (start.for_language(query_language, kb.languages()),
            calibrated.for_language(query_language, kb.languages()), calibration)


def _run(kb: KnowledgeBase, queries: list[Labelled], language: str | None,
         model: ConfidenceModel | None):
    """Search every query as the product does; keep each one's ranked entries and features
    for the sweep (re-running the decision with `model`, the one deciding questions in
    `language`, must give the product's own)."""
    with session_scope(kb.url) as session:
        key_of = dict(session.execute(select(Entry.id, Entry.key)).all())
    outcomes, ranked, latencies = [], [], []
    for query in queries:
        decision = kb.search(query.text, language=language)
        x, scored = kb.features(decision.question, language=language)  # the embedding is cached
        if model is None:
            kind, chosen = decide(scored, kb.thresholds())
            confidence = None
        else:
            kind, chosen, confidence = model.decide_on(scored, x)
        if kind is not decision.kind:
            raise RuntimeError(f"line {query.line}: re-scoring disagrees with the search "
                               f"({kind} vs {decision.kind}); the sweep would not be the product's")
        outcomes.append(outcome_of(query.label, kind, chosen, scored, key_of.__getitem__,
                                   confidence))
        ranked.append((query.label, scored, x))
        latencies.append(decision.latency_ms)
    return outcomes, ranked, key_of, latencies


def _legacy(outcomes: list[Outcome], latencies: list[float], rates: dict) -> dict:
    """The figures `eval` reported before issue 11, unchanged in meaning (three of them are
    the outcome rates under their old names)."""
    truth = [o.truth for o in outcomes]
    predicted = [o.offered[0] if o.kind is DecisionKind.ANSWER else OOS for o in outcomes]
    in_scope = [i for i, t in enumerate(truth) if t != OOS]
    oos = [i for i, t in enumerate(truth) if t == OOS]
    ms = np.array(latencies)
    return {
        "queries": len(outcomes),
        "in_scope_accuracy": share(sum(predicted[i] == truth[i] for i in in_scope), len(in_scope)),
        "oos_recall": share(sum(predicted[i] == OOS for i in oos), len(oos)),
        "wrong_answer_rate": rates["wrong"],
        "clarify_rate": rates["clarify_offered"],
        "clarify_hit_rate": rates["clarify_hit"],
        "mcc": round(matthews(truth, predicted), 4),
        "latency_ms_p50": round(float(np.percentile(ms, 50)), 2),
        "latency_ms_p95": round(float(np.percentile(ms, 95)), 2),
    }


def matthews(truth: list[str], predicted: list[str]) -> float:
    """Multi-class Matthews correlation (Gorodkin 2004); escalate and clarify count as 'oos'."""
    labels = {label: i for i, label in enumerate(sorted(set(truth) | set(predicted)))}
    confusion = np.zeros((len(labels), len(labels)))
    for t, p in zip(truth, predicted, strict=True):
        confusion[labels[t], labels[p]] += 1
    c, s = np.trace(confusion), confusion.sum()
    p_k, t_k = confusion.sum(axis=0), confusion.sum(axis=1)
    denominator = np.sqrt((s**2 - p_k @ p_k) * (s**2 - t_k @ t_k))
    return float((c * s - t_k @ p_k) / denominator) if denominator else 0.0
