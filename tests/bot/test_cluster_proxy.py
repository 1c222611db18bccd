"""HAProxy in front of `supportbot run --workers N` (bot.cluster_proxy): the configuration's
health checks and queue, and the real HAProxy run on it in front of two small HTTP servers
standing in for Rasa processes: one busy (its health check answers slower than the check
interval) stays in rotation, one killed is taken out without a request being lost, and when
every check fails at once the proxy still routes to the processes instead of answering 503."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bot.cluster_proxy import RASA_SLOTS, SERVED_BY, Layout, haproxy_config
from bot.stack import free_port
from tests.deploy.deploy_files import HAPROXY_CFG, haproxy_sections

HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")
LAYOUT = Layout("127.0.0.1", 8000, 5005, 9100, (9101, 9102), (9201, 9202))
INTER_S = 1.0  # the configuration's check interval (default-server inter 1s)


def _sections(config: str, tmp_path: Path) -> dict[str, list[str]]:
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    return haproxy_sections(path)


def _servers(lines: list[str]) -> list[list[str]]:
    return [line.split() for line in lines if line.startswith(("server ", "server-template "))]


def test_checks_get_time_to_answer_and_overload_waits_in_a_queue(tmp_path):
    sections = _sections(haproxy_config(LAYOUT, "tok-1"), tmp_path)
    defaults = sections["defaults"]
    # Without `timeout check` a check has `inter` (1 s) in all: a busy Rasa went down.
    assert "timeout check 10s" in defaults and "default-server inter 1s fall 2 rise 2" in defaults
    assert "timeout queue 30s" in defaults  # unset, a queued message fails after 2 s
    rest = _servers(sections["backend rasa"])
    assert all(words[-2:] == ["maxconn", str(RASA_SLOTS)] for words in rest)
    # A websocket holds a slot while the chat is open: no limit on socket.io's servers.
    assert not any("maxconn" in words for words in _servers(sections["backend rasa_socketio"]))


@pytest.mark.parametrize("backend", ["backend app", "backend rasa"])
def test_each_checked_process_has_an_unchecked_backup_twin(tmp_path, backend):
    lines = _sections(haproxy_config(LAYOUT, "tok-1"), tmp_path)[backend]
    servers = _servers(lines)
    checked = {words[1]: words[2] for words in servers if "check" in words}
    twins = {words[1]: words[2] for words in servers if "backup" in words}
    assert len(checked) == 2 and "option allbackups" in lines
    assert twins == {f"{name}-fallback": address for name, address in checked.items()}
    assert not any("check" in words for words in servers if "backup" in words)


def test_the_container_layout_checks_and_queues_as_the_single_machine_one(tmp_path):
    ours = _sections(haproxy_config(LAYOUT, "tok-1"), tmp_path)
    theirs = haproxy_sections(HAPROXY_CFG)
    for line in ("timeout check 10s", "timeout queue 30s", "default-server inter 1s fall 2 rise 2"):
        assert line in ours["defaults"] and line in theirs["defaults"], line
    (template,) = _servers(theirs["backend rasa"])
    assert template[-2:] == ["maxconn", str(RASA_SLOTS)]
    assert not any("maxconn" in words for words in _servers(theirs["backend rasa_socketio"]))


def test_haproxy_accepts_the_config(tmp_path):
    _need_haproxy()
    path = tmp_path / "haproxy.cfg"
    path.write_text(haproxy_config(LAYOUT, "tok-1"))
    result = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- HAProxy for real ------------------------------------------------------------------------


def _need_haproxy() -> None:
    if not Path(HAPROXY).exists():
        pytest.skip(f"HAProxy not installed at {HAPROXY} (`make haproxy`)")


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """TCP health checks connect and hang up without a request: not an error here."""


class FakeProcess:
    """A stand-in for one Rasa (and app) process: answers any path with its name, and
    /status (the health check) after `status_delay_s` with `status_code`."""

    def __init__(self, name: str, *, status_delay_s: float = 0.0, status_code: int = 200):
        self.name, self.status_delay_s, self.status_code = name, status_delay_s, status_code
        self.status_requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                code = 200
                if self.path.startswith("/status"):
                    owner.status_requests += 1
                    time.sleep(owner.status_delay_s)
                    code = owner.status_code
                body = owner.name.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kill(self) -> None:
        """Gone as a killed process is: the port refuses connections from now on."""
        self.server.shutdown()
        self.server.server_close()


class Proxy:
    """HAProxy on the generated configuration plus a stats page to read servers' states."""

    def __init__(self, tmp_path: Path, processes: tuple[FakeProcess, FakeProcess]):
        ports = tuple(p.port for p in processes)
        layout = Layout("127.0.0.1", free_port(), free_port(), free_port(), ports, ports)
        self.stats_port = free_port()
        config = haproxy_config(layout, "tok-1") + (
            f"\nfrontend stats\n  bind 127.0.0.1:{self.stats_port}\n  stats enable\n"
            "  stats uri /stats\n")
        path = tmp_path / "haproxy.cfg"
        path.write_text(config)
        self.rasa_url = f"http://127.0.0.1:{layout.rasa_port}"
        self.log = open(tmp_path / "haproxy.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen([HAPROXY, "-db", "-f", str(path)], stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def servers(self, backend: str) -> dict[str, dict[str, str]]:
        """Server name -> its row of HAProxy's CSV statistics (status, chkfail, ...)."""
        text = httpx.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5).text
        rows = list(csv.DictReader(io.StringIO(text.removeprefix("# "))))
        for row in rows:  # "* " marks a check under way; the rest is the last one's result
            row["check_status"] = row["check_status"].removeprefix("* ")
        return {row["svname"]: row for row in rows
                if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")}

    def wait_until(self, condition, what: str, timeout: float = 20.0) -> float:
        """Seconds until `condition()` held (the stats page may not be up yet)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if condition():
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, "HAProxy exited"
            time.sleep(0.1)
        raise AssertionError(f"{what} did not happen within {timeout} s")

    def ask(self) -> tuple[int, str]:
        response = httpx.get(f"{self.rasa_url}/webhooks/rest/", timeout=10)
        return response.status_code, response.headers.get(SERVED_BY, "")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _checked(proxy: Proxy, server: str) -> bool:
    """Whether both Rasa backends have completed a health check of `server`."""
    return all(proxy.servers(backend)[server]["check_status"] not in ("", "INI")
               for backend in ("rasa", "rasa_socketio"))


@pytest.fixture
def running(tmp_path) -> Iterator:
    _need_haproxy()
    started: list = []

    def start(*processes: FakeProcess) -> Proxy:
        started.extend(processes)
        proxy = Proxy(tmp_path, processes)
        started.append(proxy)
        return proxy

    yield start
    for thing in reversed(started):
        if isinstance(thing, Proxy):
            thing.stop()
        elif thing.server.socket.fileno() != -1:
            thing.kill()


def test_a_process_slower_to_answer_its_check_than_the_interval_stays_in_rotation(running):
    busy = FakeProcess("busy", status_delay_s=INTER_S * 1.6)
    proxy = running(busy, FakeProcess("idle"))
    proxy.wait_until(lambda: _checked(proxy, "rasa0") and busy.status_requests >= 4,
                     "two slow checks from each backend")
    for backend in ("rasa", "rasa_socketio"):
        row = proxy.servers(backend)["rasa0"]
        assert (row["status"], row["check_status"], row["chkfail"]) == ("UP", "L7OK", "0"), (
            backend, row)
        assert int(row["check_duration"]) >= INTER_S * 1000  # slower than inter, yet passed
    assert {proxy.ask() for _ in range(4)} == {(200, "rasa0"), (200, "rasa1")}


def test_a_killed_process_is_taken_out_and_no_request_is_lost(running):
    survivor, doomed = FakeProcess("survivor"), FakeProcess("doomed")
    proxy = running(survivor, doomed)
    proxy.wait_until(lambda: _checked(proxy, "rasa1"), "a check of each server")
    assert {proxy.ask() for _ in range(2)} == {(200, "rasa0"), (200, "rasa1")}
    doomed.kill()
    killed_at = time.monotonic()
    answers = []
    while proxy.servers("rasa")["rasa1"]["status"] != "DOWN":
        answers.append(proxy.ask())  # meanwhile each request to rasa1 is retried on rasa0
        assert time.monotonic() - killed_at < 5, "the killed process is still in rotation"
        time.sleep(0.05)
    answers += [proxy.ask() for _ in range(4)]
    assert answers and set(answers) == {(200, "rasa0")}


def test_when_every_check_fails_the_proxy_still_routes_to_the_processes(running):
    # Both checks fail: one process answers its check with 503 (as an overloaded one might
    # time out) yet serves messages; the other is dead. Messages reach the live one.
    alive, dead = FakeProcess("alive", status_code=503), FakeProcess("dead")
    proxy = running(alive, dead)
    dead.kill()  # after the proxy's ports were taken: its port stays free
    proxy.wait_until(lambda: {row["status"] for name, row in proxy.servers("rasa").items()
                              if not name.endswith("-fallback")} == {"DOWN"},
                     "both servers marked down")
    assert {proxy.ask() for _ in range(6)} == {(200, "rasa0-fallback")}
