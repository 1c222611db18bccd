"""Replicas share the rate limits, sign-in locks and console sessions through Redis
(`SUPPORTBOT_RATE_LIMIT_STORAGE=redis://...`): tested on a real Redis server. Skipped only
on a machine without one; under CI a missing Redis is a failure."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from bot.console.guard import LoginLimiter, SessionRegistry
from bot.conversation.assistant import Assistant
from bot.conversation.turns import Turn

REDIS = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _reachable() -> bool:
    host, _, port = REDIS.split("//", 1)[1].split("/", 1)[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


if not _reachable():
    if os.environ.get("CI"):
        pytest.fail(f"no Redis at {REDIS}; CI runs these tests on a real one",
                    pytrace=False)
    pytest.skip(f"no Redis at {REDIS}", allow_module_level=True)


def test_a_session_closed_on_one_replica_is_closed_on_every_replica():
    first, second = SessionRegistry(REDIS, 3600), SessionRegistry(REDIS, 3600)
    session_id = first.open()
    assert second.alive(session_id)
    second.close(session_id)
    assert not first.alive(session_id) and not second.alive(session_id)


def test_a_sign_in_lock_on_one_replica_holds_on_another():
    address, account = f"198.51.100.{uuid.uuid4().int % 250}", f"{uuid.uuid4().hex}@shop.example"
    first, second = LoginLimiter(REDIS, failures=3), LoginLimiter(REDIS, failures=3)
    assert [first.failed(address, account), second.failed(address, account)] == [0, 0]
    assert first.failed(address, account) == 60  # the third failure, counted across both
    assert 0 < second.wait(address, account) <= 60
    assert second.wait("203.0.113.9", account) == 0  # another address is not locked


def test_the_chat_rate_limit_is_shared_between_replicas(kb):
    settings = kb.settings.model_copy(update={"rate_limit_storage": REDIS,
                                              "chat_rate_limit": "3/minute"})
    replicas = [Assistant(settings, kb), Assistant(settings, kb)]
    turn = Turn(conversation_id=f"redis-{uuid.uuid4().hex}", text="Quanto costa la spedizione?",
                language="it")
    kinds = [replicas[n % 2].answer(turn).kind for n in range(4)]
    assert kinds[-1] == "rate_limited" and "rate_limited" not in kinds[:3]
