"""Writing to and reading from the interaction log."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_ITALIAN
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent
from core import DecisionKind, as_utc

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
        score=interaction.score, latency_ms=interaction.latency_ms,
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
    query = (select(InteractionEvent.text, InteractionEvent.language, InteractionEvent.data)
             .where(InteractionEvent.kind == EventKind.MESSAGE.value,
                    InteractionEvent.decision != "")
             .order_by(InteractionEvent.id.desc()).limit(limit))
    # Questions the product catalogue took (logged with a product and no KB candidates) never
    # reached the knowledge base: they would make it look less able than it is.
    return [(text, language) for text, language, data in session.execute(query)
            if text and not (isinstance(data, dict) and "product" in data
                             and "candidates" not in data)]


@dataclass(frozen=True)
class AnswerVerdict:
    """What a customer said of an answer: the question, the entry, and the verdict."""
    question: str
    entry_id: int
    verdict: str  # "helpful", "unhelpful" (thumbs, or a rephrase), "picked" (a clarify button)


MAX_VERDICTS_PER_CONVERSATION = 3
# A question typed this soon after an answer, before any thumbs, that repeats most of the
# first question's content words is the customer asking again: the answer did not help.
REPHRASE_WITHIN = timedelta(minutes=2)
REPHRASE_SHARE = 0.5  # shared content words must be MORE than this share of the longer set
# Question and function words the short stopword lists of bm25s lack; with them a rephrase is told
# from a new topic by what the two questions are about, not by "how much".
_QUESTION_WORDS = frozenset(
    "how what which when where why who whom can could would should may might much many "
    "please hi hello thanks thank also still just get got do does did i me my you your we "
    "our us he she his her its am been being have has had any some about "
    "quanto quanta quanti quante come cosa quale quali quando dove perché perche chi posso "
    "può puo possono potete potrei vorrei ciao salve grazie anche ancora".split())
_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    """Case and accents folded: "Perché" and "perche" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_STOP = frozenset(_fold(w) for w in (*STOPWORDS_EN, *STOPWORDS_ITALIAN, *_QUESTION_WORDS))


def _stem(word: str) -> str:
    """A crude stem for Italian and English: a plural -s and a final vowel dropped, then six
    letters kept ("costa"/"costo" -> "cost", "returns"/"returning" -> "return")."""
    if len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    if len(word) > 3 and word[-1] in "aeiou":
        word = word[:-1]
    return word[:6]


def content_words(text: str) -> frozenset[str]:
    """The stems of what a question is about: stopwords, question words and one-letter
    tokens dropped, case and accents folded."""
    words = {w for w in _WORD.findall(_fold(text)) if len(w) > 1}
    return frozenset(_stem(w) for w in words if w not in _STOP)


def is_rephrase(first: str, second: str) -> bool:
    """Whether `second` asks `first` again in other words: more than half of the content
    words of the longer of the two are shared. "Quanto costa la spedizione in Italia?" then
    "ma la spedizione in Italia quanto costa" is; "quanto costa il reso?" is a new topic."""
    a, b = content_words(first), content_words(second)
    if not a or not b:
        return False
    return len(a & b) > REPHRASE_SHARE * max(len(a), len(b))


def answer_verdicts(*, session: Session, limit: int = 2000) -> list[AnswerVerdict]:
    """The latest thumbs, clarify picks and rephrases, each with the question it answered
    (the last question of its conversation before it): what the confidence model learns from
    the deployment itself. A rephrase (`is_rephrase`) typed within REPHRASE_WITHIN of an
    answer, before any thumbs, is an "unhelpful" verdict on that answer. A conversation
    counts once per question (its latest verdict) and for at most
    MAX_VERDICTS_PER_CONVERSATION questions: a flood of clicks from one chat (a script, a
    bored visitor) cannot outvote the shop's other customers."""
    verdicts = list(session.scalars(
        select(InteractionEvent)
        .where(InteractionEvent.kind.in_((EventKind.FEEDBACK.value, EventKind.CHOICE.value)),
               InteractionEvent.entry_id.is_not(None))
        .order_by(InteractionEvent.id.desc()).limit(limit)))
    answered = set(session.scalars(
        select(InteractionEvent.conversation_id)
        .where(InteractionEvent.kind == EventKind.MESSAGE.value,
               InteractionEvent.decision == DecisionKind.ANSWER,
               InteractionEvent.entry_id.is_not(None))
        .order_by(InteractionEvent.id.desc()).limit(limit)))
    timelines = _timelines({v.conversation_id for v in verdicts} | answered, session=session)
    found: list[tuple[int, str, str, int, str]] = []  # (event id, conversation, q, entry, verdict)
    for v in verdicts:
        before = [e for e in timelines.get(v.conversation_id, ())
                  if e.id < v.id and e.kind == EventKind.MESSAGE.value
                  and e.decision in (DecisionKind.ANSWER, DecisionKind.CLARIFY)]
        helpful = v.data.get("helpful") if isinstance(v.data, dict) else None
        if v.kind == EventKind.CHOICE.value:
            if not before or v.entry_id not in _offered(before[-1]):
                continue  # a pick of an entry the clarify did not offer is forged
            verdict = "picked"
        elif isinstance(helpful, bool):
            verdict = "helpful" if helpful else "unhelpful"
        else:
            continue
        if before and before[-1].text:
            found.append((v.id, v.conversation_id, before[-1].text, v.entry_id, verdict))
    for conversation in answered:
        for asked, again in _rephrases(timelines.get(conversation, ())):
            found.append((again.id, conversation, asked.text, asked.entry_id, "unhelpful"))
    found.sort(key=lambda f: -f[0])
    out, counted = [], set()
    per_conversation: dict[str, int] = {}
    for _, conversation, question, entry_id, verdict in found:
        if (conversation, question) in counted or per_conversation.get(conversation, 0) >= \
                MAX_VERDICTS_PER_CONVERSATION:
            continue
        counted.add((conversation, question))
        per_conversation[conversation] = per_conversation.get(conversation, 0) + 1
        out.append(AnswerVerdict(question, entry_id, verdict))
    return out


