"""Candidate question variants: what customers' choices teach, under guard.

A customer who picks a clarify button for their question Q, and does not then give that
answer a thumbs-down, ask for a person or rephrase Q, has told us that Q is a way of asking
that entry; so has a thumbs-up on an answer the bot gave to Q directly, when Q is not yet
one of the entry's questions. One such signal is weak and easy to forge (a script can click
all day), so it only makes Q a *candidate* (`observe`):

- a candidate is published as a question variant of its entry, through the repository's
  normal update path (versioned, in the change feed the index follows), once
  `CONFIRMATIONS` distinct conversations confirmed it within `WINDOW` (`publish_ready`),
  or at once when an operator approves it in the console (`approve`);
- each conversation is one vote per candidate (a unique row), and it confirms at most
  `MAX_CONFIRMATIONS_PER_CONVERSATION` candidates per `WINDOW` (and creates at most as
  many by thumbs-down): a flood from one chat counts once and cannot spray candidates
  everywhere;
- a thumbs-down from any conversation on the same (entry, question) blocks automatic
  publication until an operator approves or rejects it;
- a rejected candidate is never proposed again (its row stays, with its verdict);
- the question is scrubbed and size-checked as learned questions are
  (`knowledge.learning.clean_question`, `repository.MAX_VARIANT_CHARS`), must be in its
  entry's language, and a candidate whose entry is retired or gone is dropped.

This module only stores and decides; which log events count as confirmations is read from
the interaction log by `analytics.log.customer_signals`, and
`bot.conversation.signal_learning` runs the two together in the background.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import as_utc, utcnow
from knowledge import repository as repo
from knowledge.errors import InvalidEntry
from knowledge.learning import clean_question
from knowledge.models import CandidateStatus, CandidateVariant, CandidateVote, Entry, Status
from knowledge.text import fingerprint

CONFIRMATIONS = 3  # distinct conversations that publish a candidate by themselves
WINDOW = timedelta(days=30)
MAX_CONFIRMATIONS_PER_CONVERSATION = 3
CONFIRM, DENY = "confirm", "deny"


class CandidateError(InvalidEntry):
    """A candidate that cannot be decided as asked (gone, already decided)."""


@dataclass(frozen=True)
class Observation:
    """One customer's signal on (entry, question): a confirmation or a thumbs-down."""
    conversation_id: str
    entry_id: int
    question: str  # as the customer typed it; scrubbed here
    language: str
    confirms: bool
    seen_at: datetime


@dataclass(frozen=True)
class CandidateView:
    id: int
    entry_id: int
    entry_key: str
    question: str
    language: str
    status: str
    blocked: bool
    confirmations: int  # distinct conversations within WINDOW
    denials: int
    first_seen: datetime
    last_seen: datetime


def observe(observations: list[Observation], *, session: Session) -> set[int]:
    """Record the signals (in order); returns the ids of the candidates touched."""
    touched: set[int] = set()
    for seen in observations:
        kind = CONFIRM if seen.confirms else DENY
        # Checked before a candidate is made: a capped chat creates none (vote-less or
        # blocked ones would crowd the review list), though its thumbs-down still blocks.
        capped = _votes_by(seen.conversation_id, kind, seen.seen_at, session=session) >= \
            MAX_CONFIRMATIONS_PER_CONVERSATION
        if capped and kind == CONFIRM:
            continue
        candidate = _candidate_for(seen, create=not capped, session=session)
        if candidate is None or candidate.status != CandidateStatus.PENDING:
            continue
        if _has_vote(candidate.id, seen.conversation_id, kind, session=session):
            continue  # the same chat again: counted once
        session.add(CandidateVote(candidate_id=candidate.id,
                                  conversation_id=seen.conversation_id[:128], kind=kind,
                                  seen_at=seen.seen_at))
        candidate.blocked = candidate.blocked or kind == DENY
        candidate.last_seen = max(as_utc(candidate.last_seen), as_utc(seen.seen_at))
        session.flush()
        touched.add(candidate.id)
    return touched


def _candidate_for(seen: Observation, *, create: bool = True, session: Session
                   ) -> CandidateVariant | None:
    """The candidate the signal is about, created when new; None when there is nothing to
    learn (already a variant, unusable text, entry not published or in another language)."""
    question = clean_question(seen.question, seen.language)
    if not question or len(question) > repo.MAX_VARIANT_CHARS:
        return None
    entry = session.get(Entry, seen.entry_id)
    mark = fingerprint(question)
    candidate = session.scalar(select(CandidateVariant).where(
        CandidateVariant.entry_id == seen.entry_id, CandidateVariant.fingerprint == mark))
    if entry is None or entry.status is not Status.PUBLISHED or entry.language != seen.language:
        if candidate is not None and candidate.status == CandidateStatus.PENDING:
            candidate.status = CandidateStatus.DROPPED
        return None
    if candidate is None:
        if not create or any(q.fingerprint == mark for q in entry.questions):
            return None  # already one of its questions: nothing to learn
        candidate = CandidateVariant(entry_id=entry.id, question=question, fingerprint=mark,
                                     language=seen.language, first_seen=seen.seen_at,
                                     last_seen=seen.seen_at)
        session.add(candidate)
        session.flush()
    return candidate


