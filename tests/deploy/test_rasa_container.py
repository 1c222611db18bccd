"""The Rasa container's process run for real, without Docker: deploy/rasa/serve.py on Rasa's
own Python, from a folder laid out as the image lays it out (the Rasa project with serve.py
and the shipped endpoints.yml beside it), with the environment the Compose file gives it.
Only the Compose services' host names are pointed at this machine's PostgreSQL and Redis.
It shows that Rasa accepts the command line and expands the endpoints' variables: the
health check of the image passes, a message is answered, and its conversation is kept in
PostgreSQL's `rasa` schema."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.container import RASA_TOKEN_ENV
from bot.conversation.rasa_runtime import _ENV as RASA_RUN_ENV
from bot.conversation.rasa_runtime import PROJECT, ensure_model, rasa_python
from bot.conversation.rasa_stores import (
    RASA_SCHEMA,
    REDIS_PASSWORD_ENV,
    REDIS_URL_ENV,
    TRACKER_URL_ENV,
    check_redis,
    ensure_tracker_schema,
    rasa_tracker_url,
    redis_target,
)
from bot.stack import free_port
from core import Settings, SupportBotError
from tests.conftest import PG_URL, shared_model_folder
from tests.deploy.deploy_files import DEPLOY, compose
from tests.deploy.test_deploy_files import example_env

REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """The trained model, once what the test needs is known to be there (training takes
    minutes)."""
    if not PG_URL:
        pytest.skip("needs PostgreSQL: set SUPPORTBOT_TEST_DATABASE_URL")
    try:
        check_redis(REDIS_URL)
        rasa_python(Settings())
    except SupportBotError as exc:  # Redis down, or no Rasa environment
        pytest.skip(str(exc))
    cache = os.environ.get("SUPPORTBOT_TEST_RASA_CACHE")
    folder = Path(cache) if cache else shared_model_folder(tmp_path_factory)
    return ensure_model(Settings(var_dir=folder, rasa_model_dir=folder))


def image_folder(tmp_path: Path) -> Path:
    """The Rasa project as deploy/rasa.Dockerfile copies it, the Compose host names of the
    endpoints pointed at this machine's Redis."""
    project = tmp_path / "rasa-project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".rasa", "tests",
                                                                    "__pycache__"))
    shutil.copy(DEPLOY / "rasa" / "serve.py", project / "serve.py")
    redis = redis_target(REDIS_URL)
    endpoints = (DEPLOY / "rasa" / "endpoints.yml").read_text(encoding="utf-8")
    for compose_value, here in (("url: redis\n", f"url: {redis.host}\n"),
                                ("port: 6379\n", f"port: {redis.port}\n"),
                                ("db: 0\n", f"db: {redis.db}\n")):
        assert compose_value in endpoints
        endpoints = endpoints.replace(compose_value, here)
    (project / "endpoints.yml").write_text(endpoints, encoding="utf-8")
    return project


def test_rasa_container_process_answers_and_keeps_the_conversation_in_postgres(tmp_path, model):
    ensure_tracker_schema(PG_URL)  # what the `prepare` container does first
    project, port = image_folder(tmp_path), free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")},
           **RASA_RUN_ENV, "PYTHONPATH": str(project),
           **compose(example_env())["services"]["rasa"]["environment"],
           TRACKER_URL_ENV: rasa_tracker_url(PG_URL),
           REDIS_PASSWORD_ENV: redis_target(REDIS_URL).password, REDIS_URL_ENV: REDIS_URL,
           "SUPPORTBOT_RASA_PORT": str(port)}
    log = tmp_path / "rasa.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(rasa_python(Settings())), str(project / "serve.py"),
                                    str(model)],
                                   cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        # The image's HEALTHCHECK: /status with the API token, 200 once the model is loaded.
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/status", timeout=2,
                                   params={"token": env[RASA_TOKEN_ENV]})
                if status.status_code == 200 and status.json().get("model_file"):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        assert httpx.get(f"http://127.0.0.1:{port}/status", timeout=5).status_code == 401
        sender = f"deploy-{uuid.uuid4().hex}"
        reply = httpx.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook", timeout=60,
                           json={"sender": sender, "message": "ciao"})
        assert reply.status_code == 200 and reply.json(), reply.text
        engine = sa.create_engine(PG_URL)
        try:
            with engine.connect() as conn:
                kept = conn.execute(sa.text(f"SELECT count(*) FROM {RASA_SCHEMA}.events "
                                            "WHERE sender_id = :sender"), {"sender": sender})
                assert kept.scalar() > 0
        finally:
            engine.dispose()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
