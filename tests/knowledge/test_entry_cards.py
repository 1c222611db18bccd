"""The entries a decision shows come from memory, and never outlive a change the index
has applied."""

from core import DecisionKind, session_scope
from knowledge import repository as repo
from knowledge.decision import Candidate
from knowledge.entry_cards import EntryCards
from knowledge.scoring import ScoredEntry


def _card(entry_id: int, answer: str) -> Candidate:
    return Candidate(entry_id=entry_id, key=f"k{entry_id}", score=0.0, matched_question="",
                     answer=answer, language="en", category="general", topic="")


def _scored(entry_id: int, variant_id: int, score: float = 0.9) -> ScoredEntry:
    return ScoredEntry(entry_id=entry_id, score=score, nearest=score, centroid=score, lexical=0.0,
                       variant_id=variant_id)


class Database:
    """A loader over a dict, counting its reads; `during_read` runs inside a read."""

    def __init__(self) -> None:
        self.answers = {1: "one", 2: "two"}
        self.texts = {10: "q ten", 20: "q twenty"}
        self.reads: list[tuple[list[int], list[int]]] = []
        self.during_read = None

    def __call__(self, entry_ids, variant_ids):
        self.reads.append((entry_ids, variant_ids))
        entries = {i: _card(i, self.answers[i]) for i in entry_ids if i in self.answers}
        texts = {i: self.texts[i] for i in variant_ids if i in self.texts}
        if self.during_read:
            self.during_read()
        return entries, texts


def test_a_second_search_reads_nothing_and_keeps_scores_and_order():
    cards, db = EntryCards(), Database()
    first = cards.candidates([_scored(2, 20, 0.8), _scored(1, 10, 0.7)], db)
    again = cards.candidates([_scored(1, 10, 0.66666), _scored(2, 20, 0.5)], db)
    assert len(db.reads) == 1
    assert [(c.entry_id, c.answer, c.matched_question, c.score) for c in first] == [
        (2, "two", "q twenty", 0.8), (1, "one", "q ten", 0.7)]
    assert [(c.entry_id, c.score) for c in again] == [(1, 0.6667), (2, 0.5)]


def test_a_forgotten_entry_is_read_again_and_a_gone_one_left_out():
    cards, db = EntryCards(), Database()
    cards.candidates([_scored(1, 10)], db)
    db.answers[1] = "one, edited"
    assert cards.candidates([_scored(1, 10)], db)[0].answer == "one"  # not applied yet
    cards.forget({1})
    assert cards.candidates([_scored(1, 10)], db)[0].answer == "one, edited"
    del db.answers[1]
    cards.forget()
    assert cards.candidates([_scored(1, 10), _scored(2, 20)], db)[0].entry_id == 2


def test_a_read_that_raced_with_a_change_is_used_once_not_kept():
    cards, db = EntryCards(), Database()
    db.during_read = lambda: cards.forget({1})  # the index applied a change meanwhile
    assert cards.candidates([_scored(1, 10)], db)[0].answer == "one"
    db.during_read = None
    db.answers[1] = "one, edited"
    assert cards.candidates([_scored(1, 10)], db)[0].answer == "one, edited"
    assert len(db.reads) == 2


def test_memory_is_bounded_least_recently_used_first():
    cards, db = EntryCards(max_entries=2, max_texts=2), Database()
    db.answers.update({3: "three"})
    db.texts.update({30: "q thirty"})
    cards.candidates([_scored(1, 10)], db)
    cards.candidates([_scored(2, 20)], db)
    cards.candidates([_scored(1, 10)], db)  # 1 used again: 2 is now the oldest
    cards.candidates([_scored(3, 30)], db)
    reads = len(db.reads)
    cards.candidates([_scored(1, 10)], db)
    assert len(db.reads) == reads
    cards.candidates([_scored(2, 20)], db)
    assert db.reads[-1] == ([2], [20])


def test_an_edited_answer_is_shown_once_the_index_applies_it(kb, add_entry, database_url):
    entry_id = add_entry("Shipping is free over EUR 59.", "How much does shipping cost?",
                         "What are the delivery charges?", key="ship")
    add_entry("Returns are free within 30 days.", "How do I return an item?",
              "Can I send back my order?", key="ret")
    kb.warm_up()
    assert kb.search("How much does shipping cost?").entry.answer.startswith("Shipping is free")
    loads = kb._cards.loads
    assert kb.search("How much does shipping cost?").kind is DecisionKind.ANSWER
    assert kb._cards.loads == loads  # from memory
    with session_scope(database_url) as s:
        repo.update_entry(repo.get_entry(entry_id, session=s), session=s, by="t", reason="r",
                          answer="Shipping costs EUR 3.", category="post_purchase", topic="costs")
    kb.sync(force=True)
    entry = kb.search("How much does shipping cost?").entry
    assert (entry.answer, entry.category, entry.topic) == (
        "Shipping costs EUR 3.", "post_purchase", "costs")
