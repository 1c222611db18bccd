"""`supportbot eval`: how well a knowledge base built from labelled questions answers,
clarifies and escalates. Every label of the KB file becomes one entry; queries
labelled `oos` must be escalated. Thresholds come from calibration on the KB
alone, never from the queries.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from core import Settings, dispose_all, session_scope
from knowledge.errors import ImportRejected
from knowledge.models import Entry, KBChange, Question
from knowledge.scoring import DecisionKind
from knowledge.service import KnowledgeBase
from knowledge.text import clean, fingerprint

OOS = "oos"


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

    def as_dict(self) -> dict:
        return asdict(self)


def read_labelled(path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs from JSON Lines; every bad line is reported at once."""
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
        if text and label:
            rows.append((text, label))
    if problems or not rows:
        raise ImportRejected(str(path), problems or ["no labelled questions in the file"])
    return rows


def build_kb(rows: list[tuple[str, str]], url: str, language: str) -> None:
    """Bulk-insert one entry per label (the eval KB can have tens of thousands of rows)."""
    grouped: dict[str, dict[str, str]] = defaultdict(dict)
    for text, label in rows:
        if label != OOS:
            grouped[label].setdefault(fingerprint(text), text)
    with session_scope(url) as session:
        for label, questions in grouped.items():
            entry = Entry(key=label, answer=f"[{label}]", language=language)
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
) -> EvalReport:
    from migrations import upgrade

    kb_rows, queries = read_labelled(kb_path), read_labelled(queries_path)
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        settings = Settings(var_dir=Path(tmp), database_url="", embedder=embedder,
                            hybrid_lexical=hybrid, max_question_chars=100_000)
        upgrade(settings.resolved_database_url)
        build_kb(kb_rows, settings.resolved_database_url, language)
        kb = KnowledgeBase(settings)
        kb.warm_up()
        calibration = kb.calibrate(target_wrong_rate=target_wrong_rate)
        decisions = [kb.search(text) for text, _ in queries]
        dispose_all()
    return score(queries, decisions, calibration.as_dict())


def score(queries, decisions, calibration: dict) -> EvalReport:
    truth = [label for _, label in queries]
    predicted = [d.candidates[0].key if d.kind is DecisionKind.ANSWER else OOS for d in decisions]
    in_scope = [i for i, t in enumerate(truth) if t != OOS]
    oos = [i for i, t in enumerate(truth) if t == OOS]
    clarified = [i for i, d in enumerate(decisions) if d.kind is DecisionKind.CLARIFY]
    hits = [i for i in clarified if truth[i] in {c.key for c in decisions[i].candidates}]
    wrong = [i for i, p in enumerate(predicted) if p != OOS and p != truth[i]]
    latencies = np.array([d.latency_ms for d in decisions])
    ratio = lambda part, whole: round(len(part) / len(whole), 4) if whole else 0.0  # noqa: E731
    return EvalReport(
        queries=len(queries),
        in_scope_accuracy=ratio([i for i in in_scope if predicted[i] == truth[i]], in_scope),
        oos_recall=ratio([i for i in oos if predicted[i] == OOS], oos),
        wrong_answer_rate=ratio(wrong, truth),
        clarify_rate=ratio(clarified, truth),
        clarify_hit_rate=ratio(hits, clarified),
        mcc=round(matthews(truth, predicted), 4),
        latency_ms_p50=round(float(np.percentile(latencies, 50)), 2),
        latency_ms_p95=round(float(np.percentile(latencies, 95)), 2),
        thresholds=calibration["thresholds"],
        calibration={k: v for k, v in calibration.items() if k != "thresholds"},
    )


def matthews(truth: list[str], predicted: list[str]) -> float:
    """Multi-class Matthews correlation (Gorodkin 2004); escalate and clarify count as 'oos'."""
    labels = {label: i for i, label in enumerate(sorted(set(truth) | set(predicted)))}
    confusion = np.zeros((len(labels), len(labels)))
    for t, p in zip(truth, predicted):
        confusion[labels[t], labels[p]] += 1
    c, s = np.trace(confusion), confusion.sum()
    p_k, t_k = confusion.sum(axis=0), confusion.sum(axis=1)
    denominator = np.sqrt((s**2 - p_k @ p_k) * (s**2 - t_k @ t_k))
    return float((c * s - t_k @ p_k) / denominator) if denominator else 0.0
