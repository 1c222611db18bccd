"""The confidence model follows the deployment: retrained after KB changes and when old."""

import pytest

from bot.jobs import recalibration
from core import session_scope
from knowledge.embedders import HashingEmbedder
from knowledge.importer import import_file
from knowledge.service import KnowledgeBase
from tests.conftest import DEMO_KB


@pytest.fixture
def demo(settings, database_url):
    with session_scope(database_url) as s:
        import_file(DEMO_KB, session=s)
    kb = KnowledgeBase(settings.model_copy(update={"recalibrate_after_changes": 2,
                                                   "recalibrate_every_h": 24.0}), HashingEmbedder())
    kb.warm_up()
    yield kb
    kb.close()


def test_due_without_a_model_after_changes_and_when_old(demo, add_entry):
    assert recalibration.due(demo, now=0.0) == "no confidence model yet"
    model = recalibration.recalibrate(demo)
    assert model.version == 1 and recalibration.due(demo, now=model.trained_at + 60) is None
    add_entry("One.", "first new question about engraving")
    assert recalibration.due(demo, now=model.trained_at + 60) is None  # one change: not yet
    add_entry("Two.", "second new question about wholesale")
    assert "2 knowledge-base changes" in recalibration.due(demo, now=model.trained_at + 60)
    again = recalibration.recalibrate(demo)
    assert again.version == 2 and recalibration.due(demo, now=again.trained_at + 60) is None
    assert "older than 24 h" in recalibration.due(demo, now=again.trained_at + 24 * 3600 + 1)


def test_logged_questions_move_the_unanswerable_share(demo, database_url):
    from analytics import EventKind, Interaction, record

    start = recalibration.recalibrate(demo)
    assert start.unanswerable_share == demo.settings.unanswerable_share_start
    with session_scope(database_url) as session:
        for n in range(60):  # customers asking the FAQ's own questions: answerable
            record(Interaction(EventKind.MESSAGE, f"c{n}", text="Quanto costa la spedizione?",
                               decision="answer", language="it"), session=session)
    logged = recalibration.recalibrate(demo)
    assert logged.expected["log_questions"] == 60
    assert logged.unanswerable_share < start.unanswerable_share


def test_the_log_never_raises_the_share_above_the_start(demo, database_url):
    """Customers who write unlike the FAQ's authors look unanswerable to the model; the
    estimate may lower the assumed share, never raise it."""
    from analytics import EventKind, Interaction, record

    with session_scope(database_url) as session:
        for n in range(60):
            record(Interaction(EventKind.MESSAGE, f"w{n}", text=f"zzz qqq xylophone {n} blorp",
                               decision="escalate", language="en"), session=session)
    model = recalibration.recalibrate(demo)
    assert model.expected["estimated_share"] > demo.settings.unanswerable_share_start
    assert model.unanswerable_share == demo.settings.unanswerable_share_start
