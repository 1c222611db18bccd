"""BM25 over question variants (bm25s), the lexical half of hybrid retrieval.

It catches what embeddings blur: product names, codes, rare words. bm25s has no
incremental update, so the index is rebuilt from the variants on change; at the
sizes where that matters, hybrid search is switched off by settings.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_ITALIAN

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_ITALIAN)


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold()) if w not in _STOP and len(w) > 1]


class LexicalIndex:
    def __init__(self) -> None:
        self._retriever: bm25s.BM25 | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def build(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        retriever = None
        if len(ids):
            retriever = bm25s.BM25()
            # bm25s needs at least one token per document; a placeholder keeps ids aligned.
            retriever.index([tokenize(t) or ["\u2205"] for t in texts], show_progress=False)
        with self._lock:
            self._retriever, self._ids = retriever, np.asarray(ids, dtype=np.int64)

    def search(self, text: str, k: int) -> dict[int, float]:
        """{variant id: BM25 score} for up to k variants sharing words with the text."""
        with self._lock:
            retriever, ids = self._retriever, self._ids
        tokens = tokenize(text)
        if retriever is None or not tokens:
            return {}
        docs, scores = retriever.retrieve([tokens], k=min(k, len(ids)), show_progress=False)
        return {int(ids[d]): float(s) for d, s in zip(docs[0], scores[0]) if s > 0}
