"""Topic clustering, keywords and emerging topics, on constructed vectors and the hashing
embedder (no model)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from analytics.period import iso_week
from analytics.topics import STOP_WORDS, choose_k, cluster, emerging
from knowledge.embedders import HashingEmbedder

GROUPS = {  # each question repeats its topic's words; stop words appear in all of them
    "shipping": ["quanto costa la spedizione del pacco?", "spedizione pacco corriere",
                 "il corriere e la spedizione del pacco", "the parcel spedizione shipping?",
                 "spedizione shipping parcel pacco", "spedizione del pacco con il corriere"],
    "password": ["la password dell'account", "password account login",
                 "the account password login", "reset password login account",
                 "account login password non va", "login, password e account"],
    "cashmere": ["la sciarpa in cashmere è morbida?", "sciarpa cashmere lana",
                 "is the cashmere sciarpa soft?", "cashmere scarf sciarpa wool",
                 "sciarpa di lana e cashmere", "scarf cashmere sciarpa lana"],
}


def embedded_topics(texts: list[str], dim: int, **options):
    return cluster(HashingEmbedder(dim).embed_many(texts), texts, **options)


def separated_vectors(per_cluster: int = 40, k: int = 5, dim: int = 64, seed: int = 1):
    rng = np.random.default_rng(seed)
    centers = np.linalg.qr(rng.standard_normal((dim, k)))[0].T  # orthonormal: far apart
    truth = np.repeat(np.arange(k), per_cluster)
    vectors = centers[truth] + 0.05 * rng.standard_normal((len(truth), dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), truth


def test_well_separated_clusters_are_recovered_with_k_chosen():
    vectors, truth = separated_vectors()
    texts = [f"question {i} of group {g}" for i, g in enumerate(truth)]
    assert choose_k(vectors) == 5
    topics = cluster(vectors, texts, seed=3)
    assert [t.id for t in topics] == list(range(5))
    assert sorted(t.size for t in topics) == [40] * 5
    for topic in topics:  # every example of a topic comes from one true group
        groups = {int(text.split()[-1]) for text in topic.examples}
        assert len(groups) == 1
        assert np.isclose(np.linalg.norm(topic.centroid), 1.0, atol=1e-4)


def test_hashing_embedder_topics_have_their_keywords_without_stop_words():
    texts = [t for group in GROUPS.values() for t in group]
    topics = embedded_topics(texts, 256, k=3, seed=0)
    assert sorted(t.size for t in topics) == [6, 6, 6]
    for topic in topics:
        group = next(g for g, members in GROUPS.items() if topic.examples[0] in members)
        assert set(topic.examples) <= set(GROUPS[group])
        assert not set(topic.keywords) & STOP_WORDS
        assert {"spedizione", "password", "cashmere"} & set(topic.keywords[:3])


def test_empty_input_gives_no_topics():
    assert cluster(np.zeros((0, 32), dtype=np.float32), []) == []
    assert emerging({}) == []


def test_tiny_inputs_do_not_break_kmeans():
    topics = embedded_topics(["ciao", "hello"], 32)
    assert sum(t.size for t in topics) == 2
    assert len(embedded_topics(["solo una domanda"], 32)) == 1


def test_emerging_flags_exactly_the_growing_topics():
    weekly = {  # five weeks of counts per topic; the last week is the one judged
        0: [10, 12, 8, 10, 11],  # steady
        1: [2, 3, 2, 1, 9],  # 9 >= 2 x 2.0: emerging
        2: [0, 0, 0, 0, 6],  # new and big enough: emerging, strongest
        3: [0, 0, 0, 1, 4],  # grows but below min_count
        4: [5, 5, 5, 5, 19],  # 19 < 2 x 5 ... no: 19 >= 10, emerging
        5: [9, 9, 9, 9, 17],  # 17 < 18: not emerging
    }
    start = date(2026, 3, 2)
    trend = {topic: {iso_week(start + timedelta(weeks=w)): n for w, n in enumerate(counts)}
             for topic, counts in weekly.items()}
    assert emerging(trend) == [2, 1, 4]  # growth: new, 9/2 = 4.5, 19/5 = 3.8
    assert emerging(trend, weeks=1, min_growth=2.0, min_count=5) == [2, 1, 4]
    assert emerging(trend, min_count=3) == [2, 3, 1, 4]  # 3: 4 / 0.25 = 16
    assert emerging(trend, min_growth=4.0) == [2, 1]
