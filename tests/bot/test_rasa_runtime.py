"""Training cache, missing environment and the action endpoint's handling of bad calls;
none of these start Rasa."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.conversation.assistant import Assistant
from bot.conversation.boundary import action_endpoint_token
from bot.conversation.rasa_runtime import (
    PROJECT,
    RasaError,
    ensure_model,
    project_hash,
    rasa_executable,
)
from core import Settings


@pytest.fixture
def project_copy(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(".rasa", "__pycache__"))
    return copy


def test_hash_follows_every_file_that_shapes_the_model(project_copy):
    before = project_hash(project_copy)
    assert project_hash(project_copy) == before
    for name in ("domain.yml", "data/rules.yml", "data/nlu-it.yml", "addons/action_failure.py"):
        path = project_copy / name
        original = path.read_text(encoding="utf-8")
        path.write_text(original + "\n# changed\n", encoding="utf-8")
        assert project_hash(project_copy) != before, name
        path.write_text(original, encoding="utf-8")
    (project_copy / "tests" / "nlu-holdout-it.yml").write_text("# test data does not count\n")
    assert project_hash(project_copy) == before


def test_a_cached_model_is_reused_without_training(tmp_path, project_copy):
    settings = Settings(var_dir=tmp_path, rasa_venv=tmp_path / "no-such-venv")
    cached = tmp_path / "rasa-models" / f"supportbot-{project_hash(project_copy)}.tar.gz"
    cached.parent.mkdir()
    cached.write_bytes(b"model")
    # The Rasa environment is missing, so anything but the cache hit would fail.
    assert ensure_model(settings, project=project_copy) == cached


def test_a_missing_rasa_environment_says_what_to_do(tmp_path, project_copy):
    settings = Settings(var_dir=tmp_path, rasa_venv=tmp_path / "no-such-venv")
    with pytest.raises(RasaError, match="make setup.*Python 3.10"):
        rasa_executable(settings)
    with pytest.raises(RasaError, match="make setup"):
        ensure_model(settings, project=project_copy)


@pytest.fixture
def client(kb):
    """Calls the action endpoint as Rasa does: with the shared token."""
    with TestClient(create_app(Assistant(kb.settings, kb)), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {action_endpoint_token(kb.settings)}"
        yield c


def call(action: str, text: str = "hi", **tracker) -> dict:
    return {"next_action": action, "sender_id": "s1", "version": "3.6.21",
            "domain": {"slots": {}, "intents": [], "responses": {}, "forms": {}},
            "tracker": {"sender_id": "s1", "slots": {"language": "en"}, "latest_message": {
                "text": text, "intent": {"name": "ask_question"}, "entities": []},
                "events": [], "paused": False, "followup_action": None, "active_loop": {},
                "latest_action_name": "action_listen", **tracker}}


def test_action_endpoint_lists_the_actions(client):
    names = {a["name"] for a in client.get("/webhook/actions").json()}
    assert {"action_answer_question", "action_handoff", "validate_escalation_form"} <= names


def test_action_endpoint_answers_a_real_call(client, add_entry):
    add_entry("Shipping is free over EUR 59.", "How much does shipping cost?", key="ship")
    body = client.post("/webhook", json=call("action_answer_question",
                                             "How much does shipping cost?", slots={})).json()
    assert body["responses"][0]["text"] == "Shipping is free over EUR 59."
    assert {"event": "slot", "name": "language", "value": "en", "timestamp": None} in [
        {k: e.get(k) for k in ("event", "name", "value", "timestamp")} for e in body["events"]]


@pytest.mark.parametrize("payload, status", [
    (b"not json", 400), (b"[1, 2]", 400), (b"null", 400), (b"", 400),
    (b'{"next_action": "action_rm_rf", "tracker": {}, "domain": {}}', 404),
])
def test_action_endpoint_rejects_malformed_calls(client, payload, status):
    response = client.post("/webhook", content=payload,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert "error" in response.json()


def test_action_endpoint_survives_a_hostile_tracker(client):
    hostile = call("action_answer_question", "x" * 50_000, slots={"language": "<script>"})
    body = client.post("/webhook", json=hostile).json()
    assert "troppo lungo" in body["responses"][0]["text"]  # an unknown language slot means Italian
