"""Probes for the confidence model, on a synthetic KB of clustered unit vectors."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.calibration import (
    BANK_NEAR_DUPLICATE,
    FoldSearch,
    Query,
    collect_probes,
    unanswerable_bank,
)
from knowledge.confidence import FEATURES, train

DIM = 32
QUESTIONS = FEATURES.index("questions")


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def text(rng, tag):
    """A few content words (3-7), the same spread for KB and bank questions."""
    return " ".join(f"{tag}w{rng.integers(40)}" for _ in range(rng.integers(3, 8)))


def make_kb(n_entries=12, per=6, seed=0):
    """Entries far apart (random directions in 32 dimensions), questions close to their entry.
    Entry ids are not 0..n-1, so an id mixed up with a row index shows."""
    rng = np.random.default_rng(seed)
    centers = unit(rng.normal(size=(n_entries, DIM)))
    ids = 7 * np.arange(n_entries) + 3
    row_entry = np.repeat(np.arange(n_entries), per)
    vectors = unit(centers[row_entry] + 0.08 * rng.normal(size=(len(row_entry), DIM)))
    texts = [text(rng, f"e{e}") for e in row_entry]
    return ids[row_entry], vectors, texts, centers


def make_bank(n=40, seed=1):
    rng = np.random.default_rng(seed)
    return unit(rng.normal(size=(n, DIM))), [text(rng, "bank") for _ in range(n)]


def with_near_duplicates(kb_vectors, bank):
    """The bank plus a copy of a KB question and one at cosine 0.95 to another."""
    rng = np.random.default_rng(2)
    vectors, texts = bank
    target = kb_vectors[10]
    other = rng.normal(size=DIM)
    other = unit(other - (other @ target) * target)
    close = 0.95 * target + np.sqrt(1 - 0.95**2) * other
    return np.vstack([vectors, kb_vectors[3], close]), texts + ["copy", "close copy"]


@pytest.fixture(scope="module")
def kb():
    return make_kb()


@pytest.fixture(scope="module")
def probes(kb):
    entry_of, vectors, texts, _ = kb
    return collect_probes(entry_of, vectors, texts, bank=make_bank(), seed=0)


# 1. the bank -------------------------------------------------------------------------------

def test_unanswerable_bank():
    bank = unanswerable_bank()
    assert len(bank) >= 400
    assert {q.language for q in bank} >= {"it", "en"}
    assert sum(q.language == "it" for q in bank) >= 100 <= sum(q.language == "en" for q in bank)
    texts = [q.text.strip().casefold() for q in bank]
    assert len(set(texts)) == len(texts) and all(texts)


# 2. collecting probes ----------------------------------------------------------------------

def test_probes_of_the_three_sources(probes):
    n = len(probes.x)
    assert probes.x.shape == (n, len(FEATURES)) and np.isfinite(probes.x).all()
    for field in ("in_scope", "right", "among", "offerable", "source"):
        assert len(getattr(probes, field)) == n
    variant, entry, bank = (probes.source == s for s in ("variant", "entry", "bank"))
    assert (variant | entry | bank).all()
    # every bank question is searched exactly once; every entry is hidden in exactly one fold
    # (all 6 of its questions asked); the other 4 folds hide one question of it each
    assert (bank.sum(), entry.sum(), variant.sum()) == (40, 72, 48)
    # a hidden entry's questions are one topic (knowledge.risk); every other probe has none
    topics, sizes = np.unique(probes.group[entry], return_counts=True)
    assert len(topics) == 12 and (sizes == 6).all() and (topics >= 0).all()
    assert (probes.group[~entry] == -1).all()
    assert (probes.in_scope == variant).all()
    assert not (probes.right | probes.among)[~variant].any()
    # clusters far apart: a hidden question finds its own entry
    assert probes.right[variant].mean() > 0.9
    # only an offer holds the right entry among its buttons
    assert not (probes.among & ~probes.offerable).any()


def test_bank_near_duplicates_are_left_out(kb):
    entry_of, vectors, texts, _ = kb
    bank = with_near_duplicates(vectors, make_bank())
    nearest = (bank[0] @ vectors.T).max(axis=1)
    assert (nearest[-2:] >= BANK_NEAR_DUPLICATE).all() and (nearest[:-2] < 0.8).all()
    probes = collect_probes(entry_of, vectors, texts, bank=bank, seed=0)
    assert (probes.source == "bank").sum() == 40
    # kept questions are far from the KB, so their best score stays low; a copy would score ~1
    score = probes.x[probes.source == "bank", FEATURES.index("score")]
    assert score.max() < 0.8


def test_single_question_entries_give_no_variant_probes():
    rng = np.random.default_rng(3)
    vectors = unit(rng.normal(size=(12, DIM)))
    texts = [text(rng, f"e{i}") for i in range(12)]
    probes = collect_probes(np.arange(12) * 5, vectors, texts, bank=make_bank(), seed=0)
    assert not (probes.source == "variant").any() and not probes.in_scope.any()
    assert (probes.source == "entry").sum() == 12 and (probes.source == "bank").sum() == 40


def test_fewer_than_three_entries():
    entry_of, vectors, texts, _ = make_kb(n_entries=2)
    probes = collect_probes(entry_of, vectors, texts, bank=make_bank(), seed=0)
    assert (probes.source == "bank").all() and len(probes.x) == 40
    assert not probes.in_scope.any()
    nothing = collect_probes(entry_of, vectors, texts, seed=0)
    assert nothing.x.shape == (0, len(FEATURES)) and len(nothing.source) == 0


def test_same_seed_same_probes(kb, probes):
    entry_of, vectors, texts, _ = kb
    again = collect_probes(entry_of, vectors, texts, bank=make_bank(), seed=0)
    for field in ("x", "in_scope", "right", "among", "offerable", "source"):
        assert np.array_equal(getattr(again, field), getattr(probes, field)), field
    other = collect_probes(entry_of, vectors, texts, bank=make_bank(), seed=1)
    assert not np.array_equal(other.x, probes.x)  # the seed picks the folds


def test_lexical_features_follow_the_texts(kb):
    entry_of, vectors, texts, _ = kb
    probes = collect_probes(entry_of, vectors, texts, bank=make_bank(), lexical_weight=0.2)
    lexical = probes.x[:, FEATURES.index("lexical")]
    # hidden questions share their entry's words; bank texts share none with the KB
    assert (lexical[probes.source == "variant"] > 0).mean() > 0.8
    assert not lexical[probes.source == "bank"].any()


def test_classifier_features_only_where_the_live_search_has_a_classifier(kb):
    """Each fold fits its own classifier on the questions it leaves visible: a hidden
    question of a kept entry is mostly classified as it, a hidden entry's question cannot be."""
    entry_of, vectors, texts, _ = kb
    columns = [FEATURES.index(f) for f in ("classifier_best", "classifier_max",
                                           "classifier_agrees")]
    plain = collect_probes(entry_of, vectors, texts, bank=make_bank(), seed=0)
    assert not plain.x[:, columns].any()
    probes = collect_probes(entry_of, vectors, texts, bank=make_bank(), seed=0, classify=True)
    best = probes.x[:, columns[0]]
    variant, entry = probes.source == "variant", probes.source == "entry"
    assert np.median(best[variant & probes.right]) > 0.5
    assert np.median(best[entry]) < np.median(best[variant & probes.right])


