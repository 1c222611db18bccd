"""The trust boundary around a real Rasa 3.6 server (the shared live product): hostile and
oversized chat messages on REST and socket.io, browser origins, the API token kept off the
command line, the supervisor restarting a killed Rasa and /healthz telling the truth."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bot.conversation.boundary import action_endpoint_token
from tests.bot.socketio_client import SocketChat

pytestmark = [pytest.mark.rasa]

QUESTION = "Quanto costa la spedizione?"
ANSWER = "59 €"


def new_sender() -> str:
    return f"boundary-{uuid.uuid4().hex[:10]}"


def rest(bot, body: object, **kwargs) -> httpx.Response:
    return httpx.post(f"{bot.rasa_url}/webhooks/rest/webhook", timeout=60,
                      content=json.dumps(body), headers={"Content-Type": "application/json"},
                      **kwargs)


def huge_post(url: str, size: int) -> int | None:
    """POSTs `size` bytes; the status, or None when the server closed the connection
    without reading the body (also a refusal)."""
    try:
        return httpx.post(url, content=b'{"sender": "s", "message": "' + b"x" * size + b'"}',
                          headers={"Content-Type": "application/json"}, timeout=30).status_code
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


def answers_normally(bot) -> bool:
    return any(ANSWER in m.get("text", "") for m in bot.say(new_sender(), QUESTION))


@pytest.mark.parametrize("body", [
    [], "ciao", None, 42, {"sender": ["x"], "message": "ciao"}, {"message": "ciao"},
    {"sender": "s", "message": {"text": "ciao"}}, {"sender": "s", "message": "ciao",
                                                  "metadata": [1, 2]},
])
def test_rest_answers_400_to_a_body_that_is_not_a_chat_message(live_bot, body):
    response = rest(live_bot, body)
    assert response.status_code == 400, response.text


def test_rest_refuses_deep_json_and_oversized_messages_and_keeps_answering(live_bot):
    deep = httpx.post(f"{live_bot.rasa_url}/webhooks/rest/webhook", timeout=30,
                      content=b"[" * 30_000 + b"]" * 30_000,  # under the body cap
                      headers={"Content-Type": "application/json"})
    assert deep.status_code == 400
    started = time.monotonic()
    too_long = rest(live_bot, {"sender": new_sender(), "message": "parola " * 5000})
    assert too_long.status_code == 413 and "1000 characters" in too_long.text
    assert huge_post(f"{live_bot.rasa_url}/webhooks/rest/webhook", 10_000_000) in (413, None)
    assert time.monotonic() - started < 10  # refused at once, not parsed nor classified
    big_metadata = rest(live_bot, {"sender": new_sender(), "message": "ciao",
                                   "metadata": {"page": "p" * 20_000}})
    assert big_metadata.status_code == 413
    assert answers_normally(live_bot)


def test_rest_records_its_own_channel_whatever_the_caller_claims(live_bot):
    sender = new_sender()
    reply = rest(live_bot, {"sender": sender, "message": QUESTION, "input_channel": "socketio"})
    assert reply.status_code == 200
    assert live_bot.tracker(sender)["latest_input_channel"] == "rest"


def test_socketio_refuses_oversized_and_malformed_messages_with_a_bot_message(live_bot):
    app_origin = live_bot.app_url

    async def scenario():
        chat = await SocketChat.connect(live_bot.rasa_url, origin=app_origin)
        assert chat is not None
        session = await chat.session(uuid.uuid4().hex)
        await chat.emit("user_uttered", {"message": "parola " * 5000, "session_id": session,
                                         "metadata": {"language": "en"}})
        too_long = await chat.receive("bot_uttered")
        await chat.emit("user_uttered", ["not", "an", "object"])
        malformed = await chat.receive("bot_uttered")
        await chat.emit("user_uttered", {"message": "ciao", "session_id": session,
                                         "metadata": "{" * 5000})
        bad_metadata = await chat.receive("bot_uttered")
        await chat.emit("user_uttered", {"message": QUESTION, "session_id": session,
                                         "metadata": {"language": "it"}})
        answer = await chat.receive("bot_uttered")
        await chat.close()
        return too_long, malformed, bad_metadata, answer

    too_long, malformed, bad_metadata, answer = asyncio.run(scenario())
    assert "too long" in too_long["text"] and "1000" in too_long["text"]
    assert "non sono riuscito a leggere" in malformed["text"]
    assert "non sono riuscito a leggere" in bad_metadata["text"]
    assert ANSWER in answer["text"]


def test_socketio_replaces_a_hostile_session_id_with_a_fresh_one(live_bot):
    async def confirmed(data):
        chat = await SocketChat.connect(live_bot.rasa_url, origin=live_bot.app_url)
        await chat.emit("session_request", data)
        session = await chat.receive("session_confirm")
        await chat.close()
        return session

    kept = uuid.uuid4().hex
    assert asyncio.run(confirmed({"session_id": kept})) == kept
    for hostile in ({"session_id": "x" * 500}, {"session_id": "a\nb"}, {"session_id": ["x"]},
                    ["not", "an", "object"]):
        fresh = asyncio.run(confirmed(hostile))
        assert isinstance(fresh, str) and len(fresh) == 32 and fresh.isalnum(), hostile


def test_only_the_shops_origins_may_use_the_chat_from_a_browser(live_bot):
    app_origin, evil = live_bot.app_url, "https://evil.example"

    async def connect(origin):
        chat = await SocketChat.connect(live_bot.rasa_url, origin=origin)
        if chat is not None:
            await chat.close()
        return chat is not None

    assert asyncio.run(connect(app_origin)) and not asyncio.run(connect(evil))
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    url = f"{live_bot.rasa_url}/webhooks/rest/webhook"
    allowed = httpx.options(url, headers={"Origin": app_origin, **preflight})
    foreign = httpx.options(url, headers={"Origin": evil, **preflight})
    assert allowed.headers.get("access-control-allow-origin") == app_origin
    assert "access-control-allow-origin" not in foreign.headers
    reply = rest(live_bot, {"sender": new_sender(), "message": "ciao"})
    assert reply.status_code == 200


def test_no_secret_is_readable_from_rasas_command_line_or_files(live_bot):
    rasa = live_bot.rasa
    cmdline = Path(f"/proc/{rasa.process.pid}/cmdline").read_bytes().decode()
    assert rasa.token not in cmdline  # /proc/<pid>/cmdline is what `ps` shows anyone
    assert "boundary.launch" in cmdline and "--auth-token" not in cmdline
    assert action_endpoint_token(live_bot.settings) not in cmdline
    for path in (rasa.log_path, rasa.log_path.with_suffix(".endpoints.yml")):
        assert rasa.token not in path.read_text(errors="replace")
        assert action_endpoint_token(live_bot.settings) not in path.read_text(errors="replace")
        assert path.stat().st_mode & 0o077 == 0, path
    # The API still wants the token, which Rasa got from its environment.
    assert httpx.get(f"{rasa.url}/status").status_code == 401
    assert httpx.get(f"{rasa.url}/status", params={"token": rasa.token}).status_code == 200


def test_a_killed_rasa_is_restarted_and_healthz_tells_the_truth(live_bot):
    health = f"{live_bot.app_url}/healthz"
    before = httpx.get(health, timeout=30)
    assert before.status_code == 200, before.text
    assert {"rasa", "action_endpoint", "database", "mail"} <= set(before.json()["components"])
    old_pid, restarts = live_bot.rasa.process.pid, live_bot.rasa.restarts
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while httpx.get(health, timeout=30).status_code != 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    down = httpx.get(health, timeout=30)
    assert down.status_code == 503 and down.json()["components"]["rasa"]["status"] == "down"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and httpx.get(health, timeout=30).status_code != 200:
        time.sleep(1)
    assert httpx.get(health, timeout=30).status_code == 200
    assert live_bot.rasa.restarts == restarts + 1 and live_bot.rasa.process.pid != old_pid
    assert answers_normally(live_bot)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


RSS_BOUND_MB = 300  # a single 10 MB message took Rasa past 4 GB before the caps


@pytest.mark.slow
def test_rasa_memory_stays_bounded_under_a_burst_of_oversized_messages(live_bot):
    url = f"{live_bot.rasa_url}/webhooks/rest/webhook"
    answers_normally(live_bot)  # warm: first messages allocate the model's buffers
    pid = live_bot.rasa.process.pid
    before = rss_mb(pid)
    for _ in range(10):
        assert huge_post(url, 10_000_000) in (413, None)
        assert rest(live_bot, {"sender": new_sender(), "message": "x " * 30_000}).status_code \
            == 413
    polling = f"{live_bot.rasa_url}/socket.io/?EIO=4&transport=polling"
    handshake = httpx.get(polling, timeout=30).text
    sid = json.loads(handshake[handshake.index("{"):])["sid"]
    for _ in range(5):
        assert huge_post(f"{polling}&sid={sid}", 10_000_000) in (400, 413, None)

    async def socket_burst():
        chat = await SocketChat.connect(live_bot.rasa_url, origin=live_bot.app_url)
        session = await chat.session(uuid.uuid4().hex)
        replies = []
        for _ in range(20):
            await chat.emit("user_uttered", {"message": "parola " * 9000, "session_id": session})
            replies.append(await chat.receive("bot_uttered"))
        words = " ".join(f"w{i}" for i in range(160))[:1000]  # at the limit: NLU runs
        for _ in range(5):
            await chat.emit("user_uttered", {"message": words, "session_id": session})
            await chat.receive("bot_uttered", timeout=60)
        await chat.close()
        try:  # one packet far over the cap: the server drops the socket, unread
            chat = await SocketChat.connect(live_bot.rasa_url, origin=live_bot.app_url)
            await chat.emit("user_uttered", {"message": "x" * 5_000_000, "session_id": session})
            await chat.receive("bot_uttered", timeout=10)
        except Exception:
            pass
        return replies

    replies = asyncio.run(socket_burst())
    assert all("troppo lungo" in r["text"] for r in replies)
    after = rss_mb(pid)
    print(f"Rasa RSS before {before:.0f} MB, after the burst {after:.0f} MB")
    assert after - before < RSS_BOUND_MB
    assert live_bot.rasa.process.pid == pid and answers_normally(live_bot)
