"""What a search needs beside the FAISS vectors, kept in step with them change by change:
variant -> entry, entry -> language and variants, the centroids of entries with several
questions, and the lexical (BM25) index.

A change (a learned answer, a variant joining its entry, an entry retired) costs what the
changed entries hold, never what the KB holds: the database is read for the changed
entries only (`repository.searchable_variants(entry_ids=...)`, by the caller), only the
questions not in the index yet are embedded and added, only the questions gone are
removed (a question's text never changes under its id: an edit removes one id and adds
another), and the BM25 statistics are updated in place (`knowledge.lexical`). What is
left that grows with the KB: FAISS's own add and remove on the exact index (an O(n) scan
of the ids, ~3 ms at 100k questions; above `approximate_index_threshold` the IVF index's
hash map makes it O(1)), and the periodic save of the index file, which the service runs
outside the search lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from knowledge.lexical import LexicalIndex
from knowledge.vector_index import VectorIndex

Row = tuple[int, int, str, str]  # (variant id, entry id, text, language)


class SearchMaps:
    """Mutated only under the service's sync lock, and swapped in under its search lock."""

    def __init__(self, *, lexical: bool) -> None:
        self.use_lexical = lexical
        self.entry_of = np.full(0, -1, dtype=np.int64)
        self.language: dict[int, str] = {}
        self.variants: dict[int, list[int]] = {}
        self.centroids: dict[int, np.ndarray] = {}
        self.lexical = LexicalIndex()
        self._entries_in: Counter[str] = Counter()  # language -> entries: no O(KB) recount
        self._languages: frozenset[str] | None = None

    def languages(self) -> frozenset[str]:
        """The entries' languages: every search asks, and the KB may have 100,000s of entries."""
        if self._languages is None:
            self._languages = frozenset(k for k, n in self._entries_in.items() if n > 0)
        return self._languages

    def reset(self, index: VectorIndex, rows: Sequence[Row], vectors: np.ndarray | None = None
              ) -> None:
        """Rebuild everything from `rows`; vectors come from `vectors` or the index."""
        self.entry_of = np.full(0, -1, dtype=np.int64)
        self.language, self.variants, self.centroids = {}, {}, {}
        self._entries_in = Counter()
        self._map(rows)
        position = {r[0]: i for i, r in enumerate(rows)} if vectors is not None else None
        for entry_id, variant_ids in self.variants.items():
            if len(variant_ids) > 1:
                if position is None:
                    self._set_centroid(entry_id, index.vectors_of(variant_ids))
                else:
                    self._set_centroid(entry_id, vectors[[position[v] for v in variant_ids]])
        if self.use_lexical:
            self.lexical.build([r[0] for r in rows], [r[2] for r in rows])

    def fresh(self, rows: Sequence[Row]) -> list[Row]:
        """The rows whose question is not in the index yet: the only ones to embed."""
        entry_of = self.entry_of
        return [r for r in rows if not (r[0] < len(entry_of) and entry_of[r[0]] == r[1])]

    def apply(self, index: VectorIndex, changed: set[int], rows: Sequence[Row],
              fresh: Sequence[Row], vectors: np.ndarray | None) -> None:
        """The changed entries now hold `rows` (their published questions); `fresh` of them
        are new, `vectors` theirs."""
        current = {r[0] for r in rows}
        old = [v for e in changed for v in self.variants.pop(e, [])]
        gone = np.array([v for v in old if v not in current], dtype=np.int64)
        index.remove(gone)
        if len(gone):
            self.entry_of[gone] = -1
        for entry_id in changed:
            if (language := self.language.pop(entry_id, None)) is not None:
                self._entries_in[language] -= 1
            self.centroids.pop(entry_id, None)
        self._languages = None
        if fresh:
            index.add(np.array([r[0] for r in fresh], dtype=np.int64), vectors)
        self._map(rows)
        if self.use_lexical:
            self.lexical.update(removed=gone.tolist(), added=[(r[0], r[2]) for r in fresh])
        for entry_id in {r[1] for r in rows}:
            if len(self.variants[entry_id]) > 1:
                self._set_centroid(entry_id, index.vectors_of(self.variants[entry_id]))

    def _map(self, rows: Sequence[Row]) -> None:
        if rows:
            top = max(r[0] for r in rows)
            if top >= len(self.entry_of):
                grown = np.full(max(top + 1, 2 * len(self.entry_of)), -1, dtype=np.int64)
                grown[: len(self.entry_of)] = self.entry_of
                self.entry_of = grown
        for variant_id, entry_id, _text, language in rows:
            self.entry_of[variant_id] = entry_id
            if entry_id not in self.variants:  # an entry's questions share its language
                self.variants[entry_id] = []
                self.language[entry_id] = language
                self._entries_in[language] += 1
            self.variants[entry_id].append(variant_id)
        self._languages = None

    def _set_centroid(self, entry_id: int, vectors: np.ndarray) -> None:
        centroid = vectors.mean(axis=0)
        self.centroids[entry_id] = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
