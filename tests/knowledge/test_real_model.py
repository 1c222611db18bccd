"""The real bundled MiniLM model on the demo knowledge base (slow: loads the model)."""

import pytest

from core import DecisionKind, Settings, dispose_all, session_scope
from knowledge.embedders import make_embedder
from knowledge.importer import import_file
from knowledge.service import KnowledgeBase
from migrations import upgrade
from tests.conftest import DEMO_KB

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("minilm")
    settings = Settings(var_dir=var_dir, database_url="", embedder="minilm",
                        index_sync_interval_s=0)
    upgrade(settings.resolved_database_url)
    with session_scope(settings.resolved_database_url) as s:
        import_file(DEMO_KB, session=s)
    kb = KnowledgeBase(settings, make_embedder("minilm"))
    kb.warm_up()
    yield kb
    kb.close()
    dispose_all()


def test_english_paraphrase_is_found(demo_kb):
    decision = demo_kb.search("how much do you charge for delivery?", language="en")
    assert decision.kind in (DecisionKind.ANSWER, DecisionKind.CLARIFY), decision
    assert "en-shipping-cost" in [c.key for c in decision.candidates]
    if decision.kind is DecisionKind.ANSWER:
        assert decision.entry.key == "en-shipping-cost"


def test_unrelated_question_is_not_answered(demo_kb):
    decision = demo_kb.search("what is the capital of Mongolia?", language="en")
    assert decision.kind is not DecisionKind.ANSWER, decision


def test_calibrated_model_keeps_behaviour(demo_kb):
    model = demo_kb.calibrate()
    assert 0.5 <= model.answer_at <= 1.0
    assert demo_kb.search("How much is shipping?", language="en").entry.key == "en-shipping-cost"
    assert demo_kb.search("what is the capital of Mongolia?").kind is not DecisionKind.ANSWER
