import json
import math
import time

import numpy as np
import pytest

from core import DecisionKind, Settings, session_scope
from knowledge import repository as repo
from knowledge.calibration import Signal
from knowledge.confidence import FEATURES
from knowledge.embedders import HashingEmbedder, make_embedder
from knowledge.errors import CalibrationImpossible, InvalidQuestion
from knowledge.importer import import_file
from knowledge.model_store import model_setting_name
from knowledge.service import KnowledgeBase
from knowledge.vector_index import INDEX_FILE, SIDECAR_FILE
from tests.conftest import DEMO_KB

ENTRIES = [
    ("Shipping is free over EUR 59.",
     ("How much does shipping cost?", "What are the delivery charges?",
                                       "Is shipping free?")),
    ("Returns are free within 30 days.", ("How do I return an item?", "Can I send back my order?",
                                          "What is your return policy?")),
    ("Pay by card, PayPal or bank transfer.", ("Which payment methods do you accept?",
                                               "Can I pay with PayPal?")),
    ("We are open Monday to Friday, 9 to 18.", ("What are your opening hours?",
                                                "When is customer service available?")),
]


@pytest.fixture
def populated(add_entry):
    return [add_entry(answer, *questions, key=f"e{i}")
            for i, (answer, questions) in enumerate(ENTRIES)]


def _no_rebuild(kb, monkeypatch):
    def fail():
        raise AssertionError("unexpected full rebuild")
    monkeypatch.setattr(kb, "_rebuild", fail)


def test_identical_question_is_answered(kb, populated):
    kb.warm_up()
    for entry_id, (answer, questions) in zip(populated, ENTRIES, strict=True):
        for question in questions:
            decision = kb.search(question)
            assert decision.kind is DecisionKind.ANSWER, (question, decision)
            assert decision.entry.entry_id == entry_id and decision.entry.answer == answer
            assert decision.entry.matched_question == question


def test_decision_fields(kb, populated):
    decision = kb.search("  How much does\tshipping cost?  ")
    assert decision.question == "How much does shipping cost?"
    assert decision.kb_version >= len(populated)
    assert decision.latency_ms >= 0 and decision.score == decision.candidates[0].score
    c = decision.candidates[0]
    assert (c.key, c.language, c.category) == ("e0", "en", "general")


def test_gibberish_escalates(kb, populated):
    for question in ("qzxv wplk jjjr", "xkcd zzzz bbbb qqqq", "Ωμέγα ψψψ"):
        decision = kb.search(question)
        assert decision.kind is DecisionKind.ESCALATE, decision
        assert decision.entry is None


def test_empty_kb_escalates(kb):
    kb.warm_up()
    decision = kb.search("How much does shipping cost?")
    assert decision.kind is DecisionKind.ESCALATE and decision.candidates == ()


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\u200b", None, 42])
def test_invalid_questions(kb, question):
    with pytest.raises(InvalidQuestion):
        kb.search(question)


def test_too_long_question(kb, settings):
    kb.search("a" * settings.max_question_chars)
    with pytest.raises(InvalidQuestion, match="too long"):
        kb.search("a" * (settings.max_question_chars + 1))


def test_odd_characters_do_not_crash(kb, populated):
    for question in ("How much \ud800 shipping?", "shipping 🚚📦?", "<script>alert(1)</script>",
                     "'; DROP TABLE kb_entries; --", "ship\x00ping\x07 cost"):
        decision = kb.search(question)
        assert decision.kind in set(DecisionKind)


def test_new_entry_found_after_sync(kb, populated, add_entry):
    kb.warm_up()
    assert kb.search("Do you sell gift vouchers?").kind is DecisionKind.ESCALATE
    new_id = add_entry("Yes, from 25 euros.", "Do you sell gift vouchers?",
                       "Can I buy a gift card?")
    decision = kb.search("Do you sell gift vouchers?")
    assert decision.kind is DecisionKind.ANSWER and decision.entry.entry_id == new_id


def test_retired_entry_is_no_longer_answered(kb, populated, database_url):
    kb.warm_up()
    assert kb.search("Can I pay with PayPal?").entry.entry_id == populated[2]
    with session_scope(database_url) as s:
        assert repo.update_entry(repo.get_entry(populated[2], session=s), session=s, by="t",
                                 reason="retire", status="retired")
    kb.sync(force=True)
    decision = kb.search("Can I pay with PayPal?")
    assert all(c.entry_id != populated[2] for c in decision.candidates)
    assert decision.kind is not DecisionKind.ANSWER or decision.entry.entry_id != populated[2]


