"""Labels every customer question for marketing, ahead of time: its purchase stage (the
trained classifier), its topic (the nearest centroid of the current topic run) and the
product or category page it was asked on. The results go to `question_insights`, which
the dashboard and the weekly report read; no page ever embeds or classifies while a
person waits.

`refresh` is incremental (questions logged since the last call) and cheap to call every
few minutes. A question is labelled once its conversation has had `rollup.SETTLE` to move
on, so what became of it (answered, escalated, thumbed down) is known and stored with it:
the dashboard then counts rows of one table instead of following each conversation.

Topics are found again (`recluster`) when there are none, when the newest run is older
than a week, or when asked; the new run then relabels every labelled question, so weekly
trends always compare like with like. Each topic is named by its most central question in
the dashboard's language (keywords mix languages: "black, friday, gdpr") and keeps as
examples the most asked of its closer half (`describe`); marketing's own names and merges
are kept apart, keyed by the topics' centres, and survive a new run (analytics.topic_names).
Every round is recorded with what it left waiting (analytics.freshness), so an empty
dashboard and `supportbot analytics refresh` can say why a count is zero.

`refresh` runs the three steps (`update_topics`, `label_batch` until done, `roll_up`) in
the caller's transaction; the running product's refresher (bot/jobs/insights_job.py) commits
after each step, so a first run over a long history never holds SQLite's write lock for
long (the chat writes to the same database).

Each distinct text is embedded once per call: customers repeat the same questions, so a
batch of a thousand events is typically a few dozen embeddings.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from analytics.embedding import Embedder
from analytics.freshness import Backlog, backlog, record_round
from analytics.metrics import question_outcomes
from analytics.models import EventKind, InteractionEvent, QuestionInsight, QuestionTopic
from analytics.period import report_zone
from analytics.purchase_stage import PurchaseStageClassifier, clean_for_model
from analytics.rollup import MAX_DAYS_PER_ROUND, SETTLE, roll_up
from analytics.topics import cluster
from core import as_utc, utcnow
from core.text import normalise

log = logging.getLogger(__name__)

BATCH = 1000  # events labelled per transaction
TOPIC_WINDOW_DAYS = 90  # topics are found from this many days of questions
RECLUSTER_AFTER = timedelta(days=7)
MAX_CLUSTER_TEXTS = 20_000  # distinct texts clustered; the most frequent when there are more
# Page names the widget reports (the `data-page` of the shop's pages): "product:<slug>",
# "category:<slug>", "cart", "checkout", "order:<anything>", "home", ...
SUBJECT_KINDS = ("product", "category")
NAME_LANGUAGE = "it"  # the dashboard's language: topics are named by a question in it
_TOPICS_LOCK = 0x70_1C5  # PostgreSQL advisory lock key of "finding topics"


@dataclass(frozen=True)
class RefreshResult:
    labelled: int  # questions labelled in this call
    reclustered: bool
    topics: int  # topics in the current run
    days_rolled_up: int = 0  # finished days whose figures were summed (analytics.rollup)
    backlog: Backlog | None = None  # what the log holds, and what still waits, afterwards


def page_subject(page: str) -> tuple[str, str]:
    """("product", "sciarpa-merino") for "product:sciarpa-merino"; the page kind and ""
    for pages that name no product or category ("cart", "order:status"); ("", "") for none."""
    kind, _, name = (page or "").strip().partition(":")
    kind = kind.strip().lower()[:16]
    return (kind, name.strip()[:200]) if kind in SUBJECT_KINDS else (kind, "")


def current_topics(session: Session) -> list[QuestionTopic]:
    """The topics the dashboard shows: the newest run whose relabelling is done."""
    return _run(session, ready=True)


def pending_topics(session: Session) -> list[QuestionTopic]:
    """A newer run still being applied to the labelled questions ([] when there is none)."""
    current = session.scalar(select(func.max(QuestionTopic.run)).where(QuestionTopic.ready)) or 0
    pending = _run(session, ready=False)
    return pending if pending and pending[0].run > current else []


def _run(session: Session, *, ready: bool) -> list[QuestionTopic]:
    run = session.scalar(select(func.max(QuestionTopic.run)).where(QuestionTopic.ready == ready))
    if run is None:
        return []
    return list(session.scalars(select(QuestionTopic).where(QuestionTopic.run == run)
                                .order_by(QuestionTopic.id)))


def refresh(session: Session, embedder: Embedder, classifier: PurchaseStageClassifier, *,
            recluster: bool = False, now: datetime | None = None, batch: int = BATCH,
            seed: int = 0, scrub: Callable[[str], str] = str,
            settle: timedelta = SETTLE) -> RefreshResult:
    """A whole round (`run_round`) in `session`'s transaction."""
    return run_round(lambda: nullcontext(session), embedder, classifier, recluster=recluster,
                     now=now, batch=batch, seed=seed, scrub=scrub, settle=settle)


