"""Typo-tolerant word matching for product names and cue words.

rapidfuzz is not in the product's environment, and difflib's ratio is both slow (a question
against every catalogue word) and loose on short words ("seta"/"sera"), so: an optimal
string alignment distance with an early exit, allowed only on words of five letters or
more, sharing the first letter, one edit (two from ten letters).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache

MIN_LENGTH = 5
MAX_CANDIDATES = 3000  # words a typo is compared with, at most (about 5 ms)


def allowed_edits(word: str) -> int:
    if len(word) < MIN_LENGTH:
        return 0
    return 1 if len(word) < 10 else 2


def distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap neighbours) from a to b; limit + 1 once the
    distance is known to exceed limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Lexicon:
    """Words to find in questions, exactly or within a typo or two. `meaning` maps words
    to what they stand for ("cammel" and "cammello" are both camel): two closest words of
    one meaning are no tie."""

    def __init__(self, words: Iterable[str], meaning: Mapping[str, str] | None = None) -> None:
        self.words = frozenset(words)
        self._meaning = meaning or {}
        self._buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
        for word in self.words:
            if len(word) >= MIN_LENGTH:
                self._buckets[(word[0], len(word))].append(word)
        self.find = lru_cache(maxsize=4096)(self._find)

    def _find(self, token: str) -> str | None:
        """The lexicon's word for token: itself, else the single closest within the
        allowed edits (None when two are equally close: no guessing)."""
        if token in self.words:
            return token
        limit = allowed_edits(token)
        if not limit:
            return None
        best, best_distance, tied = None, limit + 1, False
        meaning = self._meaning.get
        lengths = range(len(token) - limit, len(token) + limit + 1)
        candidates = [w for n in lengths for w in self._buckets.get((token[0], n), ())]
        if len(candidates) > MAX_CANDIDATES:  # a huge catalogue: exact words only
            return None
        for word in candidates:
            word_limit = min(limit, allowed_edits(word))
            d = distance(token, word, word_limit)
            if d > word_limit:
                continue
            if d < best_distance:
                best, best_distance, tied = word, d, False
            elif d == best_distance and meaning(word, word) != meaning(best, best):
                tied = True
        return None if tied or best_distance > limit else best
