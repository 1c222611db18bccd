"""Customers' choices teach the knowledge base, in the background: each round reads the
clarify picks and thumbs logged since the last round (`analytics.log.customer_signals`),
records them as votes on candidate question variants (`knowledge.candidates.observe`) and
publishes the candidates that enough distinct conversations confirmed
(`knowledge.candidates.publish_ready`); the index takes them up at once.

Signals are read only once they are SETTLE old, so a thumbs-down or a request for a person
that follows a pick is seen before the pick counts. Where the last round stopped is kept
in `kb_settings` (WATERMARK), so a restart neither loses nor repeats signals. It runs in the
recalibration thread (`bot.jobs.recalibration.run`): one background loop, no new thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from analytics.log import customer_signals
from core import session_scope, utcnow
from knowledge import candidates
from knowledge import repository as repo
from knowledge.service import KnowledgeBase

log = logging.getLogger(__name__)
SETTLE = timedelta(minutes=10)
WATERMARK = "signal_learning"
BATCH = 5000


@dataclass(frozen=True)
class Round:
    signals: int  # picks and thumbs read
    touched: int  # candidates that got a vote
    published: int  # variants published by this round
    last_event_id: int


def confirmations_needed(kb: KnowledgeBase) -> int:
    """The deployment's setting (`SUPPORTBOT_LEARN_VARIANT_CONFIRMATIONS`)."""
    return max(1, int(kb.settings.learn_variant_confirmations))


def collect(kb: KnowledgeBase, *, now: datetime | None = None) -> Round:
    """One round: read, vote, publish; the index is synced when something was published."""
    now = now or utcnow()
    with session_scope(kb.url) as session:
        after = int((repo.get_setting(WATERMARK, session=session) or {}).get("last_event_id", 0))
        signals, last = customer_signals(session=session, after_id=after, until=now - SETTLE,
                                         limit=BATCH)
        touched = candidates.observe([
            candidates.Observation(s.conversation_id, s.entry_id, s.question, s.language,
                                   s.confirms, s.occurred_at) for s in signals], session=session)
        published = candidates.publish_ready(session=session, now=now,
                                             needed=confirmations_needed(kb))
        repo.put_setting(WATERMARK, {"last_event_id": last}, session=session)
    if published:
        kb.sync(force=True)
        log.info("published %d question variants confirmed by customers", len(published))
    return Round(len(signals), len(touched), len(published), last)
