"""`supportbot run --workers N`: the checks that refuse a layout which cannot work, the
HAProxy configuration, and the scale test: PostgreSQL, Redis, 2 Rasa + 2 app processes
behind HAProxy, with one Rasa process killed along the way."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bot.cluster import check_cluster
from bot.cluster_proxy import SERVED_BY, ClusterError, Layout, haproxy_config
from bot.conversation.rasa_stores import StoreError, check_redis
from bot.stack import free_port
from core import Settings, session_scope
from escalation import Ticket
from tests.bot.test_rasa_stores import REDIS_URL
from tests.conftest import PG_URL, ROOT

HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")
LAYOUT = Layout("127.0.0.1", 8000, 5005, 9100, (9101, 9102), (9201, 9202))


def test_more_than_one_process_needs_postgres_and_redis(tmp_path):
    with pytest.raises(ClusterError, match="PostgreSQL.*SUPPORTBOT_REDIS_URL"):
        check_cluster(Settings(var_dir=tmp_path), 2)
    with pytest.raises(ClusterError, match="SUPPORTBOT_REDIS_URL") as caught:
        check_cluster(Settings(var_dir=tmp_path, database_url="postgresql+psycopg://h/db"), 2)
    assert "PostgreSQL" not in str(caught.value)


def test_supportbot_run_refuses_workers_on_sqlite_in_one_line(tmp_path):
    env = {**os.environ, "SUPPORTBOT_VAR_DIR": str(tmp_path)}
    env.pop("SUPPORTBOT_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "bot.commands.main", "run", "--workers", "2"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("error:") == 1 and "--workers 2 needs" in result.stderr
    assert "Traceback" not in result.stderr


def test_haproxy_config_checks_rasa_by_its_status_and_keeps_actions_on_loopback():
    config = haproxy_config(LAYOUT, "tok-1")
    assert "bind 127.0.0.1:9100" in config  # the action endpoint: loopback only
    public = config.split("frontend public_app")[1].split("frontend public_rasa")[0]
    assert "deny deny_status 404 if { path /webhook } || { path_beg /webhook/ }" in public
    assert config.count("http-check send meth GET uri /status?token=tok-1") == 2
    for port in (9101, 9102, 9201, 9202):
        assert f"127.0.0.1:{port} check" in config
    assert "cookie SUPPORTBOT_RASA insert" in config  # socket.io stays on its process
    assert "retry-on conn-failure empty-response" in config  # a dead process: elsewhere


def test_haproxy_accepts_the_config(tmp_path):
    if not Path(HAPROXY).exists():
        pytest.skip(f"HAProxy not installed at {HAPROXY} (`make haproxy`)")
    path = tmp_path / "haproxy.cfg"
    path.write_text(haproxy_config(LAYOUT, "tok-1"))
    result = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- the scale test -----------------------------------------------------------------------


def test_a_restart_racing_stop_leaves_no_process_running(tmp_path, monkeypatch):
    # The watcher restarts a child that exited; if stop() comes while that restart is
    # under way, the new child must be stopped too, not left running after stop().
    from bot import cluster

    real_popen, calls, stopper = subprocess.Popen, [], []
    supervised = cluster.Supervised("child", [sys.executable, "-c", "import time; "
                                              "time.sleep(60)"], env=dict(os.environ),
                                    log_path=tmp_path / "child.log")

    def popen(command, **kwargs):
        calls.append(command)
        if len(calls) == 1:  # exits at once: the watcher restarts it
            return real_popen([sys.executable, "-c", "pass"], **kwargs)
        stopped = threading.Event()
        stopper.append(threading.Thread(target=lambda: (supervised.stop(), stopped.set())))
        stopper[0].start()
        stopped.wait(1.0)  # stop() is under way (or done) when the new child starts
        return real_popen(command, **kwargs)

    monkeypatch.setattr(cluster.subprocess, "Popen", popen)
    supervised.start()
    deadline = time.monotonic() + 20
    while not stopper and time.monotonic() < deadline:
        time.sleep(0.1)
    stopper[0].join(timeout=30)
    child = supervised.process
    try:
        assert len(calls) == 2 and child.poll() is not None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _skip_without_components() -> None:
    if not PG_URL:
        pytest.skip("scale test: SUPPORTBOT_TEST_DATABASE_URL (PostgreSQL) is not set")
    try:
        check_redis(REDIS_URL, timeout=1)
    except StoreError:
        pytest.skip(f"scale test: no Redis at {REDIS_URL} (set SUPPORTBOT_TEST_REDIS_URL)")
    if not Path(HAPROXY).exists():
        pytest.skip(f"scale test: HAProxy not installed at {HAPROXY} (`make haproxy`)")


def _rasa_pid(port: int) -> int:
    """The Rasa process listening on `port`, found by its command line."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"boundary.launch" in args and str(port).encode() in args:
            return int(entry.name)
    raise AssertionError(f"no Rasa process on port {port}")


