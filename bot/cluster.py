"""`supportbot run --workers N`: N Rasa servers and N app processes on one machine behind
Debian's HAProxy, as Rasa documents horizontal scaling (SQL tracker store on PostgreSQL,
Redis lock store).

HAProxy listens where the single process would (the app's port and Rasa's port), so the
widget, the links and the two-command experience are unchanged. A third, loopback-only
frontend is the action endpoint Rasa calls, balanced over the app processes and never
reachable through the public ports. Health checks take a killed process out of rotation
within ~2 s; a request whose connection is refused is sent to another server, so a
message is not lost. Each REST message may land on a different Rasa process: the tracker is
in PostgreSQL and Redis serialises a conversation. socket.io sessions live in one process,
so that path is sticky (a cookie naming the server).

The supervisor process is app process 0: it migrates, loads the demo data and runs the
singletons (mail sink and receiver, SLA scheduler, outbox sender, insights); the other app
processes (`python -m bot.cluster worker`) serve requests only."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.cluster_proxy import (
    SERVED_BY,
    ClusterError,
    Layout,
    haproxy_config,
    haproxy_executable,
    write_private,
)
from bot.conversation.rasa_runtime import RasaServer, end_process, tracker_db_path
from bot.conversation.rasa_stores import is_postgres
from core import Settings, SupportBotError

log = logging.getLogger(__name__)

TOKEN_ENV = "SUPPORTBOT_CLUSTER_RASA_TOKEN"  # the workers' chat delivery through Rasa
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def check_cluster(settings: Settings, workers: int) -> str:
    """Why N processes cannot run, as one clear error; returns HAProxy's path."""
    missing = []
    if not is_postgres(settings.resolved_database_url):
        missing.append("SUPPORTBOT_DATABASE_URL on PostgreSQL (SQLite is one process's file)")
    if not settings.redis_url:
        missing.append("SUPPORTBOT_REDIS_URL (Rasa's lock store, so that two processes never "
                       "handle one conversation at once)")
    if missing:
        raise ClusterError(f"--workers {workers} needs " + " and ".join(missing) +
                           "; without them run a single process (--workers 1)")
    return haproxy_executable(settings)