def test_updated_answer_and_removed_question(kb, populated, database_url):
    kb.warm_up()
    with session_scope(database_url) as s:
        e = repo.get_entry(populated[0], session=s)
        repo.update_entry(e, session=s, by="t", reason="r", answer="Shipping now costs EUR 3.",
                          remove_questions=("Is shipping free?",),
                          add_questions=("What does postage cost?",))
    d = kb.search("What does postage cost?")
    assert d.kind is DecisionKind.ANSWER and d.entry.answer == "Shipping now costs EUR 3."
    with session_scope(database_url) as s:
        variant_ids = {r[0] for r in repo.searchable_variants(session=s)}
    assert set(kb._index.ids().tolist()) == variant_ids


def test_two_replicas_stay_in_sync_without_rebuild(settings, populated, database_url, add_entry,
                                                    monkeypatch):
    a = KnowledgeBase(settings, HashingEmbedder())
    b = KnowledgeBase(settings, HashingEmbedder())
    a.warm_up()
    b.warm_up()
    _no_rebuild(b, monkeypatch)
    new_id = add_entry("We ship to Switzerland too.", "Do you ship to Switzerland?",
                       "Can I order from Zurich?")
    with session_scope(database_url) as s:
        repo.update_entry(repo.get_entry(populated[1], session=s), session=s, by="t", reason="r",
                          status="retired")
    b.sync(force=True)
    d = b.search("Do you ship to Switzerland?")
    assert d.kind is DecisionKind.ANSWER and d.entry.entry_id == new_id
    assert all(c.entry_id != populated[1] for c in b.search("How do I return an item?").candidates)
    assert a.search("Can I order from Zurich?").entry.entry_id == new_id


def test_index_persisted_and_reused_on_restart(settings, populated, monkeypatch):
    first = KnowledgeBase(settings, HashingEmbedder())
    first.warm_up()
    first.close()
    index_dir = settings.resolved_index_dir
    sidecar = json.loads((index_dir / SIDECAR_FILE).read_text())
    with session_scope(settings.resolved_database_url) as s:
        assert sidecar["kb_version"] == repo.kb_version(session=s)
        assert sidecar["count"] == len(repo.searchable_variants(session=s))
    assert sidecar["model"] == HashingEmbedder().name

    second = KnowledgeBase(settings, HashingEmbedder())
    _no_rebuild(second, monkeypatch)
    second.warm_up()
    assert second.search("Can I pay with PayPal?").entry.entry_id == populated[2]


def test_stale_index_catches_up(settings, populated, add_entry, database_url, monkeypatch):
    first = KnowledgeBase(settings, HashingEmbedder())
    first.warm_up()
    first.close()
    sidecar = settings.resolved_index_dir / SIDECAR_FILE
    saved_version = json.loads(sidecar.read_text())["kb_version"]
    new_id = add_entry("Yes, gift wrapping is free.", "Do you offer gift wrapping?",
                       "Can you wrap my present?")
    with session_scope(database_url) as s:
        repo.update_entry(repo.get_entry(populated[0], session=s), session=s, by="t", reason="r",
                          answer="Shipping costs EUR 4.", remove_questions=("Is shipping free?",))
        repo.update_entry(repo.get_entry(populated[3], session=s), session=s, by="t", reason="r",
                          status="retired")
    second = KnowledgeBase(settings, HashingEmbedder())
    _no_rebuild(second, monkeypatch)
    version = second.sync(force=True)
    assert version > saved_version
    assert second.search("Can you wrap my present?").entry.entry_id == new_id
    assert second.search("How much does shipping cost?").entry.answer == "Shipping costs EUR 4."
    assert all(c.entry_id != populated[3]
               for c in second.search("What are your opening hours?").candidates)
    with session_scope(database_url) as s:
        variant_ids = {r[0] for r in repo.searchable_variants(session=s)}
    assert set(second._index.ids().tolist()) == variant_ids
    second.close()
    sidecar = settings.resolved_index_dir / SIDECAR_FILE
    assert json.loads(sidecar.read_text())["kb_version"] == version


