"""Running Rasa 3.6 from its own Python 3.10 virtualenv: training models (cached by a
hash of the project files) and starting and stopping the server."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
from filelock import FileLock

from bot.conversation.boundary import (
    ACTION_TOKEN_ENV,
    ACTION_TOKEN_HEADER,
    action_endpoint_token,
    chat_allowed_origins,
)
from bot.conversation.rasa_stores import is_postgres, prepare_stores, store_environment, store_lines
from core import Settings, SupportBotError

log = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parent / "rasa_project"
ROOT = PROJECT.parents[2]
_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(PROJECT), "PYTHONWARNINGS": "ignore",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_TELEMETRY_ENABLED": "false"}
STABLE_RUN_S = 120.0  # a server that ran this long before dying starts the back-off afresh


class RasaError(SupportBotError):
    """Rasa is missing, failed to train, or did not start."""


def rasa_executable(settings: Settings) -> Path:
    venv = settings.rasa_venv if settings.rasa_venv.is_absolute() else ROOT / settings.rasa_venv
    executable = venv / "bin" / "rasa"
    if not executable.exists():
        raise RasaError(
            f"the Rasa environment is missing ({executable} not found). Run `make setup`: it "
            "creates it with Python 3.10 (Rasa 3.6 supports Python 3.8-3.10 only).")
    return executable


def rasa_python(settings: Settings) -> Path:
    """The Rasa environment's interpreter, which runs `boundary.launch`."""
    return rasa_executable(settings).parent / "python"


def project_hash(project: Path = PROJECT) -> str:
    """Changes whenever a file that shapes the model changes."""
    digest = hashlib.sha256()
    files = [project / "config.yml", project / "domain.yml",
             *sorted((project / "data").glob("*.yml")),
             *sorted((project / "addons").glob("*.py"))]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _run_env(cache: Path | None = None) -> dict[str, str]:
    env = {**os.environ, **_ENV}
    if cache is not None:  # Rasa's training cache, instead of .rasa/ in the project folder
        env["RASA_CACHE_DIRECTORY"] = str(cache)
    return env


def ensure_model(settings: Settings, *, project: Path = PROJECT) -> Path:
    """The trained model for the current project files, training it when not cached."""
    model_dir = settings.resolved_rasa_model_dir.resolve()
    model_dir.mkdir(parents=True, exist_ok=True)
    name = f"supportbot-{project_hash(project)}"
    model = model_dir / f"{name}.tar.gz"
    with FileLock(str(model_dir / ".train.lock")):  # two processes never train the same model
        if model.exists():
            return model
        log.info("training the Rasa model (project files changed); this takes a few minutes")
        started = time.monotonic()
        result = subprocess.run(
            [str(rasa_executable(settings)), "train", "--config", "config.yml", "--domain",
             "domain.yml", "--data", "data", "--out", str(model_dir), "--fixed-model-name", name],
            cwd=project, env=_run_env(model_dir / ".cache"), capture_output=True, text=True)
        if result.returncode != 0 or not model.exists():
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
            raise RasaError(f"training the Rasa model failed:\n{tail}")
        log.info("Rasa model trained in %.0f s: %s", time.monotonic() - started, model.name)
        _prune(model_dir, keep=model)
    return model


