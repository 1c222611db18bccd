"""Rasa's tracker and lock stores for several replicas: the endpoints.yml written for SQLite
and for PostgreSQL + Redis, Redis down at start and while running, and one real Rasa server
on PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from bot.conversation.rasa_runtime import RasaServer, write_endpoints
from bot.conversation.rasa_stores import (
    RASA_SCHEMA,
    REDIS_PASSWORD_ENV,
    TRACKER_STORE_TYPE,
    TRACKER_URL_ENV,
    StoreError,
    check_redis,
    redis_target,
)
from bot.stack import free_port, start_stack
from core import Settings, ensure_secret_key
from tests.bot.socketio_client import SocketChat
from tests.conftest import DEMO_KB, ROOT

REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG = "postgresql+psycopg://shop:s3cret-pg@db.internal:5433/shop?sslmode=require"


def endpoints(tmp_path, settings: Settings, tracker_db=None) -> tuple[dict, str]:
    path = write_endpoints(settings, "http://127.0.0.1:8000/webhook", tmp_path / "e.yml",
                           tracker_db=tracker_db)
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text), text


def test_sqlite_keeps_a_tracker_file_and_the_in_memory_lock(tmp_path):
    settings = Settings(var_dir=tmp_path)
    ensure_secret_key(settings)  # as the product's start does, before Rasa is started
    config, _ = endpoints(tmp_path, settings, tracker_db=tmp_path / "rasa-tracker.db")
    assert config["tracker_store"] == {"type": TRACKER_STORE_TYPE, "dialect": "sqlite",
                                       "db": str(tmp_path / "rasa-tracker.db")}
    assert "lock_store" not in config
    assert RasaServer(settings, model=tmp_path, port=1, action_url="x", log_path=tmp_path / "l",
                      tracker_db=tmp_path / "t.db").environment().get(TRACKER_URL_ENV) is None


def test_postgres_and_redis_are_configured_without_writing_a_secret(tmp_path):
    settings = Settings(var_dir=tmp_path, database_url=PG,
                        redis_url="redis://lock:r3dis-pw@cache.internal:6380/2")
    ensure_secret_key(settings)
    config, text = endpoints(tmp_path, settings, tracker_db=tmp_path / "unused.db")
    assert config["tracker_store"] == {"type": TRACKER_STORE_TYPE, "dialect": "postgresql",
                                       "url": f"${{{TRACKER_URL_ENV}}}"}
    assert config["lock_store"] == {
        "type": "redis", "url": "cache.internal", "port": 6380, "db": 2,
        "key_prefix": "supportbot", "socket_timeout": 3.0, "username": "lock",
        "password": f"${{{REDIS_PASSWORD_ENV}}}"}
    assert "s3cret-pg" not in text and "r3dis-pw" not in text
    assert oct((tmp_path / "e.yml").stat().st_mode & 0o777) == "0o600"
    env = RasaServer(settings, model=tmp_path, port=1, action_url="x", log_path=tmp_path / "l",
                     tracker_db=tmp_path / "unused.db").environment()
    rasa_url = make_url(env[TRACKER_URL_ENV])
    # Rasa's SQLAlchemy 1.4 has psycopg2, not the product's psycopg 3.
    assert rasa_url.drivername == "postgresql+psycopg2"
    assert (rasa_url.username, rasa_url.password, rasa_url.host, rasa_url.port,
            rasa_url.database) == ("shop", "s3cret-pg", "db.internal", 5433, "shop")
    assert rasa_url.query == {"sslmode": "require"}
    assert env["POSTGRESQL_SCHEMA"] == RASA_SCHEMA and env[REDIS_PASSWORD_ENV] == "r3dis-pw"
    assert env["TICKET_LOCK_LIFETIME"] == "10"  # a dead process stalls its chats 10 s, not 60


def test_tests_without_a_tracker_keep_rasa_in_memory_even_on_postgres(tmp_path):
    config, _ = endpoints(tmp_path, Settings(var_dir=tmp_path, database_url=PG))
    assert "tracker_store" not in config and "lock_store" not in config


@pytest.mark.parametrize("encoded, username", [("ops%20%23lock", "ops #lock"),
                                               ("a%0Atracker_store%3A%20x", "a\ntracker_store: x")])
def test_a_redis_username_is_written_as_one_yaml_string(tmp_path, encoded, username):
    # Percent-escapes are decoded: a "#" must not start a comment, a newline must not add a key.
    settings = Settings(var_dir=tmp_path, redis_url=f"redis://{encoded}:pw@cache.internal/0")
    config, _ = endpoints(tmp_path, settings)
    assert config["lock_store"]["username"] == username and "tracker_store" not in config


def test_rediss_and_a_default_db(tmp_path):
    settings = Settings(var_dir=tmp_path, redis_url="rediss://cache.internal")
    config, _ = endpoints(tmp_path, settings)
    assert config["lock_store"]["use_ssl"] is True
    assert (config["lock_store"]["port"], config["lock_store"]["db"]) == (6379, 0)
    assert "password" not in config["lock_store"]


@pytest.mark.parametrize("url", ["http://cache:6379", "redis://", "redis://h:6379/x\n",
                                 "cache.internal:6379"])
def test_a_malformed_redis_url_is_refused_at_start(url):
    with pytest.raises(ValidationError, match="redis://host:6379/0"):
        Settings(redis_url=url)


def test_a_non_numeric_redis_database_is_refused():
    with pytest.raises(StoreError, match="must be numbers"):
        redis_target("redis://cache:6379/zero")


def _closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


def test_redis_down_is_said_in_one_line_without_the_password():
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        check_redis(f"redis://:pw-123@127.0.0.1:{port}/0")
    message = str(caught.value)
    assert time.monotonic() - started < 5
    assert f"Redis at 127.0.0.1:{port}/0 (SUPPORTBOT_REDIS_URL) is not reachable" in message
    assert "\n" not in message and "pw-123" not in message


def test_supportbot_run_exits_non_zero_when_redis_is_down(tmp_path):
    env = {**os.environ, "SUPPORTBOT_VAR_DIR": str(tmp_path),
           "SUPPORTBOT_REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0",
           "SUPPORTBOT_PORT": str(free_port()), "SUPPORTBOT_RASA_PORT": str(free_port()),
           "SUPPORTBOT_SMTP_PORT": str(free_port()),
           "SUPPORTBOT_INBOUND_SMTP_PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "bot.commands.main", "run"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "is not reachable" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def _redis_up() -> bool:
    try:
        check_redis(REDIS_URL, timeout=1)
    except StoreError:
        return False
    return True


def test_a_running_redis_passes_the_check():
    if not _redis_up():
        pytest.skip(f"no Redis at {REDIS_URL}")
    check_redis(REDIS_URL)


class TcpRelay:
    """Forwards a local port to Redis; `cut()` closes the port and every open connection
    (Redis gone for Rasa), `resume()` listens again on the same port (Redis back)."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.resume()

    def resume(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        if self._listener is not None:  # shutdown wakes the thread blocked in accept()
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        for s in self._sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self._sockets.clear()


TECHNICAL_PROBLEM = "problema tecnico"


async def _socketio_reply(bot, text: str) -> str:
    chat = await SocketChat.connect(bot.rasa_url, origin=bot.app_url)
    try:
        session = await chat.session(uuid.uuid4().hex)
        await chat.emit("user_uttered", {"message": text, "session_id": session})
        return (await chat.receive("bot_uttered", timeout=15))["text"]
    finally:
        await chat.close()


@pytest.mark.rasa
def test_rasa_on_postgres_and_redis_and_redis_going_away(tmp_path, rasa_model,
                                                         throwaway_postgres):
    if not _redis_up():
        pytest.skip(f"no Redis at {REDIS_URL}")
    target = redis_target(REDIS_URL)
    relay = TcpRelay((target.host, target.port))
    settings = Settings(var_dir=tmp_path, database_url=throwaway_postgres, embedder="hashing",
                        index_sync_interval_s=0, rasa_model_dir=rasa_model.parent,
                        redis_url=f"redis://127.0.0.1:{relay.port}/{target.db}")
    bot = start_stack(settings, model=rasa_model, demo_kb=DEMO_KB,
                      tracker_db=tmp_path / "not-used-on-postgres.db")
    try:
        sender = f"scale-{uuid.uuid4().hex[:8]}"
        first = bot.say(sender, "ciao")
        assert first and TECHNICAL_PROBLEM not in first[0]["text"]
        engine = sa.create_engine(throwaway_postgres)
        with engine.connect() as conn:
            stored = conn.scalar(sa.text(f"SELECT count(*) FROM {RASA_SCHEMA}.events "
                                         "WHERE sender_id = :s"), {"s": sender})
            in_public = conn.scalar(sa.text("SELECT to_regclass('public.events')"))
        engine.dispose()
        assert stored >= 3 and in_public is None  # Rasa's table is in its own schema
        assert not (tmp_path / "not-used-on-postgres.db").exists()

        relay.cut()  # Redis gone: a polite reply, quickly, not silence or a hang
        started = time.monotonic()
        down = bot.say(sender, "ciao")
        assert time.monotonic() - started < 10
        assert [m["text"] for m in down] and TECHNICAL_PROBLEM in down[0]["text"]
        english = bot.say(f"{sender}-en", "hello", metadata={"language": "en"})
        assert "technical problem" in english[0]["text"]
        assert TECHNICAL_PROBLEM in asyncio.run(_socketio_reply(bot, "ciao"))  # the widget's path

        relay.resume()  # Redis back: the same conversation goes on
        again = bot.say(sender, "ciao")
        assert again and TECHNICAL_PROBLEM not in again[0]["text"]
    finally:
        bot.stop()
        relay.cut()


def test_the_rasa_api_token_never_looks_like_an_option(tmp_path):
    """Rasa's argument parser refused a token starting with "-" (1 start in 64 failed)."""
    settings = Settings(var_dir=tmp_path)
    for _ in range(200):
        token = RasaServer(settings, model=tmp_path, port=1, action_url="x",
                           log_path=tmp_path / "l").token
        assert len(token) >= 32 and not token.startswith("-")