# 3. the questions feature gives nothing away -----------------------------------------------

@pytest.mark.parametrize("per", [6, 10])
def test_questions_feature_is_the_same_for_bank_and_variants(per):
    entry_of, vectors, texts, _ = make_kb(per=per)
    probes = collect_probes(entry_of, vectors, texts, bank=make_bank(), seed=0)
    q = probes.x[:, QUESTIONS]
    by_source = {s: np.sort(q[probes.source == s]) for s in ("variant", "entry", "bank")}
    assert all(len(v) for v in by_source.values())
    # every entry visible in a fold has lost the same number of questions: one value for all
    assert set(by_source["bank"].tolist()) == set(by_source["variant"].tolist())
    assert set(by_source["entry"].tolist()) == set(by_source["variant"].tolist())
    assert len(set(q.tolist())) == 1 and q[0] < np.log1p(per)


# 4. end to end -----------------------------------------------------------------------------

def test_trained_model_trusts_near_queries_more_than_far_ones(kb, probes):
    entry_of, vectors, texts, centers = kb
    model = train(probes, budget=0.02, clarify_at=0.8, share=0.5)
    assert 0.5 <= model.answer_at <= 1.0
    rng = np.random.default_rng(4)
    near = unit(centers[rng.integers(len(centers), size=30)] + 0.08 * rng.normal(size=(30, DIM)))
    far = unit(rng.normal(size=(30, DIM)))
    whole = FoldSearch(np.arange(len(entry_of)), entry_of, vectors, texts, 0.0)

    def p_right(queries):
        searched = whole.probes([Query(v, text(rng, "q"), None, "bank") for v in queries])
        return model.probabilities(searched.x)[0]

    p_near, p_far = p_right(near), p_right(far)
    assert p_near.min() > p_far.max()
    assert np.median(p_near) > 0.5 > p_far.max()
    assert (p_near >= model.answer_at).mean() > 0.5  # most near queries would be answered
    assert not (p_far >= model.answer_at).any()


