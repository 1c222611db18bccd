"""Running Rasa 3.6 from its own Python 3.10 virtualenv: training models (cached by a
hash of the project files) and starting and stopping the server."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import subprocess
import time
from pathlib import Path

import httpx
from filelock import FileLock

from core import Settings, SupportBotError

log = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parent / "rasa_project"
ROOT = PROJECT.parent.parent
_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(PROJECT), "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_TELEMETRY_ENABLED": "false"}


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


def project_hash(project: Path = PROJECT) -> str:
    """Changes whenever a file that shapes the model changes."""
    digest = hashlib.sha256()
    files = [project / "config.yml", project / "domain.yml", *sorted((project / "data").glob("*.yml")),
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


def write_endpoints(settings: Settings, action_url: str, path: Path, *, tracker_db: Path | None
                    ) -> Path:
    lines = ["action_endpoint:", f"  url: {action_url}"]
    if tracker_db is not None:  # conversations survive a Rasa restart
        lines += ["tracker_store:", "  type: SQL", "  dialect: sqlite", f"  db: {tracker_db}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class RasaServer:
    """One `rasa run` process with the REST and socket.io channels and the HTTP API."""

    def __init__(self, settings: Settings, *, model: Path, port: int, action_url: str,
                 log_path: Path, tracker_db: Path | None = None, host: str = "127.0.0.1"):
        self.settings, self.model, self.port, self.host = settings, model, port, host
        self.action_url, self.log_path, self.tracker_db = action_url, log_path, tracker_db
        self.token = secrets.token_urlsafe(24)  # guards Rasa's HTTP API; channels need none
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        endpoints = write_endpoints(self.settings, self.action_url,
                                    self.log_path.with_suffix(".endpoints.yml"),
                                    tracker_db=self.tracker_db)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [str(rasa_executable(self.settings)), "run", "--model", str(self.model),
                 "--enable-api", "--auth-token", self.token, "--cors", "*",
                 "--interface", self.host, "--port", str(self.port),
                 "--credentials", str(PROJECT / "credentials.yml"), "--endpoints", str(endpoints)],
                cwd=PROJECT, env=_run_env(), stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RasaError(f"the Rasa server exited with code {self.process.returncode}; "
                                f"see {self.log_path}")
            try:
                status = httpx.get(f"{self.url}/status", params={"token": self.token}, timeout=2)
                if status.status_code == 200 and status.json().get("model_file"):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RasaError(f"the Rasa server did not start within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