class Running:
    """`supportbot run --workers 2` in a subprocess, its output read line by line."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.commands.main", "run", "--workers", "2"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if text in self.lines.get(timeout=1):
                    return
            except queue.Empty:
                if self.process.poll() is not None:
                    break
        raise AssertionError(f"{text!r} never came:\n" + "".join(self.output[-40:]))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout=10)


def _say(rasa_url: str, sender: str, text: str) -> tuple[list[dict], str]:
    response = httpx.post(f"{rasa_url}/webhooks/rest/webhook", timeout=60,
                          json={"sender": sender, "message": text})
    response.raise_for_status()
    return response.json(), response.headers.get(SERVED_BY, "")


@pytest.mark.slow
@pytest.mark.rasa
def test_two_rasa_and_two_app_processes_behind_haproxy(tmp_path, rasa_model,
                                                       throwaway_postgres):
    _skip_without_components()
    rasa_port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")},
           "SUPPORTBOT_VAR_DIR": str(tmp_path), "SUPPORTBOT_DATABASE_URL": throwaway_postgres,
           "SUPPORTBOT_REDIS_URL": REDIS_URL, "SUPPORTBOT_EMBEDDER": "hashing",
           "SUPPORTBOT_INDEX_SYNC_INTERVAL_S": "0",
           "SUPPORTBOT_RASA_MODEL_DIR": str(rasa_model.parent),
           "SUPPORTBOT_PORT": str(free_port()), "SUPPORTBOT_RASA_PORT": str(rasa_port),
           "SUPPORTBOT_SMTP_PORT": str(free_port()),
           "SUPPORTBOT_INBOUND_SMTP_PORT": str(free_port())}
    started = time.monotonic()
    bot = Running(env)
    try:
        bot.wait_for("Ctrl-C stops everything", timeout=240)
        startup = time.monotonic() - started
        rasa = f"http://127.0.0.1:{rasa_port}"
        sender = f"scale-{uuid.uuid4().hex[:8]}"
        # An escalation whose four messages alternate between the two Rasa processes.
        script = [("Posso portare il mio cane in negozio?", r"richiesta n\. \d+"),
                  ("/affirm", "Qual è il tuo indirizzo email?"),
                  ("mario at example", "non sembra valido"),
                  ("mario.rossi@example.com", "per email all'indirizzo che ci hai dato")]
        served = []
        for text, expected in script:
            reply, by = _say(rasa, sender, text)
            assert re.search(expected, " ".join(m.get("text", "") for m in reply)), (text, reply)
            served.append(by)
        assert all(a != b for a, b in zip(served, served[1:], strict=False)), served
        assert set(served) == {"rasa0", "rasa1"}
        with session_scope(throwaway_postgres) as session:
            tickets = session.query(Ticket).filter_by(conversation_id=sender).all()
            assert [t.customer_email for t in tickets] == ["mario.rossi@example.com"]
        app = f"http://127.0.0.1:{env['SUPPORTBOT_PORT']}"
        assert httpx.get(f"{app}/").status_code == 200  # the shop page, through HAProxy
        assert httpx.post(f"{app}/webhook", json={}).status_code == 404  # Rasa's only

        # One Rasa process killed: the next messages are answered by the other one.
        config = (tmp_path / "cluster" / "haproxy.cfg").read_text()
        port0 = int(re.search(r"server rasa0 127\.0\.0\.1:(\d+)", config).group(1))
        os.kill(_rasa_pid(port0), signal.SIGKILL)
        other = f"{sender}-after"
        for _ in range(4):
            reply, by = _say(rasa, other, "ciao")
            assert reply and "problema tecnico" not in reply[0]["text"] and by == "rasa1"
        assert time.monotonic() - started < 180, f"startup took {startup:.0f} s"
    finally:
        code = bot.stop()
    assert code in (0, -signal.SIGINT, 130), "".join(bot.output[-40:])