def run_round(open_session: Callable[[], AbstractContextManager[Session]], embedder: Embedder,
              classifier: PurchaseStageClassifier, *, recluster: bool = False,
              now: datetime | None = None, batch: int = BATCH, seed: int = 0,
              scrub: Callable[[str], str] = str,
              days_per_step: int = MAX_DAYS_PER_ROUND,
              settle: timedelta = SETTLE) -> RefreshResult:
    """Every step of a round, each in a session from `open_session`: find topics when due,
    move the labelled questions to them, label new questions, roll up finished days. The
    running product opens (and commits) a session per step (bot/jobs/insights_job.py).
    `settle` is how long a question waits for its conversation to finish before it is
    labelled; the demo passes 0, since the history it just wrote is complete."""
    now = now or utcnow()
    with open_session() as session:
        update_topics(session, embedder, now=now, recluster=recluster, seed=seed, scrub=scrub)
    reclustered, moved = False, True
    while moved:  # moving the questions to topics found again, text by text
        with open_session() as session:
            moved, became_current = relabel_batch(session, embedder, batch=batch)
        reclustered |= became_current
    labelled = 0
    while True:
        with open_session() as session:
            done = label_batch(session, embedder, classifier, now=now, batch=batch,
                               settle=settle)
        if not done:
            break
        labelled += done
    rolled = 0
    while True:
        with open_session() as session:
            days = roll_up(session, now=now, max_days=days_per_step)
        rolled += days
        if days < days_per_step:
            break
    with open_session() as session:
        topics = len(current_topics(session))
        left = backlog(session, settle=settle)
        record_round(session, now=now, labelled=labelled, waiting=left.waiting)
    return RefreshResult(labelled, reclustered, topics, rolled, left)


def _check(embedder: Embedder, classifier: PurchaseStageClassifier) -> None:
    if classifier.embedder.name != embedder.name:
        raise ValueError(f"the classifier was trained on {classifier.embedder.name}, "
                         f"not {embedder.name}")


