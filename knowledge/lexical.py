"""BM25 over question variants, the lexical half of hybrid retrieval, updated in place.

It catches what embeddings blur: product names, codes, rare words.

Why not bm25s any more (it built this index before): bm25s precomputes the score of
every (word, question) pair, which bakes the corpus statistics (number of questions,
document frequencies, average length) into its matrix, so one learned question meant
re-reading the whole KB and rebuilding (seconds at 1M questions, on every change). This
index keeps raw term frequencies and lengths and applies the statistics at query time,
so a change touches only the changed questions.

The scores stay exactly those of a fresh build, after any sequence of changes: the
formula and parameters are bm25s's default (Lucene BM25, k1 = 1.5, b = 0.75; a query
word given twice counts twice; a question without words counts as one token, as the
placeholder the old index gave it), and the statistics are integer counters kept exact
on every add and remove: N (live questions), the sum of their lengths (so avgdl =
sum / N) and each word's document frequency. idf and avgdl are computed from them at
query time. Removed questions are tombstoned (their postings stay, masked out as dead)
and compacted away: one word's postings when more than half are dead, the whole index
(from the stored term ids, without re-tokenising or reading the database) when more than
half its slots are dead. Both are amortised O(1) per change. A full build happens only
at start and on reindex.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_ITALIAN

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_ITALIAN)
K1, B = 1.5, 0.75  # bm25s's defaults, which the confidence models were calibrated with
_MIN_COMPACT = 1024  # dead slots tolerated before a whole compaction is considered
_CACHE_POSTINGS = 256  # words in at least this many questions keep their scores between changes
_COVER_QUESTIONS = 256  # an entry's first questions (by id) whose words `uncovered_share` reads


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold()) if w not in _STOP and len(w) > 1]


class _Growable:
    """A numpy array with amortised O(1) append (capacity doubles)."""

    __slots__ = ("data", "size")

    def __init__(self, dtype, values: np.ndarray | None = None) -> None:
        self.data = np.zeros(8, dtype=dtype) if values is None else np.asarray(values, dtype=dtype)
        self.size = 0 if values is None else len(values)

    def append(self, values: Sequence) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.zeros(max(end, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end

    def view(self) -> np.ndarray:
        return self.data[: self.size]


class _Postings:
    """One word's (slot, term frequency) pairs; `df` counts the live ones."""

    __slots__ = ("slots", "tfs", "df")

    def __init__(self, slots: np.ndarray | None = None, tfs: np.ndarray | None = None) -> None:
        self.slots = _Growable(np.int64, slots)
        self.tfs = _Growable(np.float32, tfs)
        self.df = self.slots.size