_TIMELINE_KINDS = (EventKind.MESSAGE.value, EventKind.CHOICE.value, EventKind.FEEDBACK.value,
                   EventKind.HANDOFF.value)


def _timelines(conversations: set[str], *, session: Session) -> dict[str, list[InteractionEvent]]:
    """The questions, picks, thumbs and requests for a person of each conversation, in order."""
    out: dict[str, list[InteractionEvent]] = {}
    for chunk in _chunks(sorted(conversations), 500):
        for event in session.scalars(
                select(InteractionEvent)
                .where(InteractionEvent.kind.in_(_TIMELINE_KINDS),
                       InteractionEvent.conversation_id.in_(chunk))
                .order_by(InteractionEvent.id)):
            out.setdefault(event.conversation_id, []).append(event)
    return out


def _rephrases(timeline) -> list[tuple[InteractionEvent, InteractionEvent]]:
    """(an answered question, the rephrase that followed it) pairs of one conversation."""
    pairs = []
    for first, after in zip(timeline, timeline[1:], strict=False):
        if (first.kind == after.kind == EventKind.MESSAGE.value and first.text and after.text
                and first.decision == DecisionKind.ANSWER and first.entry_id is not None
                and as_utc(after.occurred_at) - as_utc(first.occurred_at) <= REPHRASE_WITHIN
                and is_rephrase(first.text, after.text)):
            pairs.append((first, after))
    return pairs


@dataclass(frozen=True)
class CustomerSignal:
    """A customer's word on (entry, question), for candidate variants (knowledge.candidates):
    `confirms` True for a clarify pick that stood, or a thumbs-up on a direct answer; False
    for a thumbs-down."""
    event_id: int
    conversation_id: str
    entry_id: int
    question: str
    language: str
    confirms: bool
    occurred_at: datetime


def customer_signals(*, session: Session, after_id: int, until: datetime, limit: int = 5000
                     ) -> tuple[list[CustomerSignal], int]:
    """The signals of the picks and thumbs logged after event `after_id` and no later than
    `until` (the caller leaves conversations time to go on: a thumbs-down or a request for
    a person after a pick), and the id to continue after next time.

    A pick confirms the clarified question unless, in its conversation, a thumbs-down on
    that entry follows, or the customer asks for a person or rephrases the question
    (`is_rephrase`, within REPHRASE_WITHIN) before asking anything else. A thumbs-up
    confirms the question only when the bot answered it directly with that entry, or the
    customer picked that entry for it. A thumbs-down denies (question, entry)."""
    events = list(session.scalars(
        select(InteractionEvent)
        .where(InteractionEvent.id > after_id,
               InteractionEvent.kind.in_((EventKind.FEEDBACK.value, EventKind.CHOICE.value)))
        .order_by(InteractionEvent.id).limit(limit)))
    ready = []
    for event in events:
        if as_utc(event.occurred_at) > as_utc(until):
            break
        ready.append(event)
    last = ready[-1].id if ready else after_id
    timelines = _timelines({e.conversation_id for e in ready if e.entry_id is not None},
                           session=session)
    out = []
    for event in ready:
        if event.entry_id is None:
            continue
        signal = _signal_of(event, timelines.get(event.conversation_id, []))
        if signal is not None:
            out.append(signal)
    return out, last


