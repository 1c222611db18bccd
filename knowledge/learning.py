"""Learning from an operator's answer: the question and answer of a ticket become
knowledge, so the bot answers that question, and its paraphrases, next time.

The question is first searched in the knowledge base. When the best entry is close
(at least the calibrated clarify threshold) and the operator's answer says the same
as that entry's (cosine of the answers), the question is a paraphrase: it joins that
entry as a new variant instead of duplicating it. Otherwise a new entry is created,
with the ticket as provenance. Both texts are cleaned first: control, bidi and zero-width
characters removed, the answer's greeting and the operator's signature block dropped
(`knowledge.answer_text`), personal data scrubbed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core import session_scope
from knowledge import repository as repo
from knowledge.answer_text import answer_body, clean_text
from knowledge.errors import InvalidEntry
from knowledge.models import Entry, EntryVersion, Source, Status
from knowledge.privacy import scrub
from knowledge.scoring import DecisionKind
from knowledge.service import KnowledgeBase

__all__ = ["Learned", "answer_body", "learn"]

SAME_ANSWER = 0.8  # cosine between two answers that say the same thing
PARAPHRASE_FLOOR = 0.55  # below this score the best entry cannot be the same question


@dataclass(frozen=True)
class Learned:
    entry_id: int
    key: str
    as_variant: bool  # True: the question joined an existing entry
    status: str
    question: str  # as stored, scrubbed
    answer: str


def learn(kb: KnowledgeBase, *, question: str, answer: str, language: str, ticket_id: int,
          operator: str, category: str = "general", review: bool = False,
          variant_of: int | None = None) -> Learned:
    """Store what the operator taught; raises InvalidEntry when nothing usable is left.
    `variant_of`: the entry whose answer the operator picked; the question joins it (when
    that entry is gone or no longer published, the answer is learned as written)."""
    region = "IT" if language == "it" else "GB"
    names = (kb.settings.shop_name, operator.partition("@")[0])
    # A question is one line, as the chat sends it and the index stores it.
    clean_question = " ".join(scrub(clean_text(question), region).split())
    # Scrubbing may leave a placeholder first ("[name], ..."); the capital is checked after.
    clean_answer = answer_body(scrub(answer_body(answer, names=names), region))
    if not clean_question or not clean_answer:
        raise InvalidEntry("nothing left to learn after removing greetings and personal data")
    reason = f"learned from ticket {ticket_id}"
    with session_scope(kb.url) as session:
        if (done := _learned_before(reason, session=session)) is not None:
            return done  # a restart after a crash: never learn the same ticket twice
    target = None
    if variant_of is not None:
        with session_scope(kb.url) as session:
            target = variant_of if repo.published_entry(variant_of, session=session) else None
    target = target or _paraphrase_of(kb, clean_question, clean_answer, language)
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
                key=_free_key(language, clean_question, ticket_id, session=session),
                answer=clean_answer, questions=(clean_question,), language=language,
                category=category, status=status, source=Source.OPERATOR.value,
                source_ref=f"ticket {ticket_id}", ticket_id=ticket_id, author=operator,
            ), session=session, reason=reason)
            learned = Learned(entry.id, entry.key, False, status, clean_question, entry.answer)
    kb.sync(force=True)  # answerable now, not at the next periodic check
    return learned


def _free_key(language: str, question: str, ticket_id: int, *, session) -> str:
    """The question's key; the same wording learned before with another answer (a second
    ticket) gets the ticket number too, instead of failing on the unique key forever."""
    key = repo.make_key(language, question)
    if session.scalar(select(Entry.id).where(Entry.key == key)) is None:
        return key
    return f"{key}-t{ticket_id}"


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
    if decision.kind is DecisionKind.ESCALATE and decision.score < PARAPHRASE_FLOOR:
        return None
    for candidate in decision.candidates[:3]:
        vectors = kb.embedder.embed_batch([answer, candidate.answer])
        if float(vectors[0] @ vectors[1]) >= SAME_ANSWER:
            return candidate.entry_id
    return None