class LexicalIndex:
    """Variant id -> text, searchable by BM25; `update` applies a change in place."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._load([], np.zeros(0, np.float64), [], [], [])

    def __len__(self) -> int:
        return len(self._slot_of)

    def nbytes(self) -> int:
        """Bytes in the numpy arrays (the id and word dicts come on top: ~100 B an entry)."""
        with self._lock:
            arrays = [self._ids, self._lengths, self._live, self._starts, self._doc_terms,
                      self._doc_tfs] + [g for p in self._postings for g in (p.slots, p.tfs)]
            return sum(a.data.nbytes for a in arrays)

    # -- building -------------------------------------------------------------------------
    def build(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Replace the whole index (at start and on reindex)."""
        words: list[str] = []
        vocab: dict[str, int] = {}
        lengths = np.zeros(len(ids), dtype=np.float64)
        counts, terms, tfs = [], [], []
        for i, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[i] = max(1, len(tokens))
            bag = Counter(tokens)
            counts.append(len(bag))
            for word, tf in bag.items():
                if (term := vocab.get(word)) is None:
                    term = vocab[word] = len(words)
                    words.append(word)
                terms.append(term)
                tfs.append(tf)
        with self._lock:
            self._load(list(ids), lengths, counts, terms, tfs, words)

    def _load(self, ids: list[int], lengths: np.ndarray, counts: Sequence[int],
              terms: Sequence[int], tfs: Sequence[float], words: Sequence[str] = ()) -> None:
        """Set every structure from per-slot data: `counts[i]` (term, tf) pairs per slot."""
        n = len(ids)
        terms = np.asarray(terms, dtype=np.int32)
        tfs = np.asarray(tfs, dtype=np.float32)
        counts = np.asarray(counts, dtype=np.int64)
        self._words = list(words)
        self._vocab = {w: i for i, w in enumerate(self._words)}
        self._ids = _Growable(np.int64, np.asarray(ids, dtype=np.int64))
        self._lengths = _Growable(np.float64, lengths)
        self._live = _Growable(np.bool_, np.ones(n, dtype=np.bool_))
        self._starts = _Growable(np.int64, np.concatenate(([0], np.cumsum(counts))))
        self._doc_terms = _Growable(np.int32, terms)
        self._doc_tfs = _Growable(np.float32, tfs)
        self._slot_of = {int(v): i for i, v in enumerate(ids)}
        self._total_length = float(lengths.sum())  # integer-valued: exact in a float64
        self._sums = np.zeros(n, dtype=np.float64)  # per-slot score accumulator, kept zeroed
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # valid until a change
        # Postings grouped by word, slots ascending within each (stable sort).
        slots = np.repeat(np.arange(n, dtype=np.int64), counts)
        order = np.argsort(terms, kind="stable")
        bounds = np.searchsorted(terms[order], np.arange(len(self._words) + 1))
        self._postings = [
            _Postings(slots[order[bounds[t]:bounds[t + 1]]], tfs[order[bounds[t]:bounds[t + 1]]])
            for t in range(len(self._words))
        ]

    # -- incremental changes ----------------------------------------------------------------
    def update(self, removed: Iterable[int] = (), added: Iterable[tuple[int, str]] = ()) -> None:
        """Remove variants by id, then add (id, text) pairs; an id added again is replaced.
        Ids not in the index are ignored on removal."""
        with self._lock:
            self._cache.clear()  # N, avgdl and document frequencies change
            for variant_id in removed:
                self._remove(int(variant_id))
            for variant_id, text in added:
                self._remove(int(variant_id))
                self._add(int(variant_id), text)
            dead = self._ids.size - len(self._slot_of)
            if dead > max(_MIN_COMPACT, len(self._slot_of)):
                self._compact()

    def _add(self, variant_id: int, text: str) -> None:
        tokens = tokenize(text)
        bag = Counter(tokens)
        slot = self._ids.size
        terms = []
        for word, tf in bag.items():
            if (term := self._vocab.get(word)) is None:
                term = self._vocab[word] = len(self._words)
                self._words.append(word)
                self._postings.append(_Postings())
            postings = self._postings[term]
            postings.slots.append([slot])
            postings.tfs.append([tf])
            postings.df += 1
            terms.append(term)
        self._ids.append([variant_id])
        self._lengths.append([max(1, len(tokens))])
        self._live.append([True])
        self._doc_terms.append(terms)
        self._doc_tfs.append(list(bag.values()))
        self._starts.append([self._doc_terms.size])
        self._slot_of[variant_id] = slot
        self._total_length += max(1, len(tokens))

    def _remove(self, variant_id: int) -> None:
        slot = self._slot_of.pop(variant_id, None)
        if slot is None:
            return
        self._live.data[slot] = False
        self._total_length -= self._lengths.data[slot]
        starts = self._starts.data
        for term in self._doc_terms.data[starts[slot] : starts[slot + 1]].tolist():
            postings = self._postings[term]
            postings.df -= 1
            if postings.slots.size - postings.df > max(8, postings.df):
                keep = self._live.data[postings.slots.view()]
                postings.slots = _Growable(np.int64, postings.slots.view()[keep])
                postings.tfs = _Growable(np.float32, postings.tfs.view()[keep])

    def _compact(self) -> None:
        """Drop dead slots (and words no live question has) from the stored term ids."""
        live = np.flatnonzero(self._live.view())
        starts = self._starts.view()
        counts = starts[live + 1] - starts[live]
        # The positions of the live slots' (term, tf) pairs, without a Python loop.
        first = np.repeat(starts[live] - (np.cumsum(counts) - counts), counts)
        take = first + np.arange(int(counts.sum()), dtype=np.int64)
        terms = self._doc_terms.view()[take]
        used, remapped = np.unique(terms, return_inverse=True)
        words = [self._words[t] for t in used.tolist()]
        self._load(self._ids.view()[live].tolist(), self._lengths.view()[live], counts,
                   remapped, self._doc_tfs.view()[take], words)

    # -- search ---------------------------------------------------------------------------
    def search(self, text: str, k: int) -> dict[int, float]:
        """{variant id: BM25 score} for up to k variants sharing words with the text."""
        ids, values = self._score(text)
        if len(ids) > k:
            top = np.argpartition(-values, k - 1)[:k]
            ids, values = ids[top], values[top]
        return {int(v): float(s) for v, s in zip(ids.tolist(), values.tolist(), strict=True)
                if s > 0}

    def scores(self, text: str) -> dict[int, float]:
        """{variant id: BM25 score} of every variant sharing a word with the text."""
        ids, values = self._score(text)
        return {int(v): float(s) for v, s in zip(ids.tolist(), values.tolist(), strict=True)
                if s > 0}

    def uncovered_share(self, text: str, variant_ids: Iterable[int]) -> float:
        """The share of the text's words that none of the given questions (one entry's; its
        first _COVER_QUESTIONS by id, so the cost stays bounded) has; 0.0 for a text without
        words. A question on a topic beside the entry's (reporting a stolen card, where the
        entry covers a damaged one) shows it; a rewording mostly does not."""
        tokens = tokenize(text)
        if not tokens:
            return 0.0
        with self._lock:
            starts, terms = self._starts.data, self._doc_terms.data
            slots = [s for v in sorted(variant_ids)[:_COVER_QUESTIONS]
                     if (s := self._slot_of.get(int(v))) is not None]
            have = set().union(*(terms[starts[s]:starts[s + 1]].tolist() for s in slots))
            uncovered = sum(1 for t in tokens if self._vocab.get(t) not in have)
        return uncovered / len(tokens)

    def _score(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(variant ids, scores) of the live variants sharing a word with the text; the
        work is proportional to the postings of the query's words, not to the index."""
        nothing = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        tokens = tokenize(text)
        with self._lock:
            n = len(self._slot_of)
            terms = [self._vocab[t] for t in tokens if t in self._vocab]
            if not n or not terms:
                return nothing
            if len(self._sums) < self._ids.size:
                self._sums = np.zeros(len(self._ids.data), dtype=np.float64)
            sums, matched = self._sums, 0
            for term in terms:  # a repeated word counts again, as in bm25s
                slots, contributions = self._contributions(term, n)
                sums[slots] += contributions  # a word's slots are distinct
                matched += len(slots)
            if not matched:
                return nothing
            # Every contribution is > 0: the matched slots are the non-zero sums.
            slots = np.flatnonzero(sums[: self._ids.size] > 0)
            values = sums[slots]
            sums[slots] = 0.0  # zeroed for the next query
            return self._ids.data[slots], values

    def _contributions(self, term: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(live slots, BM25 of the word in each) under the current statistics; a frequent
        word's are kept until the next change (customers' searches far outnumber changes)."""
        if (cached := self._cache.get(term)) is not None:
            return cached
        postings = self._postings[term]
        slots, tfs = postings.slots.view(), postings.tfs.view()
        if postings.df != len(slots):
            keep = self._live.data[slots]
            slots, tfs = slots[keep], tfs[keep]
        idf = math.log(1 + (n - postings.df + 0.5) / (postings.df + 0.5))
        norm = K1 * (1 - B + B * self._lengths.data[slots] / (self._total_length / n))
        result = slots, idf * tfs / (norm + tfs)
        if len(slots) >= _CACHE_POSTINGS:
            self._cache[term] = result
        return result