def _signal_of(event: InteractionEvent, timeline: list[InteractionEvent]) -> CustomerSignal | None:
    before = [e for e in timeline if e.id < event.id]
    asked = [e for e in before if e.kind == EventKind.MESSAGE.value
             and e.decision in (DecisionKind.ANSWER, DecisionKind.CLARIFY)]
    if not asked or not asked[-1].text:
        return None
    question = asked[-1]
    after = [e for e in timeline if e.id > event.id]
    helpful = event.data.get("helpful") if isinstance(event.data, dict) else None
    if event.kind == EventKind.CHOICE.value:
        if (event.decision != DecisionKind.ANSWER or question.decision != DecisionKind.CLARIFY
                or event.entry_id not in _offered(question)):
            return None
        confirms = not _spoiled(event, question, after)
    elif helpful is False:
        confirms = False
    elif helpful is True:
        direct = question.decision == DecisionKind.ANSWER and question.entry_id == event.entry_id
        picked = event.entry_id in _offered(question) and any(
            e.kind == EventKind.CHOICE.value and e.entry_id == event.entry_id
            and e.id > question.id for e in before)
        if not (direct or picked) or _spoiled(event, question, after):
            return None
        confirms = True
    else:
        return None
    return CustomerSignal(event.id, event.conversation_id, event.entry_id, question.text,
                          question.language, confirms, as_utc(event.occurred_at))


def _offered(question: InteractionEvent) -> set[int]:
    """The entries a clarify offered as buttons: a pick's payload is the client's, so a pick
    of any other entry is forged and teaches nothing."""
    offered = question.data.get("candidates") if isinstance(question.data, dict) else None
    return {i for i in offered if isinstance(i, int)} if isinstance(offered, list) else set()


def _spoiled(event: InteractionEvent, question: InteractionEvent, after) -> bool:
    """Whether what followed `event` takes its confirmation back."""
    if any(e.kind == EventKind.FEEDBACK.value and e.entry_id == event.entry_id
           and isinstance(e.data, dict) and e.data.get("helpful") is False for e in after):
        return True
    for e in after:
        if e.kind == EventKind.HANDOFF.value:
            return True
        if e.kind == EventKind.MESSAGE.value:
            return (as_utc(e.occurred_at) - as_utc(event.occurred_at) <= REPHRASE_WITHIN
                    and is_rephrase(question.text, e.text))
    return False


@dataclass(frozen=True)
class DislikedEntry:
    """An entry that several customers disliked: for the operator's review."""
    entry_id: int
    down: int  # distinct conversations with a thumbs-down on it
    up: int
    questions: tuple[str, ...]  # what those customers had asked, latest first


FLAG_AFTER = 3  # distinct conversations with a thumbs-down
FLAG_WITHIN = timedelta(days=30)


def disliked_entries(*, session: Session, now: datetime, limit: int = 50
                     ) -> list[DislikedEntry]:
    """Entries with a thumbs-down from at least FLAG_AFTER distinct conversations within
    FLAG_WITHIN and more conversations down than up (each conversation's latest thumbs on
    the entry counts), most disliked first, with the questions that got the thumbs-down."""
    thumbs = session.execute(
        select(InteractionEvent.id, InteractionEvent.conversation_id, InteractionEvent.entry_id,
               InteractionEvent.data)
        .where(InteractionEvent.kind == EventKind.FEEDBACK.value,
               InteractionEvent.entry_id.is_not(None),
               InteractionEvent.occurred_at >= now - FLAG_WITHIN)
        .order_by(InteractionEvent.id))
    latest: dict[tuple[int, str], tuple[int, bool]] = {}
    for event_id, conversation, entry_id, data in thumbs:
        helpful = data.get("helpful") if isinstance(data, dict) else None
        if isinstance(helpful, bool):
            latest[(entry_id, conversation)] = (event_id, helpful)
    votes: dict[int, list[tuple[str, int, bool]]] = {}
    for (entry_id, conversation), (event_id, helpful) in latest.items():
        votes.setdefault(entry_id, []).append((conversation, event_id, helpful))
    flagged = []
    for entry_id, entry_votes in votes.items():
        down = [(c, i) for c, i, helpful in entry_votes if not helpful]
        if len(down) >= FLAG_AFTER and len(down) > len(entry_votes) - len(down):
            flagged.append((entry_id, down, len(entry_votes) - len(down)))
    flagged.sort(key=lambda f: (-len(f[1]), f[0]))
    flagged = flagged[:limit]
    timelines = _timelines({c for _, down, _ in flagged for c, _ in down}, session=session)
    out = []
    for entry_id, down, up in flagged:
        asked = []
        for conversation, event_id in sorted(down, key=lambda d: -d[1]):
            before = [e.text for e in timelines.get(conversation, ())
                      if e.id < event_id and e.kind == EventKind.MESSAGE.value and e.text]
            if before and before[-1] not in asked:
                asked.append(before[-1])
        out.append(DislikedEntry(entry_id, len(down), up, tuple(asked[:10])))
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
                    InteractionEvent.decision == DecisionKind.ANSWER,
                    InteractionEvent.entry_id.is_not(None),
                    InteractionEvent.language == language, InteractionEvent.occurred_at >= since)
             .group_by(InteractionEvent.entry_id)
             .order_by(answered.desc(), InteractionEvent.entry_id).limit(limit))
    return list(session.scalars(query))
