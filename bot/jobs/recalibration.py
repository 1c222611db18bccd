"""Keeps the confidence model in step with the deployment: in the background, after a number
of knowledge-base changes (learned answers, edits) and at least daily, it is trained again
on the KB as it is now and on the share of unanswerable questions estimated from the log.
Each run stores a new model version; every logged decision names the version that made it."""

from __future__ import annotations

import logging
import threading
import time

from analytics.log import answer_verdicts, recent_questions
from core import session_scope
from knowledge.calibration import Signal
from knowledge.confidence import ConfidenceModel
from knowledge.errors import CalibrationImpossible
from knowledge.service import KnowledgeBase

log = logging.getLogger(__name__)
CHECK_EVERY_S = 300.0
LOG_SAMPLE = 2000


def due(kb: KnowledgeBase, now: float) -> str | None:
    """Why the model should be trained again now, or None."""
    model = kb.model()
    if model is None:
        return "no confidence model yet"
    changes = kb.sync(force=True) - model.kb_version
    if changes >= kb.settings.recalibrate_after_changes:
        return f"{changes} knowledge-base changes since version {model.version}"
    if now - model.trained_at >= kb.settings.recalibrate_every_h * 3600:
        return f"version {model.version} is older than {kb.settings.recalibrate_every_h:g} h"
    return None


def recalibrate(kb: KnowledgeBase) -> ConfidenceModel:
    """Train on the KB, the recent questions and the customers' verdicts; log what it expects."""
    with session_scope(kb.url) as session:
        questions = recent_questions(session=session, limit=LOG_SAMPLE)
        signals = [Signal(v.question, v.entry_id, v.verdict)
                   for v in answer_verdicts(session=session, limit=LOG_SAMPLE)]
    model = kb.calibrate(recent_questions=questions, signals=signals)
    expected = model.expected
    log.info("confidence model version %d: answer when P(right) >= %.3f; expected %.1f %% "
             "answered, %.1f %% wrong, %.1f %% clarify, %.1f %% escalated (%.0f %% unanswerable)",
             model.version, model.answer_at, 100 * expected["answer"], 100 * expected["wrong"],
             100 * expected["clarify"], 100 * expected["escalate"],
             100 * model.unanswerable_share)
    return model


def run(kb: KnowledgeBase, stop: threading.Event, interval_s: float = CHECK_EVERY_S) -> None:
    from bot.conversation import signal_learning  # customers' picks and thumbs, in the same loop

    while not stop.wait(interval_s):
        try:
            signal_learning.collect(kb)
        except Exception:  # the next round continues from the stored watermark
            log.exception("learning from customers' signals failed")
        try:
            reason = due(kb, time.time())
            if reason:
                log.info("recalibrating: %s", reason)
                recalibrate(kb)
        except CalibrationImpossible as exc:
            log.info("%s", exc)
        except Exception:  # the next round tries again; the chat keeps the model it has
            log.exception("recalibration failed")
