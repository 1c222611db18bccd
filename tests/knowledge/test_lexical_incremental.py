"""The BM25 index updated in place scores exactly as a fresh build (and as bm25s, which
built it before), and a KB change touches only the changed entries."""

from __future__ import annotations

import random

import bm25s
import numpy as np
import pytest

from core import DecisionKind, session_scope
from knowledge import lexical
from knowledge import repository as repo
from knowledge.embedders import HashingEmbedder
from knowledge.lexical import LexicalIndex, tokenize

WORDS = ("order refund parcel invoice voucher gift card shipping return broken size colour "
         "delivery tracking paypal klarna store opening hours warranty exchange discount "
         "x100 zx-9 modello spedizione reso").split()


def random_text(rng: random.Random) -> str:
    n = rng.randint(0, 9)
    words = [rng.choice(WORDS[: rng.randint(3, len(WORDS))]) for _ in range(n)]
    if rng.random() < 0.3:
        words += ["the", "is", "of"]  # stop words: no weight, no length
    return " ".join(words)


SEARCHABLE = repo.searchable_variants  # unpatched, for the checks themselves
QUERIES = ["order refund", "refund refund parcel", "zx-9 modello", "gift card voucher",
           "shipping delivery tracking colour", "the is of", "unknownword", "x100 x100 x100",
           " ".join(WORDS)]


def fresh(docs: dict[int, str]) -> LexicalIndex:
    index = LexicalIndex()
    index.build(list(docs), list(docs.values()))
    return index


def assert_same_scores(index: LexicalIndex, docs: dict[int, str]) -> None:
    reference = fresh(docs)
    assert len(index) == len(docs)
    for query in QUERIES:
        got, want = index.scores(query), reference.scores(query)
        assert got.keys() == want.keys(), query
        for variant_id, score in want.items():
            assert got[variant_id] == pytest.approx(score, rel=1e-9, abs=1e-12), (query, variant_id)


def test_scores_equal_those_of_bm25s():
    """The formula, parameters, repeated query words and empty questions as bm25s had them,
    so the calibrated confidence models see the same lexical feature."""
    rng = random.Random(7)
    texts = [random_text(rng) for _ in range(300)] + ["", "the is of"]
    index = LexicalIndex()
    index.build(list(range(100, 100 + len(texts))), texts)
    retriever = bm25s.BM25()
    retriever.index([tokenize(t) or ["\u2205"] for t in texts], show_progress=False)
    compared = 0
    for query in QUERIES:
        tokens = [t for t in tokenize(query) if t in retriever.vocab_dict]
        if not tokens:
            assert index.scores(query) == {}
            continue
        expected = retriever.get_scores(tokens)
        got = index.scores(query)
        assert set(got) == {100 + i for i in np.flatnonzero(expected > 0)}
        for i in np.flatnonzero(expected > 0):
            assert got[100 + int(i)] == pytest.approx(float(expected[i]), rel=1e-5)
            compared += 1
    assert compared > 300


def test_random_adds_replacements_and_removals_match_a_fresh_build(monkeypatch):
    """Property-style, fixed seed: after every few random changes (new questions, an id
    replaced, removals, enough to compact one word's postings and the whole index) the
    scores equal a fresh build's."""
    monkeypatch.setattr(lexical, "_MIN_COMPACT", 16)  # reach the whole compaction too
    monkeypatch.setattr(lexical, "_CACHE_POSTINGS", 1)  # every word's scores kept until a change
    rng = random.Random(12)
    docs = {i: random_text(rng) for i in range(1, 120)}
    index = fresh(docs)
    next_id = 1000
    compacted = 0
    for step in range(400):
        removed, added = [], []
        for _ in range(rng.randint(1, 4)):
            action = rng.random()
            if action < 0.35 or not docs:
                added.append((next_id, random_text(rng)))
                next_id += 1
            elif action < 0.5:  # an id given again with another text: replaced
                added.append((rng.choice(list(docs)), random_text(rng)))
            else:
                removed.append(rng.choice(list(docs)))
        removed.append(999_999)  # unknown ids are ignored
        slots_before = index._ids.size
        index.update(removed=removed, added=added)
        compacted += index._ids.size < slots_before
        for variant_id in removed:
            docs.pop(variant_id, None)
        docs.update(added)
        if step % 20 == 19:
            assert_same_scores(index, docs)
    assert_same_scores(index, docs)
    assert compacted >= 2


def test_search_returns_the_k_best():
    rng = random.Random(3)
    docs = {i: random_text(rng) for i in range(500)}
    index = fresh(docs)
    everything = index.scores("order refund gift")
    top = index.search("order refund gift", 10)
    assert len(top) == 10 and len(everything) > 10
    assert min(top.values()) >= sorted(everything.values(), reverse=True)[9] - 1e-12
    assert index.search("", 10) == {} and index.search("the is of", 10) == {}
    assert LexicalIndex().search("order", 10) == {}


def test_uncovered_words_are_those_none_of_the_entrys_questions_has():
    index = fresh({1: "my card is damaged", 2: "card broken", 3: "report a stolen card"})
    damaged = [1, 2]
    assert index.uncovered_share("a card was stolen", damaged) == pytest.approx(1 / 2)
    assert index.uncovered_share("damaged broken card", damaged) == 0.0
    assert index.uncovered_share("the is of", damaged) == 0.0  # no words at all
    assert index.uncovered_share("card", [99]) == 1.0  # questions not in the index: none
    index.update(removed=[1])
    assert index.uncovered_share("damaged card", damaged) == pytest.approx(1 / 2)
    index.update(added=[(4, "stolen card")])
    assert index.uncovered_share("a card was stolen", [2, 4]) == 0.0


