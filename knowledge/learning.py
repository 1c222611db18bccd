"""Learning from an operator's answer: the question and answer of a ticket become
knowledge, so the bot answers that question, and its paraphrases, next time.

The question is first searched in the knowledge base. When the best entry is close
(at least the calibrated clarify threshold) and the operator's answer says the same
as that entry's (cosine of the answers), the question is a paraphrase: it joins that
entry as a new variant instead of duplicating it. Otherwise a new entry is created,
with the ticket as provenance. Personal data is scrubbed from both texts first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from core import session_scope
from knowledge import repository as repo
from knowledge.errors import InvalidEntry
from knowledge.models import EntryVersion, Source, Status
from knowledge.privacy import scrub
from knowledge.scoring import DecisionKind
from knowledge.service import KnowledgeBase

SAME_ANSWER = 0.8  # cosine between two answers that say the same thing
_GREETING = re.compile(
    r"^\s*(ciao|salve|buongiorno|buonasera|gentile|gentilissim[ao]|egregi[ao]|caro|cara|hi|"
    r"hello|dear|good (morning|afternoon|evening))\b[^\n]{0,60}[,!:]?\s*$", re.IGNORECASE)
_SIGN_OFF = re.compile(
    r"^\s*(un saluto|saluti|cordiali saluti|distinti saluti|buona giornata|a presto|grazie|"
    r"grazie mille|best|best regards|kind regards|regards|thanks|thank you|cheers)\b[^\n]{0,40}$",
    re.IGNORECASE)


@dataclass(frozen=True)
class Learned:
    entry_id: int
    key: str
    as_variant: bool  # True: the question joined an existing entry
    status: str
    question: str  # as stored, scrubbed
    answer: str


def answer_body(text: str) -> str:
    """The reusable part of an email answer: no greeting line, no sign-off ("Saluti,\nMarco")."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if lines and _GREETING.match(lines[0]):
        lines = lines[1:]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) >= 2 and _is_sign_off(lines[-2]) and len(lines[-1].split()) <= 3:
        lines = lines[:-2]  # sign-off and the operator's name
    elif len(lines) >= 2 and _is_sign_off(lines[-1]):
        lines = lines[:-1]
    return "\n".join(lines).strip()


def _is_sign_off(line: str) -> bool:
    return len(line.split()) <= 4 and bool(_SIGN_OFF.match(line))


def learn(kb: KnowledgeBase, *, question: str, answer: str, language: str, ticket_id: int,
          operator: str, category: str = "general", review: bool = False) -> Learned:
    """Store what the operator taught; raises InvalidEntry when nothing usable is left."""
    region = "IT" if language == "it" else "GB"
    clean_question = scrub(question, region).strip()
    clean_answer = scrub(answer_body(answer), region).strip()
    if not clean_question or not clean_answer:
        raise InvalidEntry("nothing left to learn after removing greetings and personal data")
    reason = f"learned from ticket {ticket_id}"
    with session_scope(kb.url) as session:
        if (done := _learned_before(reason, session=session)) is not None:
            return done  # a restart after a crash: never learn the same ticket twice
    target = _paraphrase_of(kb, clean_question, clean_answer, language)
    status = Status.DRAFT.value if review else Status.PUBLISHED.value
    with session_scope(kb.url) as session:
        if target is not None:
            entry = repo.get_entry(target, session=session)
            repo.update_entry(entry, session=session, by=operator, reason=reason,
                              add_questions=(clean_question,))
            learned = Learned(entry.id, entry.key, True, entry.status.value, clean_question,
                              entry.answer)
        else:
            entry = repo.create_entry(repo.EntryDraft(
                answer=clean_answer, questions=(clean_question,), language=language,
                category=category, status=status, source=Source.OPERATOR.value,
                source_ref=f"ticket {ticket_id}", ticket_id=ticket_id, author=operator,
            ), session=session, reason=reason)
            learned = Learned(entry.id, entry.key, False, status, clean_question, entry.answer)
    kb.sync(force=True)  # answerable now, not at the next periodic check
    return learned


def _learned_before(reason: str, *, session) -> Learned | None:
    version = session.scalars(select(EntryVersion).where(EntryVersion.reason == reason)
                              .order_by(EntryVersion.id).limit(1)).first()
    if version is None:
        return None
    entry = repo.get_entry(version.entry_id, session=session)
    return Learned(entry.id, entry.key, version.version > 1, entry.status.value,
                   version.questions[-1] if version.questions else "", entry.answer)


def _paraphrase_of(kb: KnowledgeBase, question: str, answer: str, language: str) -> int | None:
    decision = kb.search(question, language=language)
    if decision.kind is DecisionKind.ESCALATE and decision.score < kb.thresholds().clarify:
        return None
    for candidate in decision.candidates[:3]:
        vectors = kb.embedder.embed_batch([answer, candidate.answer])
        if float(vectors[0] @ vectors[1]) >= SAME_ANSWER:
            return candidate.entry_id
    return None
