"""What the knowledge base keeps about one customer, for the GDPR orchestration in
`bot.gdpr`: learned entries link to the tickets they were learned from, and candidate
questions carry the votes of the conversations that asked them; retention forgets both
when they are old. Each function works inside the caller's session, so an erasure across
packages stays one transaction
(tests/knowledge/test_gdpr_contract.py holds the contract)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from knowledge.models import CandidateStatus, CandidateVariant, CandidateVote, Entry

__all__ = ["PurgedCandidates", "forget_candidate_votes", "purge_candidates_before",
           "unlink_entries"]


def unlink_entries(ticket_ids: Collection[int], *, placeholder: str, session: Session) -> int:
    """Unlink learned entries from the tickets (their text was scrubbed of personal data
    when learned); the source reference becomes `placeholder`. How many were unlinked."""
    return session.execute(update(Entry).where(Entry.ticket_id.in_(ticket_ids))
                           .values(ticket_id=None, source_ref=placeholder)).rowcount


def forget_candidate_votes(conversations: Collection[str], *, session: Session) -> int:
    """Their votes go; a pending candidate question only they voted for is their words
    alone, so it goes too (a published one is a scrubbed KB question, like learned ones).
    How many candidate questions were deleted."""
    session.execute(delete(CandidateVote).where(
        CandidateVote.conversation_id.in_(conversations)))
    voted = select(CandidateVote.candidate_id)
    return session.execute(delete(CandidateVariant).where(
        CandidateVariant.status == CandidateStatus.PENDING,
        CandidateVariant.id.not_in(voted))).rowcount


@dataclass(frozen=True)
class PurgedCandidates:
    votes: int
    questions: int


def purge_candidates_before(cutoff: datetime, *, session: Session) -> PurgedCandidates:
    """Retention: votes cast before `cutoff` go (each names a conversation and a time; a
    publication counts only recent ones anyway), and so do pending candidate questions no
    customer has asked since: their words, kept no longer than the log keeps them. Published
    ones are KB questions and rejected ones an operator's decision: they stay."""
    votes = session.execute(delete(CandidateVote).where(CandidateVote.seen_at < cutoff)).rowcount
    questions = session.execute(delete(CandidateVariant).where(
        CandidateVariant.status == CandidateStatus.PENDING,
        CandidateVariant.last_seen < cutoff)).rowcount
    return PurgedCandidates(votes, questions)
