"""Writing to and reading from the interaction log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent

MAX_TEXT = 2000  # the log keeps what was asked, not a 20,000-character paste


@dataclass(frozen=True)
class Interaction:
    """One thing that happened in a conversation, as the bot hands it to the log."""

    kind: EventKind
    conversation_id: str
    channel: str = ""
    language: str = ""
    page: str = ""
    text: str = ""
    decision: str = ""
    entry_id: int | None = None
    score: float | None = None
    latency_ms: float | None = None
    data: dict = field(default_factory=dict)


def _safe(value: str, limit: int) -> str:
    """What any database stores: no NUL bytes (PostgreSQL refuses them), no lone surrogates."""
    return value[:limit].replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def record(interaction: Interaction, *, session: Session) -> InteractionEvent:
    row = InteractionEvent(
        kind=interaction.kind.value,
        conversation_id=_safe(interaction.conversation_id, 128),
        channel=_safe(interaction.channel, 32),
        language=_safe(interaction.language, 8),
        page=_safe(interaction.page, 300),
        text=_safe(interaction.text, MAX_TEXT),
        decision=interaction.decision,
        entry_id=interaction.entry_id,
        score=interaction.score,
        latency_ms=interaction.latency_ms,
        data=interaction.data,
    )
    session.add(row)
    session.flush()
    return row


def events_of(conversation_id: str, *, session: Session, kind: EventKind | None = None
              ) -> list[InteractionEvent]:
    query = select(InteractionEvent).where(InteractionEvent.conversation_id == conversation_id)
    if kind is not None:
        query = query.where(InteractionEvent.kind == kind.value)
    return list(session.scalars(query.order_by(InteractionEvent.id)))


def has_events(conversation_id: str, *, session: Session) -> bool:
    query = select(InteractionEvent.id).where(InteractionEvent.conversation_id == conversation_id)
    return session.scalars(query.limit(1)).first() is not None


def recent_questions(*, session: Session, limit: int = 2000) -> list[tuple[str, str]]:
    """The latest questions customers asked the knowledge base, with their language (newest
    first): the sample from which the share of questions it cannot answer is estimated."""
    query = (select(InteractionEvent.text, InteractionEvent.language)
             .where(InteractionEvent.kind == EventKind.MESSAGE.value, InteractionEvent.decision != "")
             .order_by(InteractionEvent.id.desc()).limit(limit))
    return [(text, language) for text, language in session.execute(query) if text]


@dataclass(frozen=True)
class AnswerVerdict:
    """What a customer said of an answer: the question, the entry, and the verdict."""
    question: str
    entry_id: int
    verdict: str  # "helpful", "unhelpful" (thumbs), "picked" (a clarify button)


MAX_VERDICTS_PER_CONVERSATION = 3


def answer_verdicts(*, session: Session, limit: int = 2000) -> list[AnswerVerdict]:
    """The latest thumbs and clarify picks, each with the question it answered (the last
    question of its conversation before it): what the confidence model learns from the
    deployment itself. A conversation counts once per question (its latest verdict) and
    for at most MAX_VERDICTS_PER_CONVERSATION questions: a flood of clicks from one chat
    (a script, a bored visitor) cannot outvote the shop's other customers."""
    verdicts = list(session.scalars(
        select(InteractionEvent)
        .where(InteractionEvent.kind.in_((EventKind.FEEDBACK.value, EventKind.CHOICE.value)),
               InteractionEvent.entry_id.is_not(None))
        .order_by(InteractionEvent.id.desc()).limit(limit)))
    conversations = {v.conversation_id for v in verdicts}
    questions: dict[str, list[tuple[int, str]]] = {}
    for chunk in _chunks(sorted(conversations), 500):
        for event_id, conversation, text in session.execute(
                select(InteractionEvent.id, InteractionEvent.conversation_id, InteractionEvent.text)
                .where(InteractionEvent.kind == EventKind.MESSAGE.value,
                       InteractionEvent.decision.in_(("answer", "clarify")),
                       InteractionEvent.conversation_id.in_(chunk))
                .order_by(InteractionEvent.id)):
            questions.setdefault(conversation, []).append((event_id, text))
    out, counted = [], set()
    per_conversation: dict[str, int] = {}
    for v in verdicts:
        before = [text for event_id, text in questions.get(v.conversation_id, ()) if event_id < v.id]
        if not before or not before[-1]:
            continue
        key = (v.conversation_id, before[-1])
        if key in counted or per_conversation.get(v.conversation_id, 0) >= \
                MAX_VERDICTS_PER_CONVERSATION:
            continue
        helpful = v.data.get("helpful") if isinstance(v.data, dict) else None
        if v.kind == EventKind.CHOICE.value:
            verdict = "picked"
        elif isinstance(helpful, bool):
            verdict = "helpful" if helpful else "unhelpful"
        else:
            continue
        counted.add(key)
        per_conversation[v.conversation_id] = per_conversation.get(v.conversation_id, 0) + 1
        out.append(AnswerVerdict(before[-1], v.entry_id, verdict))
    return out


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def most_answered_entries(language: str, since: datetime, *, session: Session,
                          limit: int = 10) -> list[int]:
    """The entries that answered most questions in `language` since `since`, most first
    (typed questions and clarify picks alike): the chat widget suggests their questions to
    a customer who has not asked anything yet. Only entry ids leave the log, never what a
    customer wrote."""
    answered = func.count(InteractionEvent.id)
    query = (select(InteractionEvent.entry_id)
             .where(InteractionEvent.kind.in_((EventKind.MESSAGE.value, EventKind.CHOICE.value)),
                    InteractionEvent.decision == "answer", InteractionEvent.entry_id.is_not(None),
                    InteractionEvent.language == language, InteractionEvent.occurred_at >= since)
             .group_by(InteractionEvent.entry_id)
             .order_by(answered.desc(), InteractionEvent.entry_id).limit(limit))
    return list(session.scalars(query))
