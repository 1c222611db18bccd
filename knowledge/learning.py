"""Learning from an operator's answer: the question and answer of a ticket become
knowledge, so the bot answers that question, and its paraphrases, next time.

An answer that is word for word a published entry's own (the operator sent the FAQ's
text, or the same answer as to an earlier ticket) makes the question a new way of asking
that entry, however it is worded, unless it is too short to mean anything without its
question ("Sì, certo."). Otherwise the question is searched in the knowledge
base. When the best entry is close (at least the calibrated clarify threshold) and the
operator's answer says the same as that entry's (cosine of the answers), the question is
a paraphrase: it joins that entry as a new variant instead of duplicating it. Otherwise a
new entry is created, with the ticket as provenance. Both texts are cleaned first: control,
bidi and zero-width characters removed, the answer's greeting and the operator's signature
block dropped (`knowledge.answer_text`), personal data scrubbed.

A new entry never silently contradicts an old one. When the question is not a paraphrase
but the knowledge base would have offered a published entry of the same language for it
(the search decides answer or clarify, i.e. its score reaches the clarify level) and that
entry's answer says something else, the learned entry is stored as a draft with
`conflict_with` naming that entry. The console's review list (`conflicts`) shows both; the
operator publishes it as a separate entry, merges its question into the other one, or
replaces the other one's answer (`resolve_conflict`). The ticket's customer is not
affected: delivery happens before learning and never reads its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core import session_scope
from knowledge import repository as repo
from knowledge.answer_text import answer_body, clean_text
from knowledge.errors import InvalidEntry
from knowledge.lexical import tokenize
from knowledge.models import Entry, EntryVersion, Source, Status
from knowledge.privacy import scrub
from knowledge.scoring import DecisionKind
from knowledge.service import KnowledgeBase

__all__ = ["Conflict", "ConflictError", "Learned", "answer_body", "clean_question", "conflicts",
           "learn", "resolve_conflict"]

SAME_ANSWER = 0.8  # cosine between two answers that say the same thing
PARAPHRASE_FLOOR = 0.55  # below this score the best entry cannot be the same question
# An answer this short ("Sì, certo.") means something only with its question: the same
# words under two questions do not make them one.
SELF_CONTAINED_WORDS = 4


@dataclass(frozen=True)
class Learned:
    entry_id: int
    key: str
    as_variant: bool  # True: the question joined an existing entry
    status: str
    question: str  # as stored, scrubbed
    answer: str
    conflict_with: int | None = None  # kept as a draft: it contradicts this entry


def clean_question(question: str, language: str) -> str:
    """A customer's question as the knowledge base may store it: one line, control
    characters dropped, personal data scrubbed. Learned and confirmed questions alike."""
    region = "IT" if language == "it" else "GB"
    return " ".join(scrub(clean_text(question), region).split())


def learn(kb: KnowledgeBase, *, question: str, answer: str, language: str, ticket_id: int,
          operator: str, category: str = "general", review: bool = False,
          variant_of: int | None = None) -> Learned:
    """Store what the operator taught; raises InvalidEntry when nothing usable is left.
    `variant_of`: the entry whose answer the operator picked; the question joins it (when
    that entry is gone or no longer published, the answer is learned as written)."""
    region = "IT" if language == "it" else "GB"
    names = (kb.settings.shop_name, operator.partition("@")[0])
    # A question is one line, as the chat sends it and the index stores it.
    question_text = clean_question(question, language)
    # Scrubbing may leave a placeholder first ("[name], ..."); the capital is checked after.
    clean_answer = answer_body(scrub(answer_body(answer, names=names), region))
    if not question_text or not clean_answer:
        raise InvalidEntry("nothing left to learn after removing greetings and personal data")
    reason = f"learned from ticket {ticket_id}"
    with session_scope(kb.url) as session:
        if (done := _learned_before(reason, session=session)) is not None:
            return done  # a restart after a crash: never learn the same ticket twice
        target = _chosen_entry(variant_of, (clean_answer, clean_text(answer).strip()),
                               language, session=session)
    conflict = None
    if target is None:
        target, conflict = _closest(kb, question_text, clean_answer, language)
    status = Status.DRAFT.value if review or conflict else Status.PUBLISHED.value
    with session_scope(kb.url) as session:
        if target is not None:
            entry = repo.get_entry(target, session=session)
            repo.update_entry(entry, session=session, by=operator, reason=reason,
                              add_questions=(question_text,))
            learned = Learned(entry.id, entry.key, True, entry.status.value, question_text,
                              entry.answer)
        else:
            entry = repo.create_entry(repo.EntryDraft(
                key=_free_key(language, question_text, ticket_id, session=session),
                answer=clean_answer, questions=(question_text,), language=language,
                category=category, status=status, source=Source.OPERATOR.value,
                source_ref=f"ticket {ticket_id}", ticket_id=ticket_id, author=operator,
            ), session=session, reason=reason)
            entry.conflict_with = conflict
            learned = Learned(entry.id, entry.key, False, status, question_text, entry.answer,
                              conflict)
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
                   version.questions[-1] if version.questions else "", entry.answer,
                   entry.conflict_with)


def _chosen_entry(variant_of: int | None, answers: tuple[str, str], language: str, *,
                  session) -> int | None:
    """The entry the operator chose for the question: the one picked (while published), else
    the one whose answer is theirs word for word (`answers`: cleaned, and as sent), if long
    enough to mean something without its question."""
    if variant_of is not None and repo.published_entry(variant_of, session=session):
        return variant_of
    if len(tokenize(answers[0])) < SELF_CONTAINED_WORDS:
        return None
    return repo.entry_answering_with(tuple(set(answers)), language, session=session)


def _closest(kb: KnowledgeBase, question: str, answer: str, language: str
             ) -> tuple[int | None, int | None]:
    """(the entry the question is a paraphrase of, the entry it would contradict): one
    search. A contradiction needs an entry the KB would have offered (answer or clarify)
    in the same language whose answer is not the operator's."""
    decision = kb.search(question, language=language)
    if decision.kind is DecisionKind.ESCALATE and decision.score < PARAPHRASE_FLOOR:
        return None, None
    for candidate in decision.candidates[:3]:
        vectors = kb.embedder.embed_batch([answer, candidate.answer])
        if float(vectors[0] @ vectors[1]) >= SAME_ANSWER:
            return candidate.entry_id, None
    top = decision.candidates[0] if decision.candidates else None
    if decision.kind is DecisionKind.ESCALATE or top is None or top.language != language:
        return None, None
    return None, top.entry_id