def _prune(model_dir: Path, *, keep: Path, spare: int = 2) -> None:
    """Models of older project versions take ~55 MB each: keep the newest few."""
    older = sorted((p for p in model_dir.glob("supportbot-*.tar.gz") if p != keep),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in older[spare:]:
        stale.unlink(missing_ok=True)


def tracker_db_path(settings: Settings) -> Path:
    """Rasa's SQL tracker store (SQLite) under the var dir: the one place that names it, for
    `supportbot run` and for GDPR erasure and retention."""
    return settings.var_dir.resolve() / "rasa-tracker.db"


def _private_file(path: Path) -> Path:
    """Creates `path` readable by its owner only (customers' conversations, secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    path.chmod(0o600)  # an older file may have been created world-readable
    return path


def write_endpoints(settings: Settings, action_url: str, path: Path, *, tracker_db: Path | None
                    ) -> Path:
    # Rasa expands ${...} when it reads the file: the token itself is never written down.
    # Selective domain: the domain travels only to the actions that read it (the form's
    # validation), not with every call.
    lines = ["action_endpoint:", f"  url: {action_url}", "  enable_selective_domain: true",
             "  headers:", f"    {ACTION_TOKEN_HEADER}: Bearer ${{{ACTION_TOKEN_ENV}}}"]
    # With a tracker, conversations survive a Rasa restart (and move between replicas on
    # PostgreSQL); with Redis, replicas take turns on a conversation.
    lines += store_lines(settings, tracker_db)
    _private_file(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def end_process(process: subprocess.Popen | None) -> None:
    """Terminate a child still running, and kill it if it does not end within 15 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class RasaServer:
    """One Rasa server with the REST and socket.io channels and the HTTP API, started by
    `boundary.launch` so that no secret is on its command line; `start(supervise=True)`
    restarts it when it dies."""

    def __init__(self, settings: Settings, *, model: Path, port: int, action_url: str,
                 log_path: Path, tracker_db: Path | None = None, host: str = "127.0.0.1"):
        self.settings, self.model, self.port, self.host = settings, model, port, host
        self.action_url, self.log_path, self.tracker_db = action_url, log_path, tracker_db
        # Guards Rasa's HTTP API (channels need none). Hex: a token_urlsafe one starts with
        # "-" once in 64 starts, and Rasa's argument parser then refuses it as an option.
        self.token = secrets.token_hex(24)
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self, endpoints: Path) -> list[str]:
        return [str(rasa_python(self.settings)), "-m", "boundary.launch", "run",
                "--model", str(self.model), "--enable-api",
                "--cors", *chat_allowed_origins(self.settings),
                "--interface", self.host, "--port", str(self.port),
                "--credentials", str(PROJECT / "credentials.yml"), "--endpoints", str(endpoints)]

    def environment(self) -> dict[str, str]:
        """Secrets and limits for the Rasa process; an environment, unlike a command line,
        is readable only by the process's owner."""
        settings = self.settings
        # The product's own secrets (mail passwords, the secret key) are none of Rasa's business.
        inherited = {k: v for k, v in _run_env().items() if not k.startswith("SUPPORTBOT_")}
        return {**inherited, "SUPPORTBOT_RASA_AUTH_TOKEN": self.token,
                ACTION_TOKEN_ENV: action_endpoint_token(settings),
                "SUPPORTBOT_MAX_QUESTION_CHARS": str(settings.max_question_chars),
                "SUPPORTBOT_CHAT_MAX_METADATA_BYTES": str(settings.chat_max_metadata_bytes),
                "SUPPORTBOT_CHAT_MAX_BODY_BYTES": str(settings.chat_max_body_bytes),
                "SANIC_REQUEST_MAX_SIZE": str(settings.chat_max_body_bytes),
                "SANIC_WEBSOCKET_MAX_SIZE": str(settings.chat_max_body_bytes),
                "SUPPORTBOT_CHAT_ALLOWED_ORIGINS": json.dumps(chat_allowed_origins(settings)),
                **store_environment(settings, self.tracker_db)}

    def start(self, *, supervise: bool = False) -> None:
        prepare_stores(self.settings, self.tracker_db)  # Redis down: one line, now
        self._stopping.clear()
        with self._lock:
            self._spawn()
        if supervise and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="rasa-supervisor",
                                             daemon=True)
            self._watcher.start()

    def _spawn(self) -> None:
        endpoints = write_endpoints(self.settings, self.action_url,
                                    self.log_path.with_suffix(".endpoints.yml"),
                                    tracker_db=self.tracker_db)
        if self.tracker_db is not None and not is_postgres(self.settings.resolved_database_url):
            # SQLite keeps the mode of an existing file
            _private_file(self.tracker_db)
        with open(_private_file(self.log_path), "ab") as out:
            # umask: whatever Rasa writes (tracker journal, caches) is private too.
            self.process = subprocess.Popen(self.command(endpoints), cwd=PROJECT,
                                            env=self.environment(), stdout=out,
                                            stderr=subprocess.STDOUT, umask=0o077)
        self._started_at = time.monotonic()

    def _watch(self) -> None:
        """Restarts the server whenever it exits on its own, doubling the wait after each
        quick crash (up to rasa_restart_max_delay_s) so a crash loop does not spin."""
        delay = 1.0
        while not self._stopping.is_set():
            process = self.process
            code = process.wait() if process is not None else None
            if self._stopping.is_set():
                return
            ran = time.monotonic() - self._started_at
            if ran > STABLE_RUN_S:
                delay = 1.0
            log.error("the Rasa server exited (%s) after %.0f s: nobody can chat until it is "
                      "back; restart %d in %.0f s (log: %s)", _exit_reason(code), ran,
                      self.restarts + 1, delay, self.log_path)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, self.settings.rasa_restart_max_delay_s)
            with self._lock:
                if self._stopping.is_set():
                    return
                self.restarts += 1
                self._spawn()
            log.info("the Rasa server is starting again (pid %d)", self.process.pid)

    def status(self, timeout: float = 2.0) -> tuple[bool, str]:
        """Whether Rasa answers with a model loaded, and why not."""
        if self.process is None:
            return False, "not started"
        if self.process.poll() is not None:
            return False, f"exited ({_exit_reason(self.process.returncode)}); restarting"
        try:
            status = httpx.get(f"{self.url}/status", params={"token": self.token},
                               timeout=timeout)
        except httpx.HTTPError as exc:
            return False, f"not reachable ({type(exc).__name__}); starting?"
        if status.status_code != 200 or not status.json().get("model_file"):
            return False, f"answers {status.status_code} without a model"
        return True, "answering"

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None \
                    and self._watcher is None:
                raise RasaError(f"the Rasa server exited with code {self.process.returncode}; "
                                f"see {self.log_path}")
            if self.status()[0]:
                return
            time.sleep(0.5)
        raise RasaError(f"the Rasa server did not start within {timeout:.0f} s; "
                        f"see {self.log_path}")

    def stop(self) -> None:
        with self._lock:  # no restart can begin once this holds
            self._stopping.set()
            process = self.process
        end_process(process)
        if self._watcher is not None:  # it wakes up when the process ends, and sees stopping
            self._watcher.join(timeout=5)
            self._watcher = None


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no process"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
