"""What a decision shows of its entries (answer, key, language, category, topic, and the
question that matched), kept in memory between searches: without it every question read
them from the database, two queries and a commit, a fifth of the action's time on
PostgreSQL.

The cache follows the index, not the clock: the search service forgets an entry when it
applies that entry's change from the change feed (`KnowledgeBase.sync`), so an edited
answer is shown from the moment the index holds the edit, on every replica, as the edited
questions are searched from then on. A question's text never changes under its id (an edit
removes one id and adds another), so texts are never forgotten, only evicted. A read from
the database that raced with a change is used for that search but not kept (the
generation check in `candidates`). Both maps are bounded (least recently used go first):
a KB of a million questions keeps only what its questions keep asking for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace

from knowledge.decision import Candidate
from knowledge.scoring import ScoredEntry

MAX_ENTRIES = 20_000
MAX_TEXTS = 50_000

# (entry ids, variant ids) -> (entry id -> the entry as a Candidate with no score and no
# matched question, variant id -> its text); ids not found are left out.
Loader = Callable[[list[int], list[int]], tuple[Mapping[int, Candidate], Mapping[int, str]]]


class EntryCards:
    """Thread-safe; `forget` is called by the index's writer, `candidates` by searches."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_texts: int = MAX_TEXTS) -> None:
        self._entries: OrderedDict[int, Candidate] = OrderedDict()
        self._texts: OrderedDict[int, str] = OrderedDict()
        self._max_entries, self._max_texts = max_entries, max_texts
        self._lock = threading.Lock()
        self._generation = 0  # bumped by every forget: a read begun before it is not kept
        self.loads = 0  # how many times the database was read (tests, the benchmark)

    def forget(self, entry_ids: Iterable[int] | None = None) -> None:
        """These entries changed (None: all of them, the index was rebuilt)."""
        with self._lock:
            self._generation += 1
            if entry_ids is None:
                self._entries.clear()
                return
            for entry_id in entry_ids:
                self._entries.pop(entry_id, None)

    def candidates(self, chosen: Collection[ScoredEntry], load: Loader) -> tuple[Candidate, ...]:
        """The chosen entries as candidates, in their order; an entry the database no
        longer has is left out."""
        if not chosen:
            return ()
        with self._lock:
            generation = self._generation
            entries = {c.entry_id: e for c in chosen
                       if (e := _touch(self._entries, c.entry_id)) is not None}
            texts = {c.variant_id: t for c in chosen
                     if (t := _touch(self._texts, c.variant_id)) is not None}
        missing_entries = sorted({c.entry_id for c in chosen} - entries.keys())
        missing_texts = sorted({c.variant_id for c in chosen} - texts.keys())
        if missing_entries or missing_texts:
            loaded_entries, loaded_texts = load(missing_entries, missing_texts)
            self.loads += 1
            entries.update(loaded_entries)
            texts.update(loaded_texts)
            with self._lock:
                if generation == self._generation:
                    _keep(self._entries, loaded_entries, self._max_entries)
                _keep(self._texts, loaded_texts, self._max_texts)
        return tuple(replace(entries[c.entry_id], score=round(c.score, 4),
                             matched_question=texts.get(c.variant_id, ""))
                     for c in chosen if c.entry_id in entries)


def _touch(cache: OrderedDict, key: int):
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


def _keep(cache: OrderedDict, items: Mapping, limit: int) -> None:
    cache.update(items)
    while len(cache) > limit:
        cache.popitem(last=False)