def update_topics(session: Session, embedder: Embedder, *, now: datetime,
                  recluster: bool = False, seed: int = 0, scrub: Callable[[str], str] = str
                  ) -> bool:
    """Find topics again when due (or asked): a new run, not ready until `relabel_batch`
    has moved every labelled question to it. `scrub` cleans the example questions kept
    with each topic (the product passes knowledge.privacy.scrub). True when a run began.
    On PostgreSQL replicas take turns (a transaction lock), so one run begins at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TOPICS_LOCK})
    if pending_topics(session):
        return False  # the run under way finishes first
    topics = current_topics(session)
    due = not topics or now - as_utc(topics[0].created_at) >= RECLUSTER_AFTER
    if not (recluster or due):
        return False
    return bool(_find_topics(session, embedder, now=now, seed=seed, scrub=scrub))


def relabel_batch(session: Session, embedder: Embedder, *, batch: int = BATCH
                  ) -> tuple[int, bool]:
    """Move up to `batch` distinct question texts to the pending run's topics: (how many,
    whether the run became current). Texts are embedded once whatever their number of
    questions, and each step is short, so a caller committing between steps never holds
    the database long. When none is left the run becomes current and older runs but the
    one before it are dropped."""
    pending = pending_topics(session)
    if not pending:
        return 0, False
    ids = [t.id for t in pending]
    elsewhere = or_(QuestionInsight.topic_id.is_(None), QuestionInsight.topic_id.not_in(ids))
    keys = session.execute(select(QuestionInsight.text_key, func.min(QuestionInsight.event_id))
                           .where(elsewhere).group_by(QuestionInsight.text_key)
                           .limit(batch)).all()
    if not keys:
        run = pending[0].run
        session.execute(update(QuestionTopic).where(QuestionTopic.run == run).values(ready=True))
        session.execute(delete(QuestionTopic).where(QuestionTopic.run < run - 1))
        log.info("topics: run %s is current (%s topics)", run, len(pending))
        return 0, True
    texts = dict(session.execute(select(InteractionEvent.id, InteractionEvent.text).where(
        InteractionEvent.id.in_([first for _, first in keys]))).all())
    labeller = _Labeller(embedder, None, pending)
    by_text = labeller.vectors([texts.get(first, "") for _, first in keys])
    topics = labeller.topic_of(np.vstack([by_text[clean_for_model(texts.get(first, ""))]
                                          for _, first in keys]))
    grouped: dict[int, list[int]] = {}
    for (key, _), topic in zip(keys, topics, strict=True):
        grouped.setdefault(topic, []).append(key)
    for topic, group in grouped.items():
        session.execute(update(QuestionInsight).where(QuestionInsight.text_key.in_(group),
                                                      elsewhere)
                        .values(topic_id=topic).execution_options(synchronize_session=False))
    return len(keys), False


def label_batch(session: Session, embedder: Embedder, classifier: PurchaseStageClassifier,
                *, now: datetime, batch: int = BATCH, settle: timedelta = SETTLE) -> int:
    """Label up to `batch` settled questions not labelled yet; how many were. A run being
    applied labels them already, so they need no moving."""
    _check(embedder, classifier)
    topics = pending_topics(session) or current_topics(session)
    return _label_new(session, _Labeller(embedder, classifier, topics), batch,
                      settled=now - settle)


class _Labeller:
    def __init__(self, embedder: Embedder, classifier: PurchaseStageClassifier | None,
                 topics: Sequence[QuestionTopic]):
        self.embedder, self.classifier = embedder, classifier
        self.topic_ids = [t.id for t in topics]
        self.centroids = (np.vstack([np.frombuffer(t.centroid, dtype=np.float32) for t in topics])
                          if topics else None)

    def vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """One vector per distinct cleaned text."""
        distinct = sorted({clean_for_model(t) for t in texts})
        return dict(zip(distinct, self.embedder.embed_many(distinct), strict=True))

    def topic_of(self, vectors: np.ndarray) -> list[int | None]:
        if self.centroids is None or not len(vectors):
            return [None] * len(vectors)
        return [self.topic_ids[i] for i in (vectors @ self.centroids.T).argmax(axis=1)]


def text_key(text: str) -> int:
    """A signed 64-bit hash of the normalised text: one key per question however typed."""
    digest = hashlib.blake2b(normalise(text).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _label_new(session: Session, labeller: _Labeller, batch: int, *, settled: datetime) -> int:
    """One batch of questions in id order, up to the first one not yet settled (ids follow
    time in a live log; stopping there, rather than skipping it, never leaves one behind)."""
    last = session.scalar(select(func.max(QuestionInsight.event_id))) or 0
    events = session.execute(
        select(InteractionEvent.id, InteractionEvent.occurred_at, InteractionEvent.language,
               InteractionEvent.channel, InteractionEvent.decision, InteractionEvent.page,
               InteractionEvent.text, InteractionEvent.entry_id)
        .where(InteractionEvent.kind == EventKind.MESSAGE.value, InteractionEvent.id > last)
        .order_by(InteractionEvent.id).limit(batch)).all()
    ready = []
    for event in events:
        if as_utc(event.occurred_at) > settled:
            break
        ready.append(event)
    if not ready:
        return 0
    by_text = labeller.vectors([e.text for e in ready])
    matrix = np.vstack([by_text[clean_for_model(e.text)] for e in ready])
    probabilities = labeller.classifier.probabilities_of(matrix)
    topics = labeller.topic_of(matrix)
    outcomes = question_outcomes([e.id for e in ready], session=session)
    rows = []
    for event, probs, topic in zip(ready, probabilities, topics, strict=True):
        best = int(probs.argmax())
        stage = labeller.classifier.labels[best] if clean_for_model(event.text) else "other"
        kind, subject = page_subject(event.page)
        answered, escalated, disliked = outcomes[event.id]
        rows.append(dict(event_id=event.id, occurred_at=event.occurred_at,
                         day=as_utc(event.occurred_at).astimezone(report_zone()).date(),
                         language=event.language, channel=event.channel,
                         decision=event.decision, entry_id=event.entry_id,
                         answered=answered, escalated=escalated, disliked=disliked,
                         text_key=text_key(event.text), stage=stage,
                         stage_confidence=round(float(probs[best]), 4), topic_id=topic,
                         subject_kind=kind, subject=subject))
    session.execute(QuestionInsight.__table__.insert(), rows)
    session.flush()
    return len(rows)


def _find_topics(session: Session, embedder: Embedder, *, now: datetime, seed: int,
                 scrub: Callable[[str], str]) -> list[QuestionTopic]:
    since = now - timedelta(days=TOPIC_WINDOW_DAYS)
    counted = session.execute(
        select(InteractionEvent.text, InteractionEvent.language, func.count())
        .where(InteractionEvent.kind == EventKind.MESSAGE.value,
               InteractionEvent.occurred_at >= since, InteractionEvent.text != "")
        .group_by(InteractionEvent.text, InteractionEvent.language)).all()
    # The same question typed twice differs in case and punctuation: count it once, show
    # its most frequent spelling.
    spellings: dict[str, Counter[str]] = {}
    languages: dict[str, Counter[str]] = {}
    for text, language, count in counted:
        if key := normalise(text):
            spellings.setdefault(key, Counter())[text] += count
            languages.setdefault(key, Counter())[language or ""] += count
    ranked = sorted(((c.most_common(1)[0][0], c.total(), languages[key].most_common(1)[0][0])
                     for key, c in spellings.items()),
                    key=lambda item: -item[1])[:MAX_CLUSTER_TEXTS]
    if len(ranked) < 2:
        return []
    texts = [clean_for_model(text) for text, _, _ in ranked]
    weights = np.array([count for _, count, _ in ranked])
    italian = np.array([language == NAME_LANGUAGE for _, _, language in ranked])
    vectors = embedder.embed_many(texts)
    found = cluster(vectors, texts, seed=seed)
    # Sizes count questions, not distinct texts.
    run = (session.scalar(select(func.max(QuestionTopic.run))) or 0) + 1
    centroids = np.vstack([t.centroid for t in found])
    nearest = (vectors @ centroids.T).argmax(axis=1)
    rows = []
    for index, topic in enumerate(found):
        members = np.flatnonzero(nearest == index)
        name, examples = describe(members, vectors[members] @ topic.centroid, weights, italian)
        # The name is kept among the examples too: erasing a customer's questions drops
        # them from the examples (analytics/gdpr.py), and a name no longer there is not shown.
        shown = ([name] if name is not None else []) + [i for i in examples if i != name]
        rows.append(QuestionTopic(
            run=run, created_at=now, embedder=embedder.name, keywords=list(topic.keywords),
            name=scrub(texts[name])[:300] if name is not None else "",
            examples=[scrub(texts[i]) for i in shown] or [scrub(t) for t in topic.examples],
            ready=False,
            size=int(weights[members].sum()),
            centroid=np.ascontiguousarray(topic.centroid, dtype=np.float32).tobytes()))
    session.add_all(rows)
    session.flush()
    log.info("topics: run %s, %s topics from %s distinct questions", run, len(rows), len(texts))
    return rows


def describe(members: np.ndarray, similarity: np.ndarray, weights: np.ndarray,
             italian: np.ndarray, n_examples: int = 3) -> tuple[int | None, list[int]]:
    """A topic's name and examples, as indexes into the clustered texts. Every text goes to
    its nearest topic, so a topic also holds strays far from its centre ("Posso portare il
    cane in negozio?" under gift cards, when no topic fits it, asked so often that it would
    top the examples): only the closer half of the members is shown (on the demo's
    traffic such strays sit below the median closeness of their topic). The name is the most central
    of them in the dashboard's language (any language when none is), a question marketing can read
    where keywords mix languages; the examples are the most asked of them."""
    if not len(members):
        return None, []
    core = members[similarity >= np.median(similarity)]
    closeness = dict(zip(members.tolist(), similarity.tolist(), strict=True))
    named = [i for i in core if italian[i]] or list(core)
    name = max(named, key=lambda i: (closeness[int(i)], -int(i)))
    examples = core[np.argsort(-weights[core], kind="stable")][:n_examples]
    return int(name), [int(i) for i in examples]