@pytest.mark.parametrize("damage", ["garbage", "empty", "other_model"])
def test_corrupt_index_is_rebuilt(settings, populated, damage):
    first = KnowledgeBase(settings, HashingEmbedder())
    first.warm_up()
    first.close()
    index_file = settings.resolved_index_dir / INDEX_FILE
    sidecar = settings.resolved_index_dir / SIDECAR_FILE
    if damage == "garbage":
        index_file.write_bytes(np.random.default_rng(0).bytes(4096))
    elif damage == "empty":
        index_file.write_bytes(b"")
    else:
        sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "model": "another"}))
    second = KnowledgeBase(settings, HashingEmbedder())
    second.warm_up()
    with session_scope(settings.resolved_database_url) as s:
        variants = repo.searchable_variants(session=s)
    assert sorted(second._index.ids().tolist()) == sorted(r[0] for r in variants)
    for entry_id, (_answer, questions) in zip(populated, ENTRIES, strict=True):
        assert second.search(questions[0]).entry.entry_id == entry_id
    assert json.loads(sidecar.read_text())["model"] == HashingEmbedder().name


def test_index_newer_than_database_is_rebuilt(settings, populated, tmp_path, database_url):
    first = KnowledgeBase(settings, HashingEmbedder())
    first.warm_up()
    sidecar = settings.resolved_index_dir / SIDECAR_FILE
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "kb_version": meta["kb_version"] + 100}))
    second = KnowledgeBase(settings, HashingEmbedder())
    second.warm_up()
    assert second.search("Can I pay with PayPal?").entry.entry_id == populated[2]


def test_language_preference(kb, add_entry):
    it_id = add_entry("Sì, spediamo in tutta Europa.", "Spedite in Europa? Europe shipping",
                      language="it")
    en_id = add_entry("Yes, we ship all over Europe.", "Spedite in Europa? Europe shipping",
                      language="en")
    assert kb.search("Spedite in Europa? Europe shipping",
                     language="it").candidates[0].entry_id == it_id
    assert kb.search("Spedite in Europa? Europe shipping",
                     language="en").candidates[0].entry_id == en_id
    both = {c.entry_id for c in kb.search("Spedite in Europa? Europe shipping").candidates}
    assert both == {it_id, en_id}
    # a language the KB lacks falls back to any language
    assert kb.search("Spedite in Europa? Europe shipping", language="other").candidates


def test_language_filter_keeps_other(kb, add_entry):
    other_id = add_entry("Our VAT number is IT0123.", "VAT number?", language="other")
    add_entry("Risposta italiana.", "Domanda italiana?", language="it")
    d = kb.search("VAT number?", language="it")
    assert d.kind is DecisionKind.ANSWER and d.entry.entry_id == other_id


def test_reindex_and_calibrate_store_the_confidence_model(kb, database_url):
    with session_scope(database_url) as s:
        import_file(DEMO_KB, session=s)
    kb.warm_up()
    with session_scope(database_url) as s:
        version = repo.kb_version(session=s)
    assert kb.reindex() == version
    model = kb.calibrate()
    assert model.version == 1 and model.kb_version == version and model.answer_at >= 0.5
    assert model.expected["wrong"] <= kb.settings.wrong_answer_budget
    assert set(model.expected["probes"]) == {"variant", "entry", "bank", "log"}
    assert kb.model() == model and kb.is_calibrated()
    fresh = KnowledgeBase(kb.settings, HashingEmbedder())
    assert fresh.model() == model  # stored in the database
    assert kb.calibrate().version == 2  # each calibration is a new version
    d = kb.search("Quanto costa la spedizione?", language="it")
    assert d.kind is DecisionKind.ANSWER and d.entry.key == "it-shipping-cost"
    assert d.model_version == 2 and 0.0 <= d.confidence <= 1.0


def _stored_model(kb, value) -> None:
    with session_scope(kb.url) as s:
        repo.put_setting(model_setting_name(kb.embedder.name), value, session=s)


@pytest.mark.parametrize("damage", ["garbage", "nan", "other_embedder", "other_budget"])
def test_a_corrupt_or_stale_stored_model_is_rebuilt_never_used(kb, database_url, damage):
    with session_scope(database_url) as s:
        import_file(DEMO_KB, session=s)
    kb.warm_up()
    good = kb.calibrate().as_dict()
    bad = {"garbage": {"format": 1, "in_scope": "x", "version": 7},
           "nan": {**good, "right": {**good["right"], "bias": "NaN"}},  # JSON has no NaN
           "other_embedder": {**good, "embedder": "another-model"},
           "other_budget": {**good, "budget": 0.1}}[damage]
    _stored_model(kb, bad)
    fresh = KnowledgeBase(kb.settings, HashingEmbedder())
    fresh.warm_up()
    model = fresh.model()
    assert model is not None and model.embedder == kb.embedder.name
    assert model.budget == kb.settings.wrong_answer_budget
    assert all(map(math.isfinite, model.right.weights + (model.right.bias,)))
    assert model.version == bad["version"] + 1  # a new version, not the damaged one


