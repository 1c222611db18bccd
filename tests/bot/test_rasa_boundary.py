"""The trust boundary around Rasa, without starting Rasa: who may call the action endpoint
and with what, the limits the Rasa channels apply, the secrets kept off Rasa's command line
and out of world-readable files, the supervisor's restarts and what /healthz reports."""

from __future__ import annotations

import json
import logging
import stat
import sys
import time

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.conversation.assistant import Assistant
from bot.conversation.boundary import action_endpoint_token, chat_allowed_origins
from bot.conversation.rasa_project.boundary.limits import ChatLimits, Refused
from bot.conversation.rasa_runtime import RasaServer, write_endpoints
from bot.health import ChatHealth
from core import Settings, session_scope
from escalation.models import Ticket

CALL = {"next_action": "action_handoff", "sender_id": "intruder", "version": "3.6.21",
        "domain": {"slots": {}, "intents": [], "responses": {}, "forms": {}},
        "tracker": {"sender_id": "intruder", "slots": {"language": "it",
                                                       "customer_email": "victim@example.com"},
                    "latest_message": {"text": "aiuto", "intent": {"name": "ask_question"},
                                       "entities": []},
                    "events": [], "paused": False, "followup_action": None, "active_loop": {},
                    "latest_action_name": "action_listen"}}


@pytest.fixture
def app_client(kb):
    with TestClient(create_app(Assistant(kb.settings, kb)), raise_server_exceptions=False) as c:
        yield c


def bearer(settings: Settings) -> dict:
    return {"Authorization": f"Bearer {action_endpoint_token(settings)}"}


def tickets(settings: Settings) -> int:
    with session_scope(settings.resolved_database_url) as session:
        return session.query(Ticket).count()


@pytest.mark.parametrize("headers, status", [
    ({}, 401), ({"Authorization": "Bearer wrong"}, 403), ({"Authorization": "wrong"}, 403)])
def test_the_action_endpoint_runs_nothing_without_rasas_token(app_client, kb, headers, status):
    response = app_client.post("/webhook", json=CALL, headers=headers)
    assert response.status_code == status and "error" in response.json()
    assert app_client.get("/webhook/actions", headers=headers).status_code == status
    assert tickets(kb.settings) == 0


def test_the_token_derives_from_the_secret_key_unless_set(tmp_path):
    one = Settings(var_dir=tmp_path, secret_key="k1")
    assert action_endpoint_token(one) == action_endpoint_token(Settings(secret_key="k1"))
    assert action_endpoint_token(one) != action_endpoint_token(Settings(secret_key="k2"))
    assert "k1" not in action_endpoint_token(one)
    assert action_endpoint_token(Settings(secret_key="k1", action_endpoint_token="set")) == "set"


def test_a_deep_or_huge_body_is_refused_before_parsing(app_client, kb):
    deep = b"[" * 100_000 + b"]" * 100_000
    response = app_client.post("/webhook", content=deep, headers=bearer(kb.settings))
    assert response.status_code == 400
    nested: dict = {"x": 1}
    for _ in range(100):  # deep but under the parser's recursion limit
        nested = {"n": nested}
    call = {**CALL, "tracker": {**CALL["tracker"], "slots": nested}}
    assert app_client.post("/webhook", json=call, headers=bearer(kb.settings)).status_code == 400
    big = b'{"next_action": "' + b"a" * 10_000_001 + b'"}'
    assert app_client.post("/webhook", content=big,
                           headers=bearer(kb.settings)).status_code == 413
    for body in (b'{"next_action": 1, "tracker": {}}', b'{"next_action": "x", "tracker": []}'):
        assert app_client.post("/webhook", content=body,
                               headers=bearer(kb.settings)).status_code == 400
    assert tickets(kb.settings) == 0


