"""Keeps the dashboard's question labels current while the product runs: every few
minutes, label the questions logged since the last round (purchase stage, topic, product
page); find topics again once a week. See analytics.insights for what a round does."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from analytics.embedding import Embedder
from analytics.insights import RefreshResult, run_round
from analytics.purchase_stage import PurchaseStageClassifier, default_classifier
from analytics.rollup import SETTLE
from core import session_scope
from knowledge.privacy import scrub

log = logging.getLogger(__name__)
INTERVAL_S = 300.0  # the dashboard says "refreshed every 5 minutes": keep them in step
DAYS_PER_COMMIT = 30


@dataclass
class InsightsRefresher:
    database_url: str
    embedder: Embedder
    cache_dir: Path  # where the trained purchase-stage classifier is kept
    _classifier: PurchaseStageClassifier | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def classifier(self) -> PurchaseStageClassifier:
        if self._classifier is None:
            self._classifier = default_classifier(self.embedder, self.cache_dir)
        return self._classifier

    def run_once(self, *, recluster: bool = False, settle: timedelta = SETTLE) -> RefreshResult:
        """One round, committed step by step (topics; each batch of labels; each few days
        of roll-ups), so the chat, writing to the same database, never waits long.
        One round at a time in this process; another replica's overlapping round only
        repeats work: a question is labelled once (its event id is the primary key) and
        the loser of that race rolls back and labels it next time. `settle` 0 labels
        every logged question now (the demo's history is complete when written)."""
        with self._lock:
            return run_round(lambda: session_scope(self.database_url), self.embedder,
                             self.classifier, recluster=recluster, scrub=scrub,
                             days_per_step=DAYS_PER_COMMIT, settle=settle)

    def run(self, stop: threading.Event, interval_s: float = INTERVAL_S) -> None:
        while not stop.is_set():
            try:
                result = self.run_once()
                if result.labelled or result.reclustered or result.days_rolled_up:
                    log.info("dashboard: %s questions labelled, %s days rolled up%s",
                             result.labelled, result.days_rolled_up,
                             f", {result.topics} topics found again" if result.reclustered else "")
            except Exception:  # the next round tries again; the chat is never affected
                log.exception("labelling questions for the dashboard failed")
            stop.wait(interval_s)