def _has_vote(candidate_id: int, conversation_id: str, kind: str, *, session: Session) -> bool:
    return session.scalar(select(CandidateVote.id).where(
        CandidateVote.candidate_id == candidate_id,
        CandidateVote.conversation_id == conversation_id[:128],
        CandidateVote.kind == kind).limit(1)) is not None


def _votes_by(conversation_id: str, kind: str, at: datetime, *, session: Session) -> int:
    return session.scalar(select(func.count(CandidateVote.id)).where(
        CandidateVote.conversation_id == conversation_id[:128], CandidateVote.kind == kind,
        CandidateVote.seen_at >= at - WINDOW)) or 0


def _counts(ids: list[int], since: datetime, *, session: Session) -> dict[int, tuple[int, int]]:
    """(distinct confirming conversations since `since`, denials) per candidate."""
    counts = {i: [0, 0] for i in ids}
    rows = session.execute(
        select(CandidateVote.candidate_id, CandidateVote.kind,
               func.count(func.distinct(CandidateVote.conversation_id)))
        .where(CandidateVote.candidate_id.in_(ids),
               (CandidateVote.kind == DENY) | (CandidateVote.seen_at >= since))
        .group_by(CandidateVote.candidate_id, CandidateVote.kind))
    for candidate_id, kind, n in rows:
        counts[candidate_id][0 if kind == CONFIRM else 1] = n
    return {i: (c[0], c[1]) for i, c in counts.items()}


def publish_ready(*, session: Session, now: datetime | None = None,
                  needed: int = CONFIRMATIONS) -> list[int]:
    """Publish every unblocked pending candidate with `needed` distinct confirming
    conversations within WINDOW; returns the entry ids changed (the caller syncs the index)."""
    now = now or utcnow()
    pending = list(session.scalars(select(CandidateVariant).where(
        CandidateVariant.status == CandidateStatus.PENDING,
        CandidateVariant.blocked.is_(False))))
    counts = _counts([c.id for c in pending], now - WINDOW, session=session)
    changed = []
    for candidate in pending:
        confirmations = counts[candidate.id][0]
        if confirmations < needed:
            continue
        try:
            with session.begin_nested():  # one bad candidate never blocks the others
                published = _publish(candidate, "customers",
                                     f"confermata da {confirmations} conversazioni",
                                     session=session)
        except InvalidEntry:
            candidate.status, published = CandidateStatus.DROPPED, False
        if published:
            changed.append(candidate.entry_id)
    return changed


def _publish(candidate: CandidateVariant, by: str, reason: str, *, session: Session) -> bool:
    entry = repo.published_entry(candidate.entry_id, session=session)
    if entry is None:
        candidate.status = CandidateStatus.DROPPED
        return False
    repo.update_entry(entry, session=session, by=by, reason=reason,
                      add_questions=(candidate.question,))
    candidate.status = CandidateStatus.PUBLISHED
    candidate.decided_by, candidate.decided_at = by, utcnow()
    return True


def _pending(candidate_id: int, *, session: Session) -> CandidateVariant:
    candidate = session.get(CandidateVariant, candidate_id)
    if candidate is None:
        raise CandidateError(f"no candidate question {candidate_id}")
    if candidate.status != CandidateStatus.PENDING:
        raise CandidateError(f"candidate question {candidate_id} is already {candidate.status}")
    return candidate


def approve(candidate_id: int, operator: str, *, session: Session) -> CandidateView:
    """An operator's yes: published now, whatever the count or a thumbs-down."""
    candidate = _pending(candidate_id, session=session)
    if not _publish(candidate, operator, "variante approvata dalla console", session=session):
        raise CandidateError(f"the entry of candidate question {candidate_id} is no longer "
                             "published: the candidate is dropped")
    return _view(candidate, session=session)


def reject(candidate_id: int, operator: str, *, session: Session) -> CandidateView:
    """An operator's no: never proposed again."""
    candidate = _pending(candidate_id, session=session)
    candidate.status = CandidateStatus.REJECTED
    candidate.decided_by, candidate.decided_at = operator, utcnow()
    return _view(candidate, session=session)


def pending(*, session: Session, now: datetime | None = None, limit: int = 100
            ) -> list[CandidateView]:
    """Pending candidates of published entries, blocked and most confirmed first."""
    now = now or utcnow()
    rows = list(session.scalars(
        select(CandidateVariant).join(Entry, Entry.id == CandidateVariant.entry_id)
        .where(CandidateVariant.status == CandidateStatus.PENDING,
               Entry.status == Status.PUBLISHED)
        .order_by(CandidateVariant.last_seen.desc()).limit(limit * 5)))
    counts = _counts([c.id for c in rows], now - WINDOW, session=session)
    views = [_view(c, counts[c.id], session=session) for c in rows]
    views.sort(key=lambda v: (not v.blocked, -v.confirmations, -as_utc(v.last_seen).timestamp()))
    return views[:limit]


def _view(candidate: CandidateVariant, counts: tuple[int, int] | None = None, *,
          session: Session) -> CandidateView:
    if counts is None:
        counts = _counts([candidate.id], utcnow() - WINDOW, session=session)[candidate.id]
    entry = session.get(Entry, candidate.entry_id)
    return CandidateView(candidate.id, candidate.entry_id, entry.key if entry else "",
                         candidate.question, candidate.language, candidate.status,
                         candidate.blocked, counts[0], counts[1], candidate.first_seen,
                         candidate.last_seen)
