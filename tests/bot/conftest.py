"""Session-wide fixtures for the conversation tests: a Rasa model trained in this test
run and one live product (app + Rasa server) on the demo knowledge base."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.rasa_runtime import ensure_model
from core import Settings
from bot.stack import start_stack
from tests.conftest import DEMO_KB


@pytest.fixture(scope="session")
def rasa_model(tmp_path_factory):
    """Trained in this run; SUPPORTBOT_TEST_RASA_CACHE names a folder to reuse models
    (keyed by the project's hash) across local runs."""
    cache = os.environ.get("SUPPORTBOT_TEST_RASA_CACHE")
    folder = Path(cache) if cache else tmp_path_factory.mktemp("rasa-models")
    return ensure_model(Settings(var_dir=folder, rasa_model_dir=folder))


@pytest.fixture(scope="session")
def live_bot(tmp_path_factory, rasa_model):
    var = tmp_path_factory.mktemp("live")
    # The shipped default embedder (multilingual for it+en), on SQLite.
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'live.db'}",
                        index_sync_interval_s=0, rasa_model_dir=rasa_model.parent)
    bot = start_stack(settings, model=rasa_model, demo_kb=DEMO_KB)
    yield bot
    bot.stop()
