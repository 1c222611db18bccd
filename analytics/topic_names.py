"""Marketing's own topic names and merges, kept across the weekly re-clustering.

Topics are found again every week (analytics.insights) and get new ids each time, so a
name or a merge cannot be stored against an id. It is stored against the topic's centre
(its unit centroid, as bytes) instead: in every later run, the topic whose centre is
nearest the stored one, at cosine `MATCH` or more, inherits it. The same questions
clustered again land on (nearly) the same centre; a topic that has really drifted away
loses its custom name rather than lending it to an unrelated group. A merge stores the
centres of both topics: when both still match two distinct topics of the run, the second
counts under the first. Nothing is rewritten in `question_insights`: merges are applied
when the dashboard reads, so undoing one (deleting its row) is instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.models import QuestionTopic, TopicOverride
from analytics.period import AnalyticsError
from core.text import drop_controls

MATCH = 0.8  # cosine between a stored centre and a topic of a newer run
MAX_NAME = 120


@dataclass(frozen=True)
class TopicMap:
    """How the current run's topics are shown: their names and what counts under what."""

    names: dict[int, str] = field(default_factory=dict)  # topic id -> marketing's name
    kept: dict[int, int] = field(default_factory=dict)  # topic id -> the topic it counts under

    def root(self, topic_id: int) -> int:
        return self.kept.get(topic_id, topic_id)

    def members(self, topic_id: int) -> list[int]:
        """The topic and those merged into it, itself first."""
        root = self.root(topic_id)
        return [root] + sorted(t for t, kept in self.kept.items() if kept == root and t != root)


def _vector(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.float32)


def _matcher(topics: Sequence[QuestionTopic]):
    ids = [t.id for t in topics]
    centroids = np.vstack([_vector(t.centroid) for t in topics]) if topics else None

    def match(raw: bytes | None) -> int | None:
        if centroids is None or raw is None:
            return None
        vector = _vector(raw)
        if vector.shape[0] != centroids.shape[1]:
            return None
        similarity = centroids @ vector
        best = int(similarity.argmax())
        return ids[best] if similarity[best] >= MATCH else None

    return match


def topic_map(session: Session, topics: Sequence[QuestionTopic]) -> TopicMap:
    """Apply the stored names and merges to `topics` (one run): the newest name of a topic
    wins; merges apply oldest first, each joining the groups its two topics are in."""
    if not topics:
        return TopicMap()
    embedder = topics[0].embedder
    overrides = session.scalars(select(TopicOverride).where(TopicOverride.embedder == embedder)
                                .order_by(TopicOverride.id)).all()
    match = _matcher(topics)
    names: dict[int, str] = {}
    parent: dict[int, int] = {}

    def find(topic_id: int) -> int:
        while parent.get(topic_id, topic_id) != topic_id:
            topic_id = parent[topic_id]
        return topic_id

    for override in overrides:
        own = match(override.centroid)
        if own is None:
            continue
        if override.kind == "name":
            names[own] = override.name  # later rows overwrite earlier ones
        elif (kept := match(override.target)) is not None and find(kept) != find(own):
            parent[find(own)] = find(kept)
    kept = {t.id: find(t.id) for t in topics if find(t.id) != t.id}
    # "" (the newest name of a topic) gives its automatic name back
    return TopicMap({t: n for t, n in names.items() if n and find(t) == t}, kept)


def clean_name(name: str) -> str:
    """One line, no control characters, at most `MAX_NAME` characters; "" restores the
    automatic name."""
    return " ".join(drop_controls(name or "").split())[:MAX_NAME]


def rename(session: Session, topic: QuestionTopic, name: str, *, by: str = "") -> None:
    session.add(TopicOverride(kind="name", embedder=topic.embedder, centroid=topic.centroid,
                              name=clean_name(name), created_by=by[:320]))
    session.flush()


def merge(session: Session, keep: QuestionTopic, other: QuestionTopic, *, by: str = "") -> None:
    """Count `other`'s questions under `keep` from now on, in this run and the next ones."""
    if keep.id == other.id or keep.run != other.run:
        raise AnalyticsError("a topic can be merged only with another topic of the same run")
    session.add(TopicOverride(kind="merge", embedder=keep.embedder, centroid=other.centroid,
                              target=keep.centroid, created_by=by[:320]))
    session.flush()


def split(session: Session, topics: Sequence[QuestionTopic], topic_id: int) -> int:
    """Undo the merges that joined `topic_id` to others; how many were undone."""
    match = _matcher(topics)
    gone = 0
    for override in session.scalars(select(TopicOverride).where(TopicOverride.kind == "merge")):
        if topic_id in (match(override.centroid), match(override.target)):
            session.delete(override)
            gone += 1
    session.flush()
    return gone