class Supervised:
    """A child process restarted (after a pause) whenever it exits on its own."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], log_path: Path,
                 cwd: Path | None = None):
        self.name, self.command, self.env, self.log_path, self.cwd = (
            name, command, env, log_path, cwd)
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # A restart and stop() never interleave: a child started as stop() runs is stopped.
        self._lock = threading.Lock()

    def start(self) -> None:
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name=self.name, daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "ab") as out:
                self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd,
                                                stdout=out, stderr=subprocess.STDOUT,
                                                umask=0o077)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            code = self.process.wait()
            if self._stopping.wait(2.0):
                return
            log.error("%s exited (code %s); starting it again (log: %s)", self.name, code,
                      self.log_path)
            self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self.process
        end_process(process)
        if self._thread is not None:
            self._thread.join(timeout=5)


def rasa_servers(settings: Settings, layout: Layout, model: Path, token: str
                 ) -> list[RasaServer]:
    """N Rasa servers on loopback ports, sharing one API token (HAProxy's health check and
    the chat delivery use it) and the PostgreSQL tracker store."""
    servers = []
    for i, port in enumerate(layout.rasa_ports):
        server = RasaServer(settings, model=model, port=port, host="127.0.0.1",
                            action_url=layout.action_url,
                            log_path=settings.var_dir.resolve() / f"rasa-{i}.log",
                            tracker_db=tracker_db_path(settings))
        server.token = token
        servers.append(server)
    return servers


def app_workers(settings: Settings, layout: Layout, token: str) -> list[Supervised]:
    """App processes 1..N-1 (process 0 is the supervisor itself)."""
    env = {**os.environ, TOKEN_ENV: token, "SUPPORTBOT_HOST": layout.host,
           "SUPPORTBOT_PORT": str(layout.app_port), "SUPPORTBOT_RASA_PORT": str(layout.rasa_port),
           "SUPPORTBOT_VAR_DIR": str(settings.var_dir.resolve()),
           "SUPPORTBOT_DATABASE_URL": settings.resolved_database_url}
    return [Supervised(f"app-{i}", [sys.executable, "-m", "bot.cluster", "worker", str(port)],
                       env=env, log_path=settings.var_dir.resolve() / f"app-{i}.log")
            for i, port in enumerate(layout.app_ports) if i > 0]


def start_haproxy(settings: Settings, layout: Layout, token: str) -> Supervised:
    executable = haproxy_executable(settings)
    config = write_private(settings.var_dir.resolve() / "cluster" / "haproxy.cfg",
                           haproxy_config(layout, token))
    check = subprocess.run([executable, "-c", "-q", "-f", str(config)], capture_output=True,
                           text=True)
    if check.returncode != 0:
        raise ClusterError(f"HAProxy refused its configuration: {check.stderr.strip()[-500:]}")
    proxy = Supervised("haproxy", [executable, "-db", "-f", str(config)], env=dict(os.environ),
                       log_path=settings.var_dir.resolve() / "haproxy.log")
    proxy.start()
    return proxy


def plan(settings: Settings, workers: int) -> Layout:
    from bot.stack import free_port

    return Layout(settings.host, settings.port, settings.rasa_port, free_port(),
                  tuple(free_port() for _ in range(workers)),
                  tuple(free_port() for _ in range(workers)))


def serve_cluster(*, host: str | None, port: int | None, rasa_port: int | None, workers: int,
                  demo_kb: Path) -> None:
    """What `serve` does for one process, for N: checks first (one line each), then the
    model and the data, then Rasa and app processes, then HAProxy in front."""
    import secrets

    import uvicorn

    from bot.conversation.chat_delivery import RasaChatDelivery
    from bot.product import assemble_app, start_learning_jobs

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for noisy in ("bm25s", "httpx", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = _checked_settings(host, port, rasa_port, workers)
    assistant, model = _model_and_data(settings, demo_kb)
    layout, token = plan(settings, workers), secrets.token_hex(24)  # never "-..."
    rasas = rasa_servers(settings, layout, model, token)
    apps = app_workers(settings, layout, token)
    app, services = assemble_app(
        settings, assistant, delivery=RasaChatDelivery(f"http://127.0.0.1:{layout.rasa_port}",
                                                       token),
        action_url=layout.action_url, rasa=rasas[0])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=layout.app_ports[0],
                                           log_level="warning"))
    started: list = []
    try:
        for rasa in rasas:
            rasa.start(supervise=True)  # restarted, with a logged reason, whenever it dies
            started.append(rasa)
        for worker in apps:
            worker.start()
            started.append(worker)
        started.append(start_haproxy(settings, layout, token))
        services.start()
        stop_jobs = threading.Event()
        start_learning_jobs(settings, assistant.kb, stop_jobs)
        threading.Thread(target=_announce, args=(rasas, settings, workers), daemon=True).start()
        server.run()  # returns on Ctrl-C or SIGTERM
    finally:
        log.info("stopping HAProxy, the Rasa and app processes and the mail services")
        for child in reversed(started):
            child.stop()
        services.stop()
        assistant.kb.close()


def _checked_settings(host: str | None, port: int | None, rasa_port: int | None,
                      workers: int) -> Settings:
    """The settings with the command line's address; every check that can fail in a
    second fails now, not after minutes of preparation."""
    from bot.conversation.rasa_runtime import rasa_executable
    from bot.conversation.rasa_stores import prepare_stores
    from bot.server import port_free
    from core import get_settings

    settings = get_settings()
    settings = settings.model_copy(update={"host": host or settings.host,
                                           "port": port or settings.port,
                                           "rasa_port": rasa_port or settings.rasa_port})
    check_cluster(settings, workers)
    for name, number in (("app", settings.port), ("Rasa", settings.rasa_port)):
        if not port_free(settings.host, number):
            raise ClusterError(f"port {number} on {settings.host} (for the {name}) is busy")
    rasa_executable(settings)
    prepare_stores(settings, tracker_db_path(settings))  # Redis down: one line, exit 2
    return settings


def _model_and_data(settings: Settings, demo_kb: Path):
    """Rasa trains (or finds its cached model) while the data is migrated and loaded."""
    from bot.conversation.rasa_runtime import ensure_model
    from bot.product import prepare

    trained: dict[str, Path] = {}
    training = threading.Thread(target=lambda: trained.update(model=ensure_model(settings)))
    training.start()
    assistant = prepare(settings, demo_kb)
    training.join()
    if "model" not in trained:
        raise ClusterError("the Rasa model could not be trained; see the messages above")
    return assistant, trained["model"]


def _wait_for_proxy(url: str, workers: int, timeout: float) -> None:
    """Until HAProxy has answered from every Rasa server: a server that was not ready when
    HAProxy first checked it needs two good checks (~2 s) to be back in rotation, and the
    product is announced only once all are."""
    import httpx

    expected = {f"rasa{i}" for i in range(workers)}
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                seen.add(response.headers.get(SERVED_BY, ""))
                if expected <= seen:
                    return
                time.sleep(0.2)  # round robin: the next request goes to the next server
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ClusterError(f"HAProxy does not answer from {sorted(expected - seen)} at {url}; see "
                       "haproxy.log in the var dir")


def _announce(rasas: list[RasaServer], settings: Settings, workers: int) -> None:
    try:
        for rasa in rasas:
            rasa.wait_ready(settings.rasa_start_timeout_s)
        _wait_for_proxy(f"http://127.0.0.1:{settings.rasa_port}/", workers, timeout=30)
    except SupportBotError as exc:
        log.error("%s", exc)
        return
    host, port = settings.host, settings.port
    print(f"\n  Shop with the chat:     http://{host}:{port}/\n"
          f"  Operator console:       http://{host}:{port}/console\n"
          f"  Rasa (via HAProxy):     http://{host}:{settings.rasa_port}\n"
          f"  Processes:              {workers} Rasa + {workers} app behind HAProxy "
          f"(logs: {settings.var_dir.resolve()})\n"
          "  Ctrl-C stops everything.\n", flush=True)


def worker_main(port: int) -> None:
    """One app process behind HAProxy: pages, API and the action endpoint; no singletons."""
    import uvicorn

    from bot.conversation.chat_delivery import RasaChatDelivery
    from bot.product import assemble_app, warm_assistant
    from core import get_settings

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    settings = get_settings()
    assistant = warm_assistant(settings)
    # The mail services' threads run in process 0; this one only answers through them.
    app, _ = assemble_app(
        settings, assistant, action_url=f"http://127.0.0.1:{port}/webhook",
        delivery=RasaChatDelivery(f"http://127.0.0.1:{settings.rasa_port}",
                                  os.environ.get(TOKEN_ENV, "")))
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        assistant.kb.close()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "worker" or not sys.argv[2].isdigit():
        sys.exit("usage: python -m bot.cluster worker PORT")
    worker_main(int(sys.argv[2]))