def test_a_kb_too_small_to_calibrate_keeps_strict_defaults(kb, add_entry):
    for n in range(4):
        add_entry(f"Answer {n}.", f"question number {n} about topic {n}?")
    kb.warm_up()
    with pytest.raises(CalibrationImpossible, match="too small to calibrate"):
        kb.calibrate()
    assert kb.model() is None and not kb.is_calibrated()
    assert kb.thresholds().answer >= 0.9  # only a near-copy of an FAQ question is answered
    d = kb.search("something else entirely, about the weather")
    assert d.kind is DecisionKind.ESCALATE and d.confidence is None and d.model_version == 0


@pytest.mark.parametrize("budget", [0.0, 0.0009, 0.21, 1.0, -0.02])
def test_a_budget_outside_the_range_is_refused(budget):
    with pytest.raises(ValueError, match="wrong-answer budget"):
        Settings(wrong_answer_budget=budget)


def test_make_embedder_hashing():
    e = make_embedder("hashing-64")
    assert e.dimension == 64 and e.name == "hashing-64"
    v = e.embed_many(["hello world", ""])
    assert v.shape == (2, 64) and np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.array_equal(e.embed("abc"), HashingEmbedder(64).embed("abc"))


def test_service_on_ivf_index(tmp_path, database_url, monkeypatch):
    """Above approximate_index_threshold the service runs on IVF: search, updates, restart."""
    from core import Settings

    settings = Settings(var_dir=tmp_path, database_url=database_url, embedder="hashing",
                        index_sync_interval_s=0, approximate_index_threshold=300)
    with session_scope(database_url) as s:
        import_file(DEMO_KB, session=s)
    kb = KnowledgeBase(settings, HashingEmbedder())
    kb.warm_up()
    assert kb._index.kind == "ivf"
    d = kb.search("Quanto costa la spedizione?", language="it")
    assert d.kind is DecisionKind.ANSWER and d.entry.key == "it-shipping-cost"
    with session_scope(database_url) as s:
        e = repo.get_entry("en-shipping-cost", session=s)
        repo.update_entry(e, session=s, by="t", reason="r", status="retired")
    kb.sync(force=True)
    assert all(c.key != "en-shipping-cost" for c in kb.search("How much is shipping?").candidates)
    kb.close()
    again = KnowledgeBase(settings, HashingEmbedder())
    _no_rebuild(again, monkeypatch)
    again.warm_up()
    assert again._index.kind == "ivf"
    assert again.search("Quanto costa la spedizione?",
                        language="it").entry.key == "it-shipping-cost"
    with session_scope(database_url) as s:
        variant_ids = {r[0] for r in repo.searchable_variants(session=s)}
    assert set(again._index.ids().tolist()) == variant_ids


def test_customers_verdicts_teach_the_model(kb, database_url):
    with session_scope(database_url) as s:
        import_file(DEMO_KB, session=s)
    kb.warm_up()
    question = "do you deliver to my house for free or not"
    before = kb.calibrate()
    x, scored = kb.features(question)
    p_before = float(before.probabilities(x[None])[0][0])
    thumbs_down = [Signal(question, scored[0].entry_id, "unhelpful")] * 40
    stale = [Signal(question, scored[1].entry_id, "unhelpful")]  # not ranked first now: ignored
    after = kb.calibrate(signals=thumbs_down + stale + [Signal(question, 1, "nonsense")])
    assert after.expected["probes"]["log"] == 40
    assert float(after.probabilities(x[None])[0][0]) < p_before


def test_questions_operators_answered_with_a_new_entry_are_unanswerable_probes(kb, add_entry):
    for topic in ("shipping", "returns", "payment", "gift cards"):
        add_entry(f"About {topic}.", f"how does {topic} work", f"tell me about {topic}",
                  f"question on {topic} please")
    learned = add_entry("Yes, in green too.", "is the wool scarf sold in green", source="operator")
    kb.warm_up()
    _, scored = kb.features("is the wool scarf sold in green", exclude=learned)
    assert learned not in [s.entry_id for s in scored]
    assert kb.calibrate().expected["probes"]["log"] == 1


