"""The knowledge base: entries with question variants, embeddings, FAISS and BM25
retrieval, the answer/clarify/escalate decision, calibration, import and export."""

from knowledge.decision import Candidate, Decision
from knowledge.errors import (
    EntryNotFound,
    ImportRejected,
    InvalidEntry,
    InvalidQuestion,
    KnowledgeError,
)
from knowledge.repository import EntryDraft
from knowledge.scoring import DecisionKind, Thresholds
from knowledge.service import KnowledgeBase

__all__ = [
    "Candidate",
    "Decision",
    "DecisionKind",
    "EntryDraft",
    "EntryNotFound",
    "ImportRejected",
    "InvalidEntry",
    "InvalidQuestion",
    "KnowledgeBase",
    "KnowledgeError",
    "Thresholds",
]
