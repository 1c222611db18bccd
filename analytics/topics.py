"""Topics of customer questions: k-means over their embeddings, named by c-TF-IDF keywords,
counted per ISO week to show marketing what grows.

Clustering runs in FAISS (spherical k-means: the vectors are unit length, so cosine is what
separates them). Text never enters FAISS; a topic keeps a few example questions for people.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MAX_K = 40  # more topics than a marketing dashboard can show on one screen helps nobody
_SAMPLE = 2000  # silhouette is quadratic; a sample this size picks the same k in practice
_WORD = re.compile(r"[^\W\d_]{2,}")  # letters only: order numbers and prices are no topic

# Function words and chat filler in both languages; they would top every cluster's list.
STOP_WORDS = frozenset("""
a ad al alla alle allo ai agli anche ancora avete avere c che chi ci come con cosa cui da dal
dalla dalle dai degli dei del della delle dello dell di dopo dove e ed è era essere fa fare gli
ha hai ho il in io la le lei li lo loro lui ma mi mia mie miei mio ne nei nel nella nelle nello
no non noi o per perché più poi posso può qual quale quali quando quanto quanta quanti quante
quello questa questo se sei si sia siete sono su sua sue sui sul sulla suo suoi te ti tra tu
tua tuo un una uno vi voi vorrei volevo qualcosa sapere ciao salve buongiorno buonasera grazie
per favore ok allora tutto tutti ecco già solo sempre mai cè ce po nn ke cm x scusate scusa
a about after again all am an and any are as at be been before but by can could did do does
doing don down for from get got had has have having he her here hi hello hey his how i if in
into is it its just me more my no not now of off on once only or other our out over please
same she should so some such than thanks thank that the their them then there these they this
those to too under until up very want was we were what when where which while who why will
with would you your yours im ive id dont cant u ur pls thx sorry
isn hasn haven didn doesn wasn won aren
""".split())


@dataclass(frozen=True, eq=False)
class Topic:
    id: int
    keywords: tuple[str, ...]
    size: int
    examples: tuple[str, ...]  # the questions nearest the centroid, for a human to read
    centroid: np.ndarray = field(repr=False)


def cluster(vectors: np.ndarray, texts: Sequence[str], *, k: int | None = None, seed: int = 0,
            n_keywords: int = 5, n_examples: int = 3) -> list[Topic]:
    """Topics of `texts` from their unit vectors, largest first, ids 0..n-1; k=None picks k
    by silhouette. The caller embeds (benchmarks time this part alone)."""
    n = len(texts)
    if n == 0:
        return []
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    k = choose_k(vectors, seed=seed) if k is None else max(1, min(k, n))
    centroids, labels = kmeans(vectors, k, seed=seed)
    keywords = ctfidf_keywords(texts, labels, k, n_keywords)
    topics = []
    for c in sorted(range(k), key=lambda c: (-int((labels == c).sum()), c)):
        members = np.flatnonzero(labels == c)
        if members.size == 0:  # k-means may leave a centroid without members
            continue
        nearest = members[np.argsort(-(vectors[members] @ centroids[c]))[:n_examples]]
        topics.append(Topic(len(topics), keywords[c], int(members.size),
                            tuple(texts[i] for i in nearest), centroids[c]))
    return topics


def kmeans(vectors: np.ndarray, k: int, *, seed: int = 0, niter: int = 20, nredo: int = 3
           ) -> tuple[np.ndarray, np.ndarray]:
    """Unit centroids (k, d) and each vector's cluster. Best of `nredo` starts: one start
    often merges two true groups and splits a third, which also misleads the choice of k."""
    import faiss

    if k <= 1:
        centroid = vectors.mean(axis=0)
        return (centroid / max(np.linalg.norm(centroid), 1e-12))[None, :], np.zeros(
            len(vectors), dtype=np.int64)
    km = faiss.Kmeans(vectors.shape[1], k, niter=niter, seed=seed, spherical=True,
                      nredo=nredo, verbose=False, min_points_per_centroid=1)
    km.train(vectors)
    _, labels = km.index.search(vectors, 1)
    return km.centroids, labels[:, 0].astype(np.int64)


def choose_k(vectors: np.ndarray, *, seed: int = 0, max_k: int = MAX_K) -> int:
    """The k in 2..cap with the best cosine silhouette on a sample. The cap, 2*sqrt(n/2),
    keeps k near the usual rule of thumb when the silhouette is flat (as on real text)."""
    n = len(vectors)
    if n < 4:
        return n
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(n, _SAMPLE, replace=False)] if n > _SAMPLE else vectors
    cap = min(max_k, len(sample) // 2, max(2, int(2 * math.sqrt(n / 2))))
    distances = 1.0 - sample @ sample.T
    scores = {k: silhouette(distances, kmeans(sample, k, seed=seed)[1])
              for k in range(2, cap + 1)}
    return max(scores, key=lambda k: (round(scores[k], 3), -k))  # ties: fewer topics


def silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette from a full distance matrix; points alone in a cluster score 0."""
    onehot = np.eye(labels.max() + 1, dtype=np.float32)[labels]
    counts = onehot.sum(axis=0)
    sums = distances @ onehot  # (n, k): summed distance of each point to each cluster
    own = counts[labels]
    a = sums[np.arange(len(labels)), labels] / np.maximum(own - 1, 1)
    means = sums / np.maximum(counts, 1)
    means[np.arange(len(labels)), labels] = np.inf
    means[:, counts == 0] = np.inf
    b = means.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold().replace("’", "'")) if w not in STOP_WORDS]


def ctfidf_keywords(texts: Sequence[str], labels: np.ndarray, k: int, n: int = 5
                    ) -> list[tuple[str, ...]]:
    """Class-based TF-IDF (as in BERTopic): each cluster is one document; a word ranks high
    when frequent in its cluster and rare across clusters."""
    per_cluster = [Counter() for _ in range(k)]
    for text, label in zip(texts, labels, strict=True):
        per_cluster[int(label)].update(tokens(text))
    totals = Counter()
    for counts in per_cluster:
        totals.update(counts)
    average = sum(totals.values()) / max(k, 1)
    out = []
    for counts in per_cluster:
        size = max(sum(counts.values()), 1)
        scored = {w: (c / size) * math.log(1 + average / totals[w]) for w, c in counts.items()}
        out.append(tuple(sorted(scored, key=lambda w: (-scored[w], w))[:n]))
    return out


def emerging(trend: dict[int, dict[str, int]], *, weeks: int = 4, min_growth: float = 2.0,
             min_count: int = 5) -> list[int]:
    """Topics whose count in the last week is at least `min_count` and at least `min_growth`
    times their mean over the `weeks` weeks before it, strongest growth first. A topic with
    no earlier questions qualifies on `min_count` alone: it is new."""
    all_weeks = sorted({w for counts in trend.values() for w in counts})
    if not all_weeks:
        return []
    last, previous = all_weeks[-1], all_weeks[-1 - weeks : -1]
    growth = {}
    for topic, counts in trend.items():
        now = counts.get(last, 0)
        base = sum(counts.get(w, 0) for w in previous) / len(previous) if previous else 0.0
        if now >= min_count and now >= min_growth * base:
            growth[topic] = now / base if base else math.inf
    return sorted(growth, key=lambda t: (-growth[t], t))
