"""The knowledge base as a service: keeps the search index in step with the database
and turns a question into a decision (answer, clarify, escalate).

Construction is cheap; `warm_up()` loads the model and the index. All methods are
blocking and thread-safe: async callers run them in a worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import numpy as np

from core import Settings, session_scope
from knowledge import repository as repo
from knowledge.calibration import Signal
from knowledge.classifier import NO_CLASSIFIER, EntryClassifier, LiveClassifier
from knowledge.confidence import ConfidenceModel, QueryFacts, buttons, feature_vector
from knowledge.decision import Candidate, Decision
from knowledge.embedders import Embedder, make_embedder
from knowledge.entry_cards import EntryCards
from knowledge.errors import CalibrationImpossible
from knowledge.index_sync import SearchMaps
from knowledge.lexical import tokenize
from knowledge.model_store import read_stored, stored_version, usable_model, write_stored
from knowledge.scoring import ScoredEntry, Thresholds, decide, score_entries
from knowledge.text import validate_question
from knowledge.training import MAX_VARIANTS, train_model
from knowledge.vector_index import VectorIndex

log = logging.getLogger(__name__)

SEARCH_K = 64
SAVE_EVERY_S = 60.0
# A save that took s seconds (1.5 GB at 1M questions) waits at least SAVE_SHARE * s before the
# next one, so saving never holds the sync lock more than ~1/SAVE_SHARE of the time.
SAVE_SHARE = 30
# A search that finds more changed questions than this to embed (an import) leaves them to
# a background thread and answers with the index it has.
BACKGROUND_SYNC_QUESTIONS = 64
MODEL_CHECK_S = 30.0  # how often a search looks for a newer stored confidence model


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.url = settings.resolved_database_url
        self.embedder = embedder or make_embedder(
            settings.resolved_embedder, settings.var_dir / "models", settings.embed_backend)
        self.index_dir = settings.resolved_index_dir
        self._lock = threading.RLock()  # the index, for searches: held for milliseconds
        self._sync_lock = threading.Lock()  # one sync at a time (it may run for seconds)
        self._index: VectorIndex | None = None
        self._maps = SearchMaps(lexical=settings.hybrid_lexical)
        self._cards = EntryCards()  # what decisions show of entries, forgotten as they change
        self._version = -1
        self._thresholds: Thresholds | None = None
        self._model: ConfidenceModel | None = None
        self._model_loaded = False
        self._model_checked = 0.0
        self._classifier = LiveClassifier()
        self._last_check = 0.0
        self._last_save = 0.0
        self._save_every = SAVE_EVERY_S
        self._dirty = False

    # -- lifecycle ------------------------------------------------------------------------
    def warm_up(self) -> None:
        self.embedder.warm_up()
        self.sync(force=True)
        if self.model() is not None:
            self.fit_classifier()

    def close(self) -> None:
        with self._sync_lock:
            if self._dirty and self._index is not None:
                self._save()

    # -- index maintenance ------------------------------------------------------------------
    def sync(self, force: bool = False, *, background_over: int | None = None) -> int:
        """Apply every change recorded since the index's version; returns the KB version the
        index holds. The new questions are embedded outside the search lock, so searches go
        on meanwhile. `background_over`: a search's call; more changed questions than this (an
        import) are applied in a background thread, and the search answers with the index it
        has (never a customer waiting seconds for a re-embedding); a sync already under way
        is not waited for either."""
        now = time.monotonic()
        if not force and now - self._last_check < self.settings.index_sync_interval_s:
            return self._version
        if not self._sync_lock.acquire(blocking=background_over is None or self._index is None):
            return self._version
        handed_over = False
        try:
            self._last_check = now
            with self._lock:
                if self._index is None:
                    self._load_or_rebuild()
                since = self._version
            with session_scope(self.url) as session:
                version = repo.kb_version(session=session)
                if version == since:
                    return version
                changed = repo.changed_since(since, session=session)
                rows = repo.searchable_variants(session=session, entry_ids=changed)
            fresh = self._maps.fresh(rows)  # only these need embedding
            if background_over is not None and len(fresh) > background_over:
                threading.Thread(target=self._apply_in_background,
                                 args=(version, changed, rows, fresh),
                                 name="kb-sync", daemon=True).start()
                handed_over = True
                return self._version
            self._apply_changes(version, changed, rows, fresh)
            return version
        finally:
            if not handed_over:
                self._sync_lock.release()

    def _apply_in_background(self, version: int, changed: set[int], rows, fresh) -> None:
        try:
            self._apply_changes(version, changed, rows, fresh)
        except Exception:  # the next sync tries again
            log.exception("applying %d changed questions in the background failed", len(fresh))
        finally:
            self._sync_lock.release()

    def _apply_changes(self, version: int, changed: set[int], rows, fresh) -> None:
        """Under the sync lock: embed the new questions, then apply the change in place under
        the search lock (milliseconds at any KB size: see knowledge.index_sync). The periodic
        save writes the index file outside the search lock: searches only read the index,
        and every writer holds the sync lock."""
        started = time.perf_counter()
        vectors = self.embedder.embed_many([r[2] for r in fresh]) if fresh else None
        with self._lock:
            self._maps.apply(self._index, changed, rows, fresh, vectors)
            self._cards.forget(changed)
            self._version = version
            self._dirty = True
        if time.monotonic() - self._last_save > self._save_every:
            self._save()
        if len(fresh) > BACKGROUND_SYNC_QUESTIONS:
            log.info("knowledge base version %d: %d changed questions applied in %.1f s",
                     version, len(fresh), time.perf_counter() - started)

    def reindex(self) -> int:
        """Rebuild the index from the database, re-embedding every published question."""
        with self._sync_lock, self._lock:
            self._rebuild()
            return self._version

    def _load_or_rebuild(self) -> None:
        options = self._index_options()
        loaded = VectorIndex.load(self.index_dir, model=self.embedder.name,
                                  dimension=self.embedder.dimension, **options)
        if loaded is None:
            self._rebuild()
            return
        self._index, meta = loaded
        with session_scope(self.url) as session:
            if meta.kb_version > repo.kb_version(session=session):
                log.warning("index is newer than the database (restored backup?): rebuilding")
                self._rebuild()
                return
            rows = repo.searchable_variants(session=session)
            changed = repo.changed_since(meta.kb_version, session=session)
        # Vectors of entries unchanged since the index was saved are still valid; `sync`
        # re-embeds the changed ones. Ids no longer in the database are dropped now.
        in_index = set(self._index.ids().tolist())
        self._index.remove(np.array(list(in_index - {r[0] for r in rows}), dtype=np.int64))
        stable = [r for r in rows if r[1] not in changed]
        if any(r[0] not in in_index for r in stable):
            log.warning("index lacks questions it should hold: rebuilding")
            self._rebuild()
            return
        self._maps.reset(self._index, stable)
        self._version = meta.kb_version

    def _rebuild(self) -> None:
        with session_scope(self.url) as session:
            version = repo.kb_version(session=session)
            rows = repo.searchable_variants(session=session)
        vectors = self.embedder.embed_many([r[2] for r in rows])
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        self._index = VectorIndex.build(
            ids, vectors, dimension=self.embedder.dimension, **self._index_options()
        )
        self._maps.reset(self._index, rows, vectors)
        self._cards.forget()
        self._version = version
        self._save()
        log.info("index rebuilt: %d questions, KB version %d", len(ids), version)

    def _index_options(self) -> dict:
        return {"approximate_threshold": self.settings.approximate_index_threshold,
                "nprobe": self.settings.ivf_nprobe}

    def _save(self) -> None:
        started = time.monotonic()
        self._index.save(self.index_dir, model=self.embedder.name, kb_version=self._version)
        self._last_save, self._dirty = time.monotonic(), False
        self._save_every = max(SAVE_EVERY_S, SAVE_SHARE * (self._last_save - started))

    # -- the decision model ---------------------------------------------------------------
    def is_calibrated(self) -> bool:
        return self.model() is not None

    def thresholds(self) -> Thresholds:
        """The default score thresholds, used until a confidence model exists."""
        if self._thresholds is None:
            s = self.settings
            self._thresholds = Thresholds(s.answer_threshold, s.answer_margin, s.clarify_threshold)
        return self._thresholds

    def model(self) -> ConfidenceModel | None:
        """The stored confidence model; one that is corrupt or made for another embedder or
        risk budget is never used: it is rebuilt (or, for a KB too small, dropped). A newer
        version stored by another process (a replica, `kb calibrate`) is taken up within
        MODEL_CHECK_S."""
        now = time.monotonic()
        if self._model_loaded and now - self._model_checked < MODEL_CHECK_S:
            return self._model
        with self._lock:
            if self._model_loaded and now - self._model_checked < MODEL_CHECK_S:
                return self._model
            self._model_checked = now
            stored = read_stored(self.url, self.embedder.name)
            if self._model_loaded and (not isinstance(stored, dict) or stored.get("version")
                                       == getattr(self._model, "version", None)):
                return self._model
            model, problem = usable_model(stored, self.embedder.name, self.settings)
            if problem and self._model_loaded:  # never rebuild inside a customer's search
                log.warning("stored confidence model not used (%s): keeping version %s until "
                            "the next recalibration", problem,
                            getattr(self._model, "version", None))
                return self._model
            if problem:
                log.warning("stored confidence model not used (%s): rebuilding it", problem)
                try:
                    model = self.calibrate(version=stored_version(stored))
                except CalibrationImpossible as exc:
                    log.warning("%s", exc)
                    model = None
            if self._model_loaded and model is not None:
                # Another process's newer model (a grown KB): refit, off the search path.
                self._classifier.refit_in_background(self.fit_classifier)
            self._model, self._model_loaded = model, True
            return model

    # -- search ---------------------------------------------------------------------------
    def search(self, question: str, *, language: str | None = None) -> Decision:
        started = time.perf_counter()
        text = validate_question(question, self.settings.max_question_chars)
        version = self.sync(background_over=BACKGROUND_SYNC_QUESTIONS)
        model, scored, x = self._rank(text, self.embedder.embed(text), language)
        confidence = None
        if model is None:
            kind, chosen = decide(scored, self.thresholds())
        else:
            kind, chosen, confidence = model.decide_on(scored, x)
        candidates = self._cards.candidates(chosen, self._read_cards)
        latency = (time.perf_counter() - started) * 1000
        return Decision(kind, text, candidates, language, latency, version,
                        None if confidence is None else round(confidence, 4),
                        model.version if model else 0)

    def features(self, question: str, *, language: str | None = None, exclude: int | None = None,
                 lexical: bool | None = None) -> tuple[np.ndarray, list[ScoredEntry]]:
        """The confidence model's features for a question, and the ranked entries (without
        the entry `exclude`: how the KB would have answered before it existed). `lexical`:
        with or without the lexical match; None: as the search decides (training must say,
        so that it never needs the model it is making)."""
        text = validate_question(question, self.settings.max_question_chars)
        self.sync()
        vector = self.embedder.embed(text)
        if lexical is None:
            _, scored, x = self._rank(text, vector, language, exclude)
        else:
            scored, x = self._features(text, vector, language, exclude, lexical)
        return x, scored

    def _rank(self, text: str, vector: np.ndarray, language: str | None, exclude: int | None = None
              ) -> tuple[ConfidenceModel | None, list[ScoredEntry], np.ndarray]:
        """The model that decides, the ranked entries and their features. A question in a
        language no entry is in is decided by the model trained for that case (no shared
        words; similarities lowered as the bundled parallel questions measured here)."""
        model = self.model()
        deciding = model and model.for_language(language, self._entry_languages())
        scored, x = self._features(text, vector, language, exclude, lexical=deciding is model)
        return deciding, scored, x

    def _features(self, text: str, vector: np.ndarray, language: str | None, exclude: int | None,
                  lexical: bool) -> tuple[list[ScoredEntry], np.ndarray]:
        """`lexical`: the main model's features (words, classifier), not a cross-lingual one's."""
        if lexical and not self._classifier.tried and self.model() is not None:
            self.fit_classifier()  # a process that neither warmed up nor calibrated
        with self._lock:
            scored = self._score(text, vector, language, exclude, lexical)
            top = scored[0].entry_id if scored else None
            classifier = lexical and self._classifier.at(self._version, self._maps.variants,
                                                         self._entry_vector)
            offered = [s.entry_id for s in buttons(scored)]
            mine = self._maps.variants.get(top, ())  # the best entry's questions
            facts = QueryFacts(words=len(tokenize(text)), questions=len(mine),
                               classified=classifier.features(vector, top, exclude, offered)
                               if classifier else NO_CLASSIFIER,
                               uncovered=self._maps.lexical.uncovered_share(text, mine)
                               if lexical and self.settings.hybrid_lexical else 0.0)
        return scored, feature_vector(scored, facts)

    def fit_classifier(self, snapshot: tuple | None = None) -> None:
        """Fit the entry classifier on the KB (`snapshot`: as `self.snapshot` gives it)."""
        rows, vectors, _ = snapshot or self.snapshot(MAX_VARIANTS)
        entry_of = np.array([r[1] for r in rows])
        fitted = EntryClassifier.fit(vectors, entry_of) if EntryClassifier.suits(entry_of) \
            else None
        with self._lock:
            self._classifier.use(fitted)

    def _entry_vector(self, entry_id: int) -> np.ndarray:
        """Under the search lock: an entry's centroid, or its one question's vector."""
        if (centroid := self._maps.centroids.get(entry_id)) is not None:
            return centroid
        return self._index.vectors_of(self._maps.variants[entry_id][:1])[0]

    def _score(self, text: str, vector: np.ndarray, language: str | None,
               exclude: int | None = None, lexical: bool = True) -> list[ScoredEntry]:
        scores, ids = self._index.search(vector[None, :], SEARCH_K)
        allowed = self._allowed_languages(language)
        maps = self._maps
        entry_of = maps.entry_of

        def owner(variant_id: int) -> int:
            entry_id = int(entry_of[variant_id]) if 0 <= variant_id < len(entry_of) else -1
            if entry_id == exclude or (allowed is not None
                                       and maps.language.get(entry_id) not in allowed):
                return -1
            return entry_id

        def centroid_similarity(entry_id: int) -> float | None:
            centroid = maps.centroids.get(entry_id)
            return None if centroid is None else float(centroid @ vector)

        lexical = lexical and self.settings.hybrid_lexical
        matches = maps.lexical.search(text, SEARCH_K) if lexical else None
        hits = zip(ids[0].tolist(), scores[0].tolist(), strict=True)
        return score_entries(hits, owner, centroid_similarity, matches,
                             self.settings.lexical_weight if lexical else 0.0)

    def _allowed_languages(self, language: str | None) -> set[str] | None:
        """Answer in the customer's language when the KB has it; else in any language."""
        if not language or language not in self._entry_languages():
            return None
        return {language, "other"}

    def _read_cards(self, entry_ids: list[int], variant_ids: list[int]
                    ) -> tuple[dict[int, Candidate], dict[int, str]]:
        with session_scope(self.url) as session:
            entries = repo.entries_by_id(entry_ids, session=session) if entry_ids else {}
            texts = repo.question_texts(variant_ids, session=session) if variant_ids else {}
            return {i: Candidate.of(i, 0.0, e, "") for i, e in entries.items()}, texts

    # -- calibration ----------------------------------------------------------------------
    def calibrate(self, *, recent_questions: Sequence[tuple[str, str]] = (),
                  signals: Sequence[Signal] = (), version: int | None = None) -> ConfidenceModel:
        """Train the confidence model (see knowledge.training), store it and use it from now."""
        self.sync(force=True)
        snapshot = self.snapshot(MAX_VARIANTS)  # one read of the KB, for both
        self.fit_classifier(snapshot)  # first: the log's questions are featured with it
        previous = stored_version(read_stored(self.url, self.embedder.name))
        model = train_model(self, recent_questions=recent_questions, signals=signals,
                            version=(version if version is not None else previous) + 1,
                            snapshot=snapshot)
        write_stored(self.url, self.embedder.name, model)
        self._model, self._model_loaded = model, True
        self._model_checked = time.monotonic()
        return model

    def snapshot(self, max_variants: int) -> tuple[list[tuple], np.ndarray, int]:
        """(published question rows, their vectors, KB version) for training; a KB larger
        than `max_variants` questions gives a random sample of whole entries."""
        with session_scope(self.url) as session:
            rows = repo.searchable_variants(session=session)
        if len(rows) > max_variants:  # a random sample of entries keeps this minutes, not hours
            rng = np.random.default_rng(0)
            entries = np.unique([r[1] for r in rows])
            keep = set(rng.choice(entries, max(3, len(entries) * max_variants // len(rows)),
                                  replace=False).tolist())
            rows = [r for r in rows if r[1] in keep]
        with self._lock:
            vectors = self._index.vectors_of([r[0] for r in rows]) if rows else np.zeros((0, 1))
            return rows, vectors, self._version

    def languages(self) -> set[str]:
        """The languages of the published entries ("other" not counted)."""
        with self._lock:
            return set(self._entry_languages()) - {"other"}

    def _entry_languages(self) -> frozenset[str]:
        return self._maps.languages()
