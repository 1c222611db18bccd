"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when
SUPPORTBOT_TEST_DATABASE_URL is set), settings and a KnowledgeBase on the hashing embedder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core import Settings, dispose_all, ensure_secret_key, session_scope
from knowledge.embedders import HashingEmbedder
from knowledge.repository import EntryDraft, create_entry
from knowledge.service import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "data" / "demo_kb.yaml"
PG_URL = os.environ.get("SUPPORTBOT_TEST_DATABASE_URL", "")

_BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=_BACKENDS)
def database_url(request, tmp_path):
    """A freshly migrated, empty database; engines are disposed afterwards."""
    from migrations import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        dispose_all()
        _reset_postgres(PG_URL)
        url = PG_URL
    upgrade(url)
    yield url
    dispose_all()


@pytest.fixture
def settings(tmp_path, database_url):
    settings = Settings(var_dir=tmp_path, database_url=database_url, embedder="hashing",
                        index_sync_interval_s=0)
    ensure_secret_key(settings)  # as the product's start does
    return settings


@pytest.fixture
def kb(settings):
    knowledge_base = KnowledgeBase(settings, HashingEmbedder())
    yield knowledge_base
    knowledge_base.close()


@pytest.fixture
def add_entry(database_url):
    """Create an entry in its own transaction; returns its id."""

    def _add(answer: str, *questions: str, language: str = "en", **fields) -> int:
        with session_scope(database_url) as session:
            entry = create_entry(
                EntryDraft(answer=answer, questions=tuple(questions), language=language, **fields),
                session=session,
            )
            return entry.id

    return _add


@pytest.fixture
def dataset(database_url):
    """The October event log whose true figures tests/analytics/test_metrics.py works out
    by hand; shared by the analytics, weekly-report and CLI tests. Returns (url, entry ids)."""
    from tests.analytics.test_metrics import seed_october

    return seed_october(database_url)


def shared_model_folder(tmp_path_factory) -> Path:
    """One folder for the trained Rasa model in a test run, whichever package trains it first
    (models are keyed by the project's hash, so the others find it and train nothing)."""
    folder = tmp_path_factory.getbasetemp() / "rasa-models"
    folder.mkdir(exist_ok=True)
    return folder