def test_similarity_ratio_measures_how_much_lower_another_language_scores():
    from knowledge.calibration import parallel_questions, similarity_ratio

    bundled = parallel_questions()
    assert len(bundled["en"]) == len(bundled["it"]) >= 300
    rng = np.random.default_rng(0)
    kb = rng.normal(size=(40, 16))
    kb /= np.linalg.norm(kb, axis=1, keepdims=True)
    parallel = {"en": [f"en {i}" for i in range(40)], "it": [f"it {i}" for i in range(40)]}

    def embed_many(texts):  # English: the KB's own questions; Italian: the same, blurred
        rows = []
        for text in texts:
            language, i = text.split()
            v = kb[int(i)] + (rng.normal(scale=0.6, size=16) if language == "it" else 0)
            rows.append(v / np.linalg.norm(v))
        return np.array(rows)

    ratio = similarity_ratio(kb, embed_many, parallel, asked_in="it", kb_languages={"en"})
    assert 0.5 <= ratio < 0.95
    assert similarity_ratio(kb, embed_many, parallel, asked_in="en", kb_languages={"en"}) == 1.0
    assert similarity_ratio(kb, embed_many, parallel, asked_in="de", kb_languages={"en"}) is None
    assert similarity_ratio(kb, embed_many, parallel, asked_in="it", kb_languages={"fr"}) is None


def test_probes_search_only_the_askers_language_as_the_live_search_does():
    """A bilingual FAQ has each answer twice (it, en) with questions meaning the same: a hidden
    Italian question must meet the Italian entries only, never its English twin."""
    rng = np.random.default_rng(0)
    topics = rng.normal(size=(6, 24))
    vectors, entries, languages, texts = [], [], [], []
    for t, topic in enumerate(topics):
        meanings = [topic + rng.normal(scale=0.35, size=24) for _ in range(5)]
        for language, entry in (("it", 2 * t), ("en", 2 * t + 1)):
            for q, meaning in enumerate(meanings):  # the twin: the same questions, translated
                v = meaning + rng.normal(scale=0.05, size=24)
                vectors.append(v / np.linalg.norm(v))
                entries.append(entry)
                languages.append(language)
                texts.append(f"{language} topic {t} question {q}")
    vectors, entries, languages = np.array(vectors), np.array(entries), np.array(languages)
    mixed = collect_probes(entries, vectors, texts, folds=3)
    by_language = collect_probes(entries, vectors, texts, folds=3, languages=languages)
    ins = by_language.in_scope
    assert by_language.right[ins].mean() >= 0.9  # its own entry, not the twin
    assert mixed.right[mixed.in_scope].mean() <= 0.5  # the twin holds the hidden question
