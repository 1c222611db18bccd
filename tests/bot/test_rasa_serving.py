"""The per-message work taken out of Rasa (rasa_project/serving) against Rasa 3.6 itself, in
its virtualenv: the tracker store that remembers how many events it read writes exactly
the rows Rasa's own store would (none twice, none lost, across sessions and replicas) and
reads what Rasa's reads; action server responses get Rasa's verdicts, with Rasa's error;
the action endpoint is called over a kept connection."""

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
    async def read(store):
        return [[e.as_dict() for e in tracker.events] for tracker in (
            await store.retrieve("conv"), await store.retrieve_full_tracker("conv"))]
    same = await read(replica_a) == await read(rasas_own)
    print(json.dumps({"rows": rows, "texts": [e.text for e in latest.events
                                               if isinstance(e, UserUttered)],
                      "same_reading": same, "none": await replica_b.retrieve("nobody") is None}))

asyncio.run(main())
"""

VALIDATION_SIDE = """
import json
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from serving.remote_action import install

install()
action = RemoteAction("action_answer_question", None)
slot = {"event": "slot", "name": "language", "value": "it"}
user = {"event": "user", "text": "ciao", "parse_data": {"intent": {"name": "greet",
        "confidence": 0.9}, "entities": [{"entity": "entry_id", "value": "3"}]}}
responses = [
    {"events": [slot], "responses": []},
    {"events": [slot, user, {"event": "action", "name": "x", "policy": None},
                {"event": "bot", "text": "hi"}, {"event": "followup", "name": "y"}]},
    {"events": [], "responses": [{"text": "hi"}]},
    {},
    {"events": [{"event": "slot", "name": 7, "value": 1}]},
    {"events": [{"event": "slot", "name": "language"}]},
    {"events": [slot, {"event": "no_such_event"}]},
    {"events": [{"event": 3}]},
    {"events": [{"name": "language"}]},
    {"events": ["slot"]},
    {"events": [slot, {"event": "user", "parse_data": {"entities": [{"entity": "e"}]}}]},
    {"events": [{"event": "action", "confidence": "high"}]},
    {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": "now"}]},
    {"events": slot},
    {"events": [slot], "responses": ["hi"]},
    [],
]
verdicts = []
for response in responses:
    try:
        validate(response, RemoteAction.action_response_format_spec())
        rasas = True
    except ValidationError:
        rasas = False
    try:
        mine = action._validate_action_result(response)
        message = ""
    except ValidationError as exc:
        mine, message = False, exc.message
    verdicts.append([rasas, mine, message])
print(json.dumps(verdicts))
"""

ENDPOINT_SIDE = """
import asyncio, json
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig
from serving.remote_action import install

install()

async def main():
    peers = []
    async def webhook(request):
        peers.append(request.transport.get_extra_info("peername")[1])
        assert request.headers["Authorization"] == "Bearer t"
        if request.query.get("fail"):
            return web.Response(status=500, text="down")
        return web.json_response({"echo": await request.json()})
    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook",
                              headers={"Authorization": "Bearer t"})
    answers = [await endpoint.request(json={"n": n}, method="post") for n in range(5)]
    try:
        await endpoint.request(json={}, method="post", params={"fail": "1"})
        status = None
    except Exception as exc:
        status = getattr(exc, "status", None)
    await endpoint._supportbot_session[1].close()
    await runner.cleanup()
    print(json.dumps({"answers": answers, "connections": len(set(peers)), "calls": len(peers),
                      "status": status}))

asyncio.run(main())
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
    # ... and this store reads what Rasa's would, latest session and all of them.
    assert found["same_reading"] and found["none"]


def test_action_server_responses_are_validated_as_rasa_validates_them():
    verdicts = rasa_side(VALIDATION_SIDE)
    assert [mine for _, mine, _ in verdicts] == [rasas for rasas, _, _ in verdicts]
    assert sum(rasas for rasas, _, _ in verdicts) == 4  # the corpus holds both kinds
    for rasas, _, message in verdicts:
        assert rasas or "Failed to validate Action server response" in message


def test_the_action_endpoint_is_called_over_one_kept_connection():
    found = rasa_side(ENDPOINT_SIDE)
    assert found["answers"] == [{"echo": {"n": n}} for n in range(5)]
    assert found["calls"] == 6 and found["connections"] == 1
    assert found["status"] == 500  # Rasa's ClientResponseError, as before
