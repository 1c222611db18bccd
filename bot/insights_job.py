"""Keeps the dashboard's question labels current while the product runs: every few
minutes, label the questions logged since the last round (purchase stage, topic, product
page); find topics again once a week. See analytics.insights for what a round does."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from analytics.embedding import Embedder
from analytics.insights import (
    RefreshResult,
    current_topics,
    label_batch,
    relabel_batch,
    update_topics,
)
from analytics.purchase_stage import PurchaseStageClassifier, default_classifier
from analytics.rollup import roll_up
from core import session_scope, utcnow
from knowledge.privacy import scrub

log = logging.getLogger(__name__)
INTERVAL_S = 300.0
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

    def run_once(self, *, recluster: bool = False) -> RefreshResult:
        """One round, committed step by step (topics; each batch of labels; each few days
        of roll-ups), so the chat, writing to the same database, never waits long.
        One round at a time in this process; another replica's overlapping round only
        repeats work: a question is labelled once (its event id is the primary key) and
        the loser of that race rolls back and labels it next time."""
        url, embedder, classifier = self.database_url, self.embedder, self.classifier
        now = utcnow()
        with self._lock:
            with session_scope(url) as session:
                update_topics(session, embedder, now=now, recluster=recluster, seed=0,
                              scrub=scrub)
            reclustered = False
            while True:  # moving the questions to topics found again, text by text
                with session_scope(url) as session:
                    moved, became_current = relabel_batch(session, embedder)
                reclustered |= became_current
                if not moved:
                    break
            labelled = 0
            while True:
                with session_scope(url) as session:
                    done = label_batch(session, embedder, classifier, now=now)
                if not done:
                    break
                labelled += done
            rolled = 0
            while True:
                with session_scope(url) as session:
                    days = roll_up(session, now=now, max_days=DAYS_PER_COMMIT)
                rolled += days
                if days < DAYS_PER_COMMIT:
                    break
            with session_scope(url) as session:
                topics = len(current_topics(session))
        return RefreshResult(labelled, reclustered, topics, rolled)

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