# -- the review of contradicting learned answers ------------------------------------------
class ConflictError(InvalidEntry):
    """A conflict that cannot be resolved as asked (already resolved, unknown action)."""


@dataclass(frozen=True)
class Conflict:
    """A learned draft and the published entry it contradicts, for the review list."""
    draft_id: int
    draft_key: str
    question: str
    answer: str
    ticket_id: int | None
    other_id: int
    other_key: str
    other_answer: str
    other_status: str


RESOLUTIONS = ("publish", "merge", "replace")


def conflicts(*, session, limit: int = 100) -> list[Conflict]:
    """Learned drafts waiting because they contradict an entry, oldest first."""
    drafts = session.scalars(select(Entry).where(Entry.status == Status.DRAFT,
                                                 Entry.conflict_with.is_not(None))
                             .order_by(Entry.id).limit(limit)).all()
    others = repo.entries_by_id([d.conflict_with for d in drafts], session=session)
    out = []
    for draft in drafts:
        other = others.get(draft.conflict_with)
        out.append(Conflict(
            draft.id, draft.key, draft.questions[0].text if draft.questions else "",
            draft.answer, draft.ticket_id, draft.conflict_with, other.key if other else "",
            other.answer if other else "", other.status.value if other else "deleted"))
    return out


def resolve_conflict(draft_id: int, action: str, operator: str, *, session) -> str:
    """The operator's decision on a conflicting draft; returns what was done (Italian, for
    the console). publish: both stay, as separate entries; merge: the draft's questions join
    the other entry, the draft is retired; replace: the other entry takes the draft's answer
    and questions, the draft is retired."""
    if action not in RESOLUTIONS:
        raise ConflictError(f"unknown action {action!r} (use one of {', '.join(RESOLUTIONS)})")
    draft = repo.get_entry(draft_id, session=session)
    if draft.status is not Status.DRAFT or draft.conflict_with is None:
        raise ConflictError(f"entry {draft.key} is not a conflicting draft (already decided?)")
    other_id, draft.conflict_with = draft.conflict_with, None
    if action == "publish":
        repo.update_entry(draft, session=session, by=operator, status=Status.PUBLISHED.value,
                          reason="pubblicata come voce separata dalla console")
        return f"Voce {draft.key} pubblicata come voce separata."
    other = repo.published_entry(other_id, session=session)
    if other is None:
        raise ConflictError(f"entry {other_id} is no longer published: publish the draft instead")
    questions = tuple(q.text for q in draft.questions)
    repo.update_entry(other, session=session, by=operator, add_questions=questions,
                      answer=draft.answer if action == "replace" else None,
                      reason=f"{'risposta sostituita' if action == 'replace' else 'domande unite'}"
                             f" dalla voce {draft.key} (console)")
    repo.update_entry(draft, session=session, by=operator, status=Status.RETIRED.value,
                      reason=f"unita alla voce {other.key} dalla console")
    verb = "ha ora la risposta e le domande" if action == "replace" else "ha ora le domande"
    return f"La voce {other.key} {verb} della bozza {draft.key}."