def test_an_update_never_rebuilds(monkeypatch):
    index = fresh({1: "order refund", 2: "gift card"})
    monkeypatch.setattr(LexicalIndex, "build", lambda *a: pytest.fail("rebuilt"))
    index.update(removed=[1], added=[(3, "refund my order")])
    assert set(index.scores("order")) == {3}


# -- the knowledge base applies changes in place -------------------------------------------
@pytest.fixture
def counted(kb, monkeypatch):
    """Counts the questions embedded and records full reads of the published questions."""
    calls = {"embedded": 0, "full_reads": 0}
    embed_many = kb.embedder.embed_many

    def counting_embed(texts):
        calls["embedded"] += len(texts)
        return embed_many(texts)

    searchable = repo.searchable_variants

    def recording(*, session, entry_ids=None):
        calls["full_reads"] += entry_ids is None
        return searchable(session=session, entry_ids=entry_ids)

    monkeypatch.setattr(kb.embedder, "embed_many", counting_embed)
    monkeypatch.setattr(repo, "searchable_variants", recording)
    return calls


def lexical_matches_the_database(kb) -> None:
    with session_scope(kb.url) as session:
        rows = SEARCHABLE(session=session)
    reference = LexicalIndex()
    reference.build([r[0] for r in rows], [r[2] for r in rows])
    for query in ("shipping cost", "return item", "gift vouchers card", "paypal"):
        got, want = kb._maps.lexical.scores(query), reference.scores(query)
        assert got.keys() == want.keys()
        assert all(got[v] == pytest.approx(want[v], rel=1e-9) for v in want)


def test_a_change_reads_and_embeds_only_the_changed_entry(kb, add_entry, counted, database_url):
    shipping = add_entry("Shipping is EUR 4.", "How much does shipping cost?", "Is shipping free?",
                         "What does delivery cost?")
    returns = add_entry("Returns are free.", "How do I return an item?", "Can I send it back?")
    kb.warm_up()
    counted.update(embedded=0, full_reads=0)

    with session_scope(database_url) as s:  # a variant joins an entry of three questions
        repo.update_entry(repo.get_entry(shipping, session=s), session=s, by="op", reason="r",
                          add_questions=("Do you charge for shipping?",))
    decision = kb.search("Do you charge for shipping?")
    assert decision.kind is DecisionKind.ANSWER and decision.entry.entry_id == shipping
    assert counted == {"embedded": 1, "full_reads": 0}  # the new question only, not all four
    lexical_matches_the_database(kb)

    gift = add_entry("From 25 euros.", "Do you sell gift vouchers?", "Can I buy a gift card?")
    with session_scope(database_url) as s:
        repo.update_entry(repo.get_entry(returns, session=s), session=s, by="op", reason="r",
                          status="retired")
    kb.sync(force=True)
    assert counted["full_reads"] == 0
    assert kb.search("Can I buy a gift card?").entry.entry_id == gift
    assert all(c.entry_id != returns for c in kb.search("How do I return an item?").candidates)
    lexical_matches_the_database(kb)
    with session_scope(database_url) as s:
        variant_ids = {r[0] for r in SEARCHABLE(session=s)}
    assert set(kb._index.ids().tolist()) == variant_ids


def test_a_removed_question_leaves_the_centroid_and_the_lexical_index(kb, add_entry, database_url):
    shipping = add_entry("Shipping is EUR 4.", "How much does shipping cost?", "Is shipping free?",
                         "Do you ship parcels by zeppelin?")
    kb.warm_up()
    assert kb._maps.lexical.scores("zeppelin")
    with session_scope(database_url) as s:
        repo.update_entry(repo.get_entry(shipping, session=s), session=s, by="op", reason="r",
                          remove_questions=("Do you ship parcels by zeppelin?",))
    kb.sync(force=True)
    assert kb._maps.lexical.scores("zeppelin") == {}
    vectors = HashingEmbedder().embed_many(["How much does shipping cost?", "Is shipping free?"])
    centroid = vectors.mean(axis=0)
    np.testing.assert_allclose(kb._maps.centroids[shipping], centroid / np.linalg.norm(centroid),
                               atol=1e-6)
    lexical_matches_the_database(kb)


def test_the_languages_follow_the_changes(kb, add_entry, database_url):
    add_entry("Shipping is EUR 4.", "How much does shipping cost?")
    italian = add_entry("La spedizione costa 4 euro.", "Quanto costa la spedizione?",
                        "La spedizione è gratuita?", language="it")
    kb.warm_up()
    assert kb.languages() == {"en", "it"}
    with session_scope(database_url) as s:  # a question more: Italian is counted once still
        repo.update_entry(repo.get_entry(italian, session=s), session=s, by="op", reason="r",
                          add_questions=("Quanto costa spedire?",))
    kb.sync(force=True)
    assert kb._maps._entries_in["it"] == 1
    with session_scope(database_url) as s:
        repo.update_entry(repo.get_entry(italian, session=s), session=s, by="op", reason="r",
                          status="retired")
    kb.sync(force=True)
    assert kb.languages() == {"en"}
    add_entry("Sì.", "Spedite in Svizzera?", language="it")
    kb.sync(force=True)
    assert kb.languages() == {"en", "it"}