def test_an_english_faq_asked_in_italian_is_decided_by_its_own_model(kb, add_entry):
    for topic in ("shipping", "returns", "payment", "gift cards", "warranty"):
        add_entry(f"About {topic}.", f"how does {topic} work", f"tell me about {topic}",
                  f"a question on {topic} please", language="en")
    kb.warm_up()
    model = kb.calibrate()
    assert set(model.cross_lingual) == {"it"}  # customers write Italian; no entry is Italian
    italian = model.cross_lingual["it"]
    assert 0.5 <= italian.expected["similarity_ratio"] <= 1.0
    assert italian.budget == model.budget and italian.version == model.version
    assert kb._rank("come funziona la spedizione", kb.embedder.embed("x"), "it")[0] == italian
    assert kb._rank("how does shipping work", kb.embedder.embed("x"), "en")[0] == model
    fresh = KnowledgeBase(kb.settings, HashingEmbedder())
    assert fresh.model().cross_lingual["it"] == italian  # stored with the model
    add_entry("Sulle spedizioni.", "come funziona la spedizione", "spedite in Italia?",
              language="it")
    kb.sync(force=True)  # the KB has Italian now: Italian questions meet Italian entries
    assert kb._rank("come funziona la spedizione", kb.embedder.embed("x"), "it")[0] == model


def test_a_newer_model_stored_by_another_process_is_taken_up(kb, database_url, monkeypatch):
    import knowledge.service as service

    monkeypatch.setattr(service, "MODEL_CHECK_S", 1e9)  # however slow a calibration runs
    with session_scope(database_url) as s:
        import_file(DEMO_KB, session=s)
    kb.warm_up()
    first = kb.calibrate()
    replica = KnowledgeBase(kb.settings, HashingEmbedder())
    replica.warm_up()
    assert replica.model().version == first.version
    second = kb.calibrate()  # e.g. `supportbot kb calibrate`, or another replica's round
    assert replica.model().version == first.version  # checked at most every MODEL_CHECK_S
    monkeypatch.setattr(service, "MODEL_CHECK_S", 0.0)
    assert replica.model().version == second.version
    _stored_model(kb, {"format": 1, "version": 99})  # a broken newer one: kept out, no rebuild
    monkeypatch.setattr(replica, "calibrate", lambda **_: pytest.fail("rebuilt in a search"))
    assert replica.model().version == second.version


class GatedEmbedder(HashingEmbedder):
    """Holds every large batch (an import's re-embedding) until the test opens the gate."""

    def __init__(self):
        super().__init__()
        import threading

        self.gate, self.waiting = threading.Event(), threading.Event()

    def embed_many(self, texts, batch_size: int = 256):
        if len(texts) > 64:
            self.waiting.set()
            assert self.gate.wait(60), "the gate was never opened"
        return super().embed_many(texts, batch_size)


def test_an_import_never_makes_a_customer_wait_for_its_embedding(settings, add_entry):
    """A search that finds hundreds of changed questions answers with the index it has while
    they are embedded in the background; a small change (a learned answer) is applied
    before the search, as before."""
    import threading

    embedder = GatedEmbedder()
    kb = KnowledgeBase(settings, embedder)
    shipping = add_entry("Shipping is free over EUR 59.", "How much does shipping cost?",
                         "Is shipping free?", key="ship")
    kb.warm_up()
    before = kb.sync(force=True)
    add_entry("Returns are free within 30 days.",
              *[f"return question number {i}" for i in range(100)],
              key="returns")
    answered = []
    search = threading.Thread(target=lambda: answered.append(kb.search("Is shipping free?")))
    search.start()
    search.join(60)
    assert not search.is_alive() and embedder.waiting.is_set()
    [decision] = answered
    assert decision.kb_version == before and decision.candidates[0].entry_id == shipping
    embedder.gate.set()
    after = kb.sync(force=True)  # waits for the background sync, then finds nothing left
    assert after > before and kb.search("return question number 7").candidates[0].key == "returns"
    add_entry("Gift cards from 10 euros.", "Do you sell gift cards?", key="gift")
    assert kb.search("Do you sell gift cards?").candidates[0].key == "gift"  # inline
    kb.close()


