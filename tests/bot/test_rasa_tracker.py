"""Our reading and erasing of Rasa's tracker store against the real thing: Rasa 3.6's own
SQLTrackerStore (in its virtualenv) writes two conversations, we erase one, and Rasa reads
back nothing for it and the other one intact. No server is started."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bot.conversation.rasa_runtime import rasa_executable
from bot.conversation.rasa_tracker import TrackerStore
from core import Settings

pytestmark = pytest.mark.rasa

RASA_SIDE = """
import asyncio, json, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=sys.argv[2])

async def write():
    for sender in ("conv-anna", "conv-bob"):
        tracker = DialogueStateTracker(sender, [])
        for event in (ActionExecuted("action_session_start"), SessionStarted(),
                      UserUttered(f"ciao, scrive {sender}", {"name": "greet", "confidence": 1.0}),
                      BotUttered("Ciao!")):
            tracker.update(event)
        await store.save(tracker)

async def read():
    found = {}
    for sender in ("conv-anna", "conv-bob"):
        tracker = await store.retrieve(sender)
        found[sender] = None if tracker is None else [e.type_name for e in tracker.events]
    print(json.dumps(found))

asyncio.run(write() if sys.argv[1] == "write" else read())
"""


def rasa_side(*args: str) -> str:
    python = rasa_executable(Settings()).parent / "python"
    result = subprocess.run([str(python), "-c", RASA_SIDE, *args], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_erasing_one_sender_from_a_store_rasa_wrote(tmp_path):
    path = tmp_path / "rasa-tracker.db"
    rasa_side("write", str(path))
    store = TrackerStore(path)
    assert store.missing == ""
    assert [e["type"] for e in store.events_of(["conv-anna"])] == [
        "action", "session_started", "user", "bot"]
    assert store.events_of(["conv-anna"])[2]["data"]["text"] == "ciao, scrive conv-anna"
    assert store.erase(["conv-anna"]) == 4
    # Rasa reads a conversation from its latest session start on.
    assert json.loads(rasa_side("read", str(path))) == {
        "conv-anna": None, "conv-bob": ["session_started", "user", "bot"]}
