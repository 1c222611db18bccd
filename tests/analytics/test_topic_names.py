"""Topics as marketing reads them: named by a central question in Italian, examples that
belong to the topic, and marketing's own names and merges, which survive the weekly
re-clustering (new topic ids)."""

from __future__ import annotations

import functools
from datetime import date, timedelta

import numpy as np
import pytest

from analytics import dashboard as d
from analytics import insights, topic_names
from analytics import topics as topic_module
from analytics.insights import describe, refresh
from analytics.period import AnalyticsError, Filters, Period
from analytics.purchase_stage import EXAMPLES, PurchaseStageClassifier, load_examples
from core import session_scope
from tests.analytics.test_insights import NOW, log

STRAY = "Posso portare il cane in negozio?"
# text -> (language, how often asked, where its vector lies)
QUESTIONS = {
    "How much is shipping?": ("en", 3, {0: 1.0}),  # the most central of all, but English
    "Quanto costa la spedizione?": ("it", 4, {0: 1.0, 3: 0.05}),
    "Quanto costa la spedizione in Sicilia?": ("it", 2, {0: 1.0, 4: 0.15}),
    "Spedite anche in Sardegna?": ("it", 2, {0: 1.0, 5: 0.2}),
    "Shipping to Sardinia?": ("en", 1, {0: 1.0, 6: 0.2}),
    STRAY: ("it", 9, {0: 0.55, 2: 0.85}),  # nearest to shipping, yet far from it
    "Ho dimenticato la password": ("it", 3, {1: 1.0, 3: 0.05}),
    "Come cambio la password?": ("it", 2, {1: 1.0, 4: 0.1}),
    "Forgot my password": ("en", 2, {1: 1.0}),
    "Reset della password": ("it", 1, {1: 1.0, 5: 0.2}),
}
SHIPPING = "Quanto costa la spedizione?"
PASSWORD = "Ho dimenticato la password"


class GroupEmbedder:
    """Vectors placed by hand: two tight groups and one stray question."""

    name = "groups"
    dimension = 8

    def embed_many(self, texts, batch_size: int = 256) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for axis, value in QUESTIONS.get(text, ("", 0, {7: 1.0}))[2].items():
                out[row, axis] = value
        return out / np.linalg.norm(out, axis=1, keepdims=True)


EMBEDDER = GroupEmbedder()


@functools.cache
def classifier() -> PurchaseStageClassifier:
    return PurchaseStageClassifier.train(load_examples(EXAMPLES), EMBEDDER)


@pytest.fixture
def found(database_url, monkeypatch):
    """The questions logged on NOW's day and their topics found (two of them)."""
    monkeypatch.setattr(insights, "cluster", functools.partial(topic_module.cluster, k=2))
    for text, (language, times, _) in QUESTIONS.items():
        log(database_url, *[(text, NOW - timedelta(hours=1))] * times, language=language)
    recluster(database_url)
    return database_url


def recluster(url: str) -> None:
    with session_scope(url) as session:
        refresh(session, EMBEDDER, classifier(), now=NOW + timedelta(hours=1), recluster=True)
    with session_scope(url) as session:  # the new run becomes current once relabelled
        refresh(session, EMBEDDER, classifier(), now=NOW + timedelta(hours=1))


PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))


def overview(url: str) -> dict[str, d.TopicStat]:
    with session_scope(url) as session:
        stats = d.topic_overview(PERIOD, Filters(), session=session)
    return {s.label: s for s in stats}


def topic_named(url: str, name: str):
    with session_scope(url) as session:
        stat = overview(url)[name]
        topic = session.get(insights.QuestionTopic, stat.id)
        session.expunge(topic)
        return topic


def test_a_topic_is_named_by_its_most_central_italian_question_with_examples_that_belong(found):
    stats = overview(found)
    assert set(stats) == {SHIPPING, PASSWORD}  # not "spedizione, costa, shipping"
    shipping = stats[SHIPPING]
    assert shipping.questions == 3 + 4 + 2 + 2 + 1 + 9  # the stray still counts
    assert STRAY not in shipping.examples  # though it is the most asked
    assert SHIPPING not in shipping.examples and shipping.keywords  # the name is not repeated
    # the closer half, most asked first
    assert shipping.examples == ("How much is shipping?", "Quanto costa la spedizione in Sicilia?")


