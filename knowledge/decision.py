"""What a search decides (answer, clarify, escalate) and the entries it decided on: the
knowledge base's answer to a question, as the assistant and the API receive it."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.scoring import DecisionKind


@dataclass(frozen=True)
class Candidate:
    entry_id: int
    key: str
    score: float
    matched_question: str
    answer: str
    language: str
    category: str
    topic: str

    @classmethod
    def of(cls, entry_id: int, score: float, entry, matched_question: str) -> Candidate:
        """From a stored entry (`knowledge.models.Entry`) and the question that matched."""
        return cls(entry_id=entry_id, key=entry.key, score=score,
                   matched_question=matched_question, answer=entry.answer,
                   language=entry.language, category=entry.category.value, topic=entry.topic)


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    question: str
    candidates: tuple[Candidate, ...]  # answer: 1; clarify: 2-3; escalate: what was considered
    language: str | None
    latency_ms: float
    kb_version: int
    confidence: float | None = None  # P(the best entry is right); None: default thresholds
    model_version: int = 0  # the confidence model that decided; 0: default thresholds

    @property
    def entry(self) -> Candidate | None:
        return self.candidates[0] if self.kind is DecisionKind.ANSWER else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0
