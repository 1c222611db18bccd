"""The per-message work taken out of Rasa (rasa_project/serving) against Rasa 3.6 itself, in
its virtualenv: the tracker store that remembers how many events it read writes exactly
the rows Rasa's own store would (none twice, none lost, across sessions and replicas), and
action server responses are still validated, with Rasa's error."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bot.conversation.rasa_runtime import PROJECT, rasa_python
from core import Settings

pytestmark = pytest.mark.rasa

STORE_SIDE = """
import asyncio, json, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from serving.tracker_store import RememberingSQLTrackerStore

db = sys.argv[1]
replica_a = RememberingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=db)
replica_b = RememberingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=db)
rasas_own = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=db)

def turn(tracker, text):
    tracker.update(UserUttered(text, {"name": "ask_question", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_answer_question"))
    tracker.update(BotUttered(f"re: {text}"))
    tracker.update(ActionExecuted("action_listen"))

async def main():
    new = await replica_a.get_or_create_tracker("conv", append_action_listen=False)
    for event in (ActionExecuted("action_session_start"), SessionStarted(),
                  ActionExecuted("action_listen")):
        new.update(event)
    turn(new, "one")
    await replica_a.save(new)
    for n, store in enumerate((replica_b, replica_a, replica_b)):  # turns land anywhere
        tracker = await store.retrieve("conv")
        turn(tracker, f"turn {n}")
        await store.save(tracker)
        await store.save(tracker)  # saved twice: nothing new the second time
    tracker = await replica_a.retrieve("conv")
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())  # a new session within this message
    turn(tracker, "after the break")
    await replica_a.save(tracker)
    with rasas_own.session_scope() as session:
        rows = [r.type_name for r in session.query(rasas_own.SQLEvent)
                .filter(rasas_own.SQLEvent.sender_id == "conv").order_by(rasas_own.SQLEvent.id)]
    latest = await rasas_own.retrieve("conv")
    print(json.dumps({"rows": rows, "texts": [e.text for e in latest.events
                                               if isinstance(e, UserUttered)]}))

asyncio.run(main())
"""

VALIDATION_SIDE = """
import json
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from serving.remote_action import install

install()
action = RemoteAction("action_answer_question", None)
ok = action._validate_action_result({"events": [{"event": "slot", "name": "language",
                                                  "value": "it"}], "responses": []})
try:
    action._validate_action_result({"events": [{"event": "slot", "name": 7}]})
    refused = ""
except ValidationError as exc:
    refused = exc.message
print(json.dumps({"ok": ok, "refused": refused}))
"""


def rasa_side(script: str, *args: str) -> dict:
    result = subprocess.run([str(rasa_python(Settings())), "-c", script, *args],
                            capture_output=True, text=True, timeout=180, cwd=PROJECT,
                            env={**os.environ, "PYTHONPATH": str(PROJECT),
                                 "SQLALCHEMY_SILENCE_UBER_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_remembering_store_writes_each_event_once(tmp_path):
    found = rasa_side(STORE_SIDE, str(tmp_path / "tracker.db"))
    one_turn = ["user", "action", "bot", "action"]
    assert found["rows"] == (["action", "session_started", "action"] + one_turn * 4
                             + ["action", "session_started"] + one_turn)
    # Rasa's own store reads the latest session as it was written.
    assert found["texts"] == ["after the break"]


def test_action_server_responses_are_still_validated():
    found = rasa_side(VALIDATION_SIDE)
    assert found["ok"] is True
    assert "Failed to validate Action server response" in found["refused"]
