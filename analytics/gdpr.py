"""What the interaction log keeps about one customer's conversations, for the GDPR
orchestration in `bot.gdpr`: found, exported, erased, or purged by age. Each function
works inside the caller's session, so an erasure across packages stays one transaction
(tests/analytics/test_gdpr_contract.py holds the contract)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent, QuestionInsight, QuestionTopic
from analytics.purchase_stage import clean_for_model

__all__ = ["ErasedInteractions", "erase_interactions", "interactions_of",
           "logged_conversations", "purge_interactions_before"]


@dataclass(frozen=True)
class ErasedInteractions:
    """How much of the log an erasure removed."""

    events: int  # interaction events deleted
    labels: int  # the dashboard's labels of their questions deleted
    examples: int  # their questions removed from the topics' examples


def logged_conversations(conversations: Collection[str], *, session: Session) -> set[str]:
    """Those of `conversations` the interaction log has events of."""
    return set(session.scalars(select(InteractionEvent.conversation_id).distinct().where(
        InteractionEvent.conversation_id.in_(conversations))))


def interactions_of(conversations: Collection[str], *, session: Session) -> list[dict]:
    """Every logged event of `conversations`, oldest first, as the export shows them."""
    events = session.scalars(select(InteractionEvent).where(
        InteractionEvent.conversation_id.in_(conversations)).order_by(InteractionEvent.id))
    return [{"at": e.occurred_at.isoformat() if e.occurred_at else None,
             "conversation": e.conversation_id, "kind": e.kind, "text": e.text,
             "decision": e.decision, "language": e.language, "channel": e.channel,
             "page": e.page, "data": e.data} for e in events]


def erase_interactions(conversations: Collection[str], *, scrub: Callable[[str], str],
                       session: Session) -> ErasedInteractions:
    """Delete the conversations' events (the one sanctioned exception to the log being
    append-only), the labels derived from them and their questions among the topics'
    examples; `scrub` is the one the examples were cleaned with when kept."""
    theirs = select(InteractionEvent.id).where(
        InteractionEvent.conversation_id.in_(conversations))
    labels = session.execute(delete(QuestionInsight).where(
        QuestionInsight.event_id.in_(theirs))).rowcount  # derived from the events below
    examples = _forget_topic_examples(conversations, scrub=scrub, session=session)
    events = session.execute(delete(InteractionEvent).where(
        InteractionEvent.conversation_id.in_(conversations))).rowcount
    return ErasedInteractions(events=events, labels=labels, examples=examples)


def purge_interactions_before(cutoff: datetime, *, session: Session) -> int:
    """Retention: interaction events older than `cutoff` are deleted, with the dashboard's
    labels of those questions (they carry the event's time)."""
    session.execute(delete(QuestionInsight).where(QuestionInsight.occurred_at < cutoff))
    return session.execute(delete(InteractionEvent).where(
        InteractionEvent.occurred_at < cutoff)).rowcount


def _forget_topic_examples(conversations: Collection[str], *, scrub: Callable[[str], str],
                           session: Session) -> int:
    """Topics keep a few example questions (cleaned and scrubbed as they were kept): drop
    the customer's from them."""
    asked = {scrub(clean_for_model(text))
             for text in session.scalars(select(InteractionEvent.text).where(
        InteractionEvent.kind == EventKind.MESSAGE.value,
        InteractionEvent.conversation_id.in_(conversations)))}
    removed = 0
    for topic in session.scalars(select(QuestionTopic)):
        kept = [example for example in topic.examples if example not in asked]
        if topic.name in asked:  # a topic is named by its most central question
            topic.name = ""
        if len(kept) < len(topic.examples):
            removed += len(topic.examples) - len(kept)
            topic.examples = kept
    return removed