def test_the_action_endpoint_is_rate_limited(kb):
    settings = kb.settings.model_copy(update={"action_endpoint_rate_limit": "5/minute"})
    with TestClient(create_app(Assistant(settings, kb))) as client:
        codes = [client.get("/webhook/actions", headers=bearer(settings)).status_code
                 for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2


@pytest.mark.parametrize("body, status", [
    ([], 400), ("text", 400), (None, 400), ({"sender": ["a"], "message": "hi"}, 400),
    ({"sender": "s", "message": {"x": 1}}, 400), ({"sender": "", "message": "hi"}, 400),
    ({"sender": "s" * 129, "message": "hi"}, 400), ({"sender": "a\nb", "message": "hi"}, 400),
    ({"sender": "s", "message": "x" * 1001}, 413),
    ({"sender": "s", "message": "hi", "metadata": "not json"}, 400),
    ({"sender": "s", "message": "hi", "metadata": [1]}, 400),
    ({"sender": "s", "message": "hi", "metadata": {"p": "x" * 9000}}, 413),
    ({"sender": "s", "message": "hi", "metadata": json.dumps({"p": "x" * 9000})}, 413),
    ({"sender": "s", "message": "hi", "metadata": {"a": {"b": {"c": {"d": {"e": {"f": {
        "g": {"h": {"i": 1}}}}}}}}}}, 400),
])
def test_channel_limits_refuse_what_nlu_must_not_see(body, status):
    with pytest.raises(Refused) as refused:
        ChatLimits().rest_body(body)
    assert refused.value.status == status


def test_channel_limits_pass_the_widgets_messages():
    metadata = {"language": "it", "page": "product:sciarpa-merino",
                "page_url": "http://127.0.0.1:8000/" + "p" * 2000}
    body = {"sender": "0f" * 16, "message": " " + "è" * 1000 + " ", "metadata": metadata}
    assert ChatLimits().rest_body(body) == (body["sender"], body["message"], metadata)
    assert ChatLimits().metadata(json.dumps(metadata)) == metadata
    assert ChatLimits().metadata(None) == {}


def test_browser_origins_default_to_the_apps_own():
    settings = Settings(host="127.0.0.1", port=8123, public_url="https://shop.example/chat/")
    assert chat_allowed_origins(settings) == [
        "http://127.0.0.1:8123", "http://localhost:8123", "https://shop.example"]
    configured = Settings(chat_allowed_origins=["https://www.shop.example:443/", "junk"])
    assert chat_allowed_origins(configured) == ["https://www.shop.example"]
    assert chat_allowed_origins(Settings(chat_allowed_origins=["*"])) == ["*"]
    limits = ChatLimits(allowed_origins=["https://shop.example"])
    assert limits.origin_allowed("https://shop.example") and limits.origin_allowed(None)
    assert not limits.origin_allowed("https://evil.example")


def test_no_secret_on_rasas_command_line_nor_in_a_readable_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_SMTP_PASSWORD", "mail-secret")
    settings = Settings(var_dir=tmp_path, secret_key="k")
    rasa = RasaServer(settings, model=tmp_path / "m.tar.gz", port=5999, log_path=tmp_path / "r.log",
                      action_url="http://127.0.0.1:8000/webhook")
    command = " ".join(rasa.command(tmp_path / "endpoints.yml"))
    assert rasa.token not in command and "--auth-token" not in command
    assert action_endpoint_token(settings) not in command
    assert "*" not in rasa.command(tmp_path / "e.yml")  # CORS: the app's own origins only
    environment = rasa.environment()
    assert environment["SUPPORTBOT_RASA_AUTH_TOKEN"] == rasa.token
    assert environment["SUPPORTBOT_ACTION_ENDPOINT_TOKEN"] == action_endpoint_token(settings)
    assert "SUPPORTBOT_SMTP_PASSWORD" not in environment  # the product's secrets stay with it
    endpoints = write_endpoints(settings, rasa.action_url, tmp_path / "endpoints.yml",
                                tracker_db=tmp_path / "tracker.db")
    written = endpoints.read_text()
    assert action_endpoint_token(settings) not in written
    assert "Authorization: Bearer ${SUPPORTBOT_ACTION_ENDPOINT_TOKEN}" in written
    assert stat.S_IMODE(endpoints.stat().st_mode) == 0o600


class CrashingRasa(RasaServer):
    """The real supervisor around a process that dies at once, like a Rasa that crashes."""

    def command(self, endpoints):
        return [sys.executable, "-c", "import sys; sys.exit(3)"]


def test_a_dead_rasa_is_restarted_with_a_growing_wait(tmp_path, caplog):
    settings = Settings(var_dir=tmp_path, secret_key="k", rasa_restart_max_delay_s=4)
    rasa = CrashingRasa(settings, model=tmp_path / "m", port=5999, log_path=tmp_path / "r.log",
                        action_url="http://127.0.0.1:1/webhook", tracker_db=tmp_path / "t.db")
    caplog.set_level(logging.INFO, logger="bot.conversation.rasa_runtime")
    rasa.start(supervise=True)
    try:
        deadline = time.monotonic() + 30
        while rasa.restarts < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        rasa.stop()
    lines = [r.getMessage() for r in caplog.records if "exited" in r.getMessage()]
    assert rasa.restarts >= 4 and len(lines) >= 4
    assert all("exit code 3" in line for line in lines)
    assert [line.split(" in ")[-1].split(" s")[0] for line in lines[:4]] == ["1", "2", "4", "4"]
    assert "restart 1 " in lines[0] and "restart 4 " in lines[3]
    restarts = rasa.restarts
    time.sleep(1.5)
    assert rasa.restarts == restarts  # stopped means stopped: no restart after stop()
    assert stat.S_IMODE((tmp_path / "t.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "r.log").stat().st_mode) == 0o600


class FakeRasa:
    def __init__(self, up: bool):
        self.up = up

    def status(self, timeout: float = 2.0) -> tuple[bool, str]:
        return (True, "answering") if self.up else (False, "exited (killed by SIGKILL)")


def test_healthz_is_503_while_the_chat_is_down(kb, monkeypatch):
    monkeypatch.setattr("bot.health.CACHE_S", 0)
    rasa = FakeRasa(up=False)
    health = ChatHealth(kb.settings, rasa=rasa)
    with TestClient(create_app(Assistant(kb.settings, kb), health=health)) as client:
        down = client.get("/healthz")
        rasa.up = True
        up = client.get("/healthz")
    assert down.status_code == 503 and down.json()["status"] == "down"
    assert down.json()["components"]["rasa"] == {"status": "down",
                                                 "detail": "exited (killed by SIGKILL)"}
    assert down.json()["components"]["database"]["status"] == "ok"
    assert up.status_code == 200 and up.json()["status"] == "ok"
    assert set(up.json()["components"]) == {"database", "mail", "rasa"}


def test_healthz_reports_a_stuck_outbox_as_degraded_without_failing_the_chat(kb, monkeypatch):
    from datetime import timedelta

    from core import utcnow
    from escalation.models import OutboxMessage

    monkeypatch.setattr("bot.health.CACHE_S", 0)
    with session_scope(kb.settings.resolved_database_url) as session:
        session.add(OutboxMessage(dedupe_key="stuck", kind="escalation", to_addrs=["o@x.example"],
                                  subject="s", text_body="b", message_id="<stuck@x.example>",
                                  created_at=utcnow() - timedelta(hours=1)))
    health = ChatHealth(kb.settings, rasa=FakeRasa(up=True))
    with TestClient(create_app(Assistant(kb.settings, kb), health=health)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    mail = response.json()["components"]["mail"]
    assert mail["status"] == "degraded" and "1 pending (oldest 36" in mail["detail"]