def test_a_name_erased_with_its_author_falls_back_to_the_keywords(found):
    """Erasure (bot/gdpr.py) drops a customer's questions from the topics' examples; the
    name is one of them, so it goes too."""
    topic = topic_named(found, SHIPPING)
    with session_scope(found) as session:
        stored = session.get(insights.QuestionTopic, topic.id)
        stored.examples = [e for e in stored.examples if e != SHIPPING]
    assert SHIPPING not in overview(found)
    assert d.topic_label(topic.keywords, topic.id) in overview(found)


def test_describe_keeps_the_core_and_prefers_the_dashboard_language():
    members = np.array([0, 1, 2, 3, 4])
    similarity = np.array([0.99, 0.97, 0.95, 0.6, 0.4])
    weights = np.array([1, 2, 3, 40, 50])  # the strays are the most asked
    italian = np.array([False, True, True, True, True])
    name, examples = describe(members, similarity, weights, italian)
    assert name == 1 and examples == [2, 1, 0]
    assert describe(np.array([], dtype=int), np.array([]), weights, italian) == (None, [])
    assert describe(members, similarity, weights, np.zeros(5, bool))[0] == 0  # no Italian


def test_a_renamed_topic_keeps_its_name_after_the_topics_are_found_again(found):
    shipping = topic_named(found, SHIPPING)
    with session_scope(found) as session:
        topic_names.rename(session, shipping, "  Spese di\nspedizione  ", by="mk@shop.example")
    assert "Spese di spedizione" in overview(found)
    recluster(found)
    stats = overview(found)
    assert set(stats) == {"Spese di spedizione", PASSWORD}
    renamed = stats["Spese di spedizione"]
    assert renamed.id != shipping.id and renamed.renamed  # a new run, the same name
    with session_scope(found) as session:  # "" gives the automatic name back
        topic_names.rename(session, topic_named(found, "Spese di spedizione"), "")
    assert SHIPPING in overview(found)


def test_merged_topics_count_under_the_kept_one_also_after_a_new_run(found):
    before = overview(found)
    shipping, password = topic_named(found, SHIPPING), topic_named(found, PASSWORD)
    with session_scope(found) as session:
        topic_names.merge(session, shipping, password, by="mk@shop.example")
    for _ in range(2):
        stats = overview(found)
        assert list(stats) == [SHIPPING]
        merged = stats[SHIPPING]
        assert merged.questions == before[SHIPPING].questions + before[PASSWORD].questions
        assert len(merged.merged) == 1 and PASSWORD in merged.examples
        with session_scope(found) as session:
            page = d.questions(PERIOD, Filters(), session=session,
                               topic_id=[merged.id, *merged.merged])
        assert page.total == merged.questions
        recluster(found)  # the merge survives the new run
    with session_scope(found) as session:
        topics, _ = d.current_map(session)
        assert topic_names.split(session, list(topics.values()), overview(found)[SHIPPING].id) == 1
    assert set(overview(found)) == {SHIPPING, PASSWORD}


def test_a_topic_cannot_be_merged_with_itself(found):
    shipping = topic_named(found, SHIPPING)
    with session_scope(found) as session, pytest.raises(AnalyticsError):
        topic_names.merge(session, shipping, shipping)


def test_partial_weeks_and_product_names():
    period = Period(date(2026, 11, 4), date(2026, 11, 30))  # Wednesday .. Monday
    partial = d.partial_weeks(period, today=date(2026, 11, 30))
    assert partial == {"2026-W45", "2026-W49"}  # cut at the start; under way at the end
    assert d.partial_weeks(Period(date(2026, 11, 2), date(2026, 11, 15)),
                           today=date(2026, 11, 30)) == set()
    assert d.subject_name("cappotto-aurora-cammello") == "Cappotto aurora cammello"
    assert d.subject_name("borsa_aurora") == "Borsa aurora"