def _classifier_features(kb, question: str, **options) -> dict:
    x, scored = kb.features(question, **options)
    names = ("classifier_best", "classifier_max", "classifier_agrees")
    return {"best": scored[0].entry_id, **{n: float(x[FEATURES.index(n)]) for n in names}}


def test_the_entry_classifier_follows_the_kb_between_calibrations(kb, add_entry, settings):
    """Fitted with the model; an entry learned after it is classified at once (not scored as
    unknown until the next calibration); a restarted process fits it again at warm-up; the
    model for a language no entry is in decides without it."""
    for topic in ("shipping", "returns", "payment", "gift cards"):
        add_entry(f"About {topic}.", f"how does {topic} work", f"tell me about {topic}",
                  f"question on {topic} please", f"{topic} explained", f"{topic}?",
                  f"help with {topic}", f"what about {topic}", f"{topic} info")
    kb.warm_up()
    assert _classifier_features(kb, "how does shipping work")["classifier_best"] == 0.0  # no model
    kb.calibrate()
    known = _classifier_features(kb, "how does shipping work")
    assert known["classifier_best"] > 0.25 and known["classifier_agrees"] == 1.0
    learned = add_entry("Yes, in green too.", "is the wool scarf sold in green",
                        source="operator")
    kb.sync(force=True)
    fresh = _classifier_features(kb, "is the wool scarf sold in green")
    assert fresh["best"] == learned and fresh["classifier_best"] > 0.0
    restarted = KnowledgeBase(settings, HashingEmbedder())
    restarted.warm_up()
    again = _classifier_features(restarted, "how does shipping work")
    assert again["classifier_best"] > 0.25 and again["classifier_agrees"] == 1.0
    assert _classifier_features(kb, "how does shipping work", lexical=False)["classifier_best"] == 0


def test_a_replica_taking_up_a_newer_model_refits_its_classifier_in_the_background(
        kb, add_entry, settings, monkeypatch):
    """Another process calibrated after the KB grew: this one takes up its model and fits
    the classifier again off the search path, instead of keeping the entries of its start
    as the only fitted classes (new ones merely imprinted) until its own calibration."""
    def topics(*names):
        return [add_entry(f"About {t}.", *[f"{w} {t}" for w in (
            "how does", "tell me about", "question on", "explain", "help with", "what about",
            "info on", "details of")]) for t in names]
    topics("shipping", "returns", "payment", "gift cards")
    kb.calibrate()
    replica = KnowledgeBase(settings, HashingEmbedder())
    replica.warm_up()
    fitted_at_start = set(replica._classifier.fitted.entries.tolist())
    grown = topics("engraving", "sizes", "warranty", "stores")
    kb.calibrate()
    monkeypatch.setattr("knowledge.service.MODEL_CHECK_S", 0.0)
    replica.search("how does engraving")  # takes up the newer model
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fitted = set(replica._classifier.fitted.entries.tolist())
        if set(grown) <= fitted:
            break
        time.sleep(0.05)
    assert set(grown) <= fitted and fitted_at_start < fitted
    assert replica.model().version == kb.model().version
    replica.close()


def test_a_calibration_probe_has_the_live_search_s_features(kb, add_entry):
    """The model learns from probes and decides on live searches: the two must compute every
    feature alike (here against the whole KB, where a probe and a search see the same)."""
    from knowledge.calibration import FoldSearch, Query
    from knowledge.training import MAX_VARIANTS

    for topic in ("shipping costs", "returns", "payment by card", "gift cards"):
        add_entry(f"About {topic}.", f"how do {topic} work", f"tell me about {topic}",
                  f"question on {topic} please")
    kb.warm_up()
    rows, vectors, _ = kb.snapshot(MAX_VARIANTS)
    whole = FoldSearch(np.arange(len(rows)), np.array([r[1] for r in rows]), vectors,
                       [r[2] for r in rows], kb.settings.lexical_weight)
    for question in ("how much are shipping costs to Rome", "a stolen card", "gift cards?"):
        probe = whole.probes([Query(kb.embedder.embed(question), question, None, "bank")])
        live, _ = kb.features(question, lexical=True)
        assert dict(zip(FEATURES, live.tolist(), strict=True)) == pytest.approx(
            dict(zip(FEATURES, probe.x[0].tolist(), strict=True)), abs=1e-5)
