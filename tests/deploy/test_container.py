"""`python -m bot.container prepare|app|jobs`, the one process of each app container, run for
real: prepared once, then an app process and the jobs process serving on the prepared
database; and the one-line refusals when what they need is missing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
import sqlalchemy as sa

from bot.container import RASA_API_URL_ENV, RASA_TOKEN_ENV, rasa_api
from bot.conversation.rasa_stores import RASA_SCHEMA, is_postgres
from bot.stack import free_port
from core import SupportBotError
from tests.conftest import ROOT

TOKEN = "action-token-for-the-test"


def container_env(tmp_path, database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    return {**env, "SUPPORTBOT_VAR_DIR": str(tmp_path), "SUPPORTBOT_DATABASE_URL": database_url,
            "SUPPORTBOT_EMBEDDER": "hashing", "SUPPORTBOT_ACTION_ENDPOINT_TOKEN": TOKEN,
            "SUPPORTBOT_RUN_MAIL_SINK": "false", "SUPPORTBOT_INBOUND_SMTP_PORT": "0",
            **settings}


def run_role(role: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.container", role], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_app_needs_rasas_api_url_and_token():
    with pytest.raises(SupportBotError, match=f"{RASA_API_URL_ENV} and {RASA_TOKEN_ENV}"):
        rasa_api({})
    with pytest.raises(SupportBotError, match=f"^{RASA_TOKEN_ENV} must be set"):
        rasa_api({RASA_API_URL_ENV: "http://proxy:5005"})
    assert rasa_api({RASA_API_URL_ENV: " http://proxy:5005 ", RASA_TOKEN_ENV: "t"}) == (
        "http://proxy:5005", "t")


@pytest.mark.parametrize("role, settings, says", [
    ("app", {}, RASA_API_URL_ENV),
    ("prepare", {"SUPPORTBOT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, "Redis at"),
])
def test_a_role_that_cannot_run_says_why_in_one_line(tmp_path, role, settings, says):
    env = container_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", **settings)
    result = run_role(role, env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("error:") == 1 and says in result.stderr
    assert "Traceback" not in result.stderr


def wait_healthy(process: subprocess.Popen, url: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> str:
    """Docker's stop: SIGTERM. uvicorn shuts down, then re-raises the signal it caught."""
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode in (0, -signal.SIGTERM), output[-2000:]
    return output


@pytest.mark.slow
def test_prepared_once_then_app_and_jobs_serve(tmp_path, database_url):
    env = container_env(tmp_path, database_url,
                        **{RASA_API_URL_ENV: f"http://127.0.0.1:{free_port()}",
                           RASA_TOKEN_ENV: "rasa-api-token"})
    prepared = run_role("prepare", env)
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    if is_postgres(database_url):  # Rasa's tracker store finds its schema
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT 1 FROM information_schema.schemata WHERE "
                                            f"schema_name = '{RASA_SCHEMA}'")).scalar() == 1
        finally:
            engine.dispose()

    app_port, jobs_port, smtp_port = free_port(), free_port(), free_port()
    processes = {
        "app": subprocess.Popen(
            [sys.executable, "-m", "bot.container", "app"], cwd=ROOT, text=True,
            env={**env, "SUPPORTBOT_PORT": str(app_port)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
        "jobs": subprocess.Popen(
            [sys.executable, "-m", "bot.container", "jobs"], cwd=ROOT, text=True,
            env={**env, "SUPPORTBOT_PORT": str(jobs_port),
                 "SUPPORTBOT_INBOUND_SMTP_PORT": str(smtp_port)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)}
    try:
        for name, port in (("app", app_port), ("jobs", jobs_port)):
            health = wait_healthy(processes[name], f"http://127.0.0.1:{port}/healthz")
            assert health["components"]["database"]["status"] == "ok", name
            assert health["components"]["action_endpoint"]["status"] == "ok", name
            assert health["kb_version"] > 0  # the demo shop, loaded once by `prepare`
        actions = httpx.get(f"http://127.0.0.1:{app_port}/webhook/actions",
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert actions.status_code == 200 and actions.json()
        # Only the jobs process receives operators' replies.
        with socket.create_connection(("127.0.0.1", smtp_port), timeout=10) as smtp:
            assert smtp.recv(512).startswith(b"220")
    finally:
        outputs = {name: stop(process) for name, process in processes.items()}
    for name, output in outputs.items():
        assert "Traceback" not in output, (name, output[-2000:])
