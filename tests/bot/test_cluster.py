"""`supportbot run --workers N`: the checks that refuse a layout which cannot work, the
HAProxy configuration, and the scale test: PostgreSQL, Redis, 2 Rasa + 2 app processes
behind HAProxy. Consecutive messages land on different Rasa processes, an escalation opens
one ticket, its SLA timers fire once and its mail is delivered once (with a second set of
the jobs' loops racing for them, `cluster_checks`), the operator's emailed answer is
answered by both app processes within a second of being learned, and one Rasa process is
killed along the way."""

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
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bot.cluster import check_cluster
from bot.cluster_proxy import SERVED_BY, ClusterError, Layout, haproxy_config
from bot.conversation.boundary import action_endpoint_token
from bot.conversation.rasa_stores import StoreError, check_redis
from bot.stack import free_port
from core import Settings, session_scope
from escalation import Ticket
from tests.bot.cluster_checks import (
    PROMISE_S,
    SLA_EVENTS,
    SLA_MAIL,
    Cluster,
    JobsReplica,
    answered_everywhere,
    assert_each_mail_sent_once,
    outbox_kinds,
    sla_events,
    timers_fired_by,
    wait_for_sla_chain,
    write_sla_policies,
)
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


def test_a_replica_sees_a_change_committed_after_a_later_one(tmp_path, throwaway_postgres):
    # Two processes change the KB at once: an import of two entries (or any transaction that
    # writes on after its change) on one, a learned answer on another. PostgreSQL hands out
    # kb_changes.seq when the row is flushed, but the rows become visible at the commit: the
    # learned answer's later seq commits first. A replica that syncs in between reaches the
    # later version; the import's first entry, committed a moment after, must still reach
    # its index.
    from knowledge import repository as repo
    from knowledge.embedders import HashingEmbedder
    from knowledge.service import KnowledgeBase
    from migrations import upgrade

    def add(question: str, answer: str, session=None) -> None:
        if session is None:  # a transaction of its own
            with session_scope(throwaway_postgres) as own:
                return add(question, answer, own)
        repo.create_entry(repo.EntryDraft(answer=answer, questions=(question,), language="it"),
                          session=session)

    upgrade(throwaway_postgres)
    settings = Settings(_env_file=None, var_dir=tmp_path, database_url=throwaway_postgres,
                        embedder="hashing", index_sync_interval_s=0)
    imported = [("Spedite anche in Islanda?", "Sì, in Islanda spediamo in 6 giorni."),
                ("Fate confezioni regalo?", "Sì, la confezione regalo costa 3 euro.")]
    learned = ("Accettate pagamenti in bitcoin?", "No, non accettiamo criptovalute.")
    with session_scope(throwaway_postgres) as session:
        add("Il reso è gratuito?", "Il reso è gratuito entro 30 giorni.", session)
    replica = KnowledgeBase(settings, HashingEmbedder())
    replica.warm_up()
    try:
        learning = threading.Thread(target=lambda: add(*learned))
        with session_scope(throwaway_postgres) as importing:
            for question, answer in imported:  # the second flushes the first's change
                add(question, answer, importing)
            learning.start()
            learning.join(timeout=2)  # committed at once, unless KB writers take turns
            replica.sync(force=True)  # sees the learned answer's change only
        learning.join(timeout=30)
        assert not learning.is_alive()
        for question, answer in [learned, *imported]:
            decision = replica.search(question, language="it")
            assert decision.kind == "answer", (question, decision.kind)
            assert decision.candidates[0].answer == answer
    finally:
        replica.close()


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


def _cluster_env(var: Path, database_url: str, rasa_model: Path) -> dict[str, str]:
    """PostgreSQL, Redis, free ports, SLA deadlines of seconds (a scheduler round every
    0.5 s). The index sync interval is the default (0.2 s), not 0: with 0 every search reads
    the database, which would hide how a replica that searched a moment ago learns of a
    change made by another one."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")},
            "SUPPORTBOT_VAR_DIR": str(var), "SUPPORTBOT_DATABASE_URL": database_url,
            "SUPPORTBOT_REDIS_URL": REDIS_URL, "SUPPORTBOT_EMBEDDER": "hashing",
            "SUPPORTBOT_RASA_MODEL_DIR": str(rasa_model.parent),
            "SUPPORTBOT_PORT": str(free_port()), "SUPPORTBOT_RASA_PORT": str(free_port()),
            "SUPPORTBOT_SMTP_PORT": str(free_port()),
            "SUPPORTBOT_INBOUND_SMTP_PORT": str(free_port()),
            "SUPPORTBOT_SECRET_KEY": uuid.uuid4().hex,
            "SUPPORTBOT_SLA_POLICIES_FILE": str(write_sla_policies(var / "sla.yaml")),
            "SUPPORTBOT_SCHEDULER_INTERVAL_S": "0.5"}


def _settings_of(env: dict[str, str]) -> Settings:
    """The cluster's settings as this process uses them (checks, the jobs replica)."""
    return Settings(_env_file=None, var_dir=Path(env["SUPPORTBOT_VAR_DIR"]),
                    database_url=env["SUPPORTBOT_DATABASE_URL"],
                    port=int(env["SUPPORTBOT_PORT"]),
                    rasa_port=int(env["SUPPORTBOT_RASA_PORT"]),
                    smtp_port=int(env["SUPPORTBOT_SMTP_PORT"]),
                    inbound_smtp_port=int(env["SUPPORTBOT_INBOUND_SMTP_PORT"]),
                    secret_key=env["SUPPORTBOT_SECRET_KEY"],
                    sla_policies_file=Path(env["SUPPORTBOT_SLA_POLICIES_FILE"]),
                    scheduler_interval_s=float(env["SUPPORTBOT_SCHEDULER_INTERVAL_S"]))


QUESTION = "Posso portare il mio cane in negozio?"
ANSWER = "Sì, i cani al guinzaglio sono i benvenuti in tutti i nostri negozi."


def _escalate_across_rasa_processes(cluster: Cluster, url: str) -> int:
    """An escalation whose four messages alternate between the two Rasa processes opens one
    ticket; returns its id."""
    sender = f"scale-{uuid.uuid4().hex[:8]}"
    script = [(QUESTION, r"richiesta n\. \d+"),
              ("/affirm", "Qual è il tuo indirizzo email?"),
              ("mario at example", "non sembra valido"),
              ("mario.rossi@example.com", "per email all'indirizzo che ci hai dato")]
    served = []
    for text, expected in script:
        reply, by = _say(cluster.rasa, sender, text)
        assert re.search(expected, " ".join(m.get("text", "") for m in reply)), (text, reply)
        served.append(by)
    assert all(a != b for a, b in zip(served, served[1:], strict=False)), served
    assert set(served) == {"rasa0", "rasa1"}
    with session_scope(url) as session:
        tickets = session.query(Ticket).filter_by(conversation_id=sender).all()
        assert [t.customer_email for t in tickets] == ["mario.rossi@example.com"]
        return tickets[0].id


def _ask_through_the_proxy(cluster: Cluster, token: str) -> list[list[dict]]:
    """The learned question in four new conversations, through HAProxy. Rasa's calls to the
    action endpoint go round robin over the two app processes; one extra call to the action
    frontend between the second and the third question shifts the round by one. Whatever
    the number k of action calls a question makes, the answers of questions 1 and 2 (k calls
    apart) or of 2 and 3 (k + 1 apart) then come from different app processes."""
    replies = []
    for i in range(4):
        if i == 2:
            shift = httpx.get(f"{cluster.actions}/webhook/actions", timeout=30,
                              headers={"Authorization": f"Bearer {token}"})
            assert shift.status_code == 200, shift.text
        replies.append(_say(cluster.rasa, f"learned-{uuid.uuid4().hex[:8]}", QUESTION)[0])
    return replies


def _learned_answer_everywhere(settings: Settings, cluster: Cluster, ticket_id: int) -> None:
    """The operator answers the escalation mail; each app process answers the question with
    the learned entry within PROMISE_S of the change being recorded, and so does the chat."""
    started = time.monotonic()
    entry_id, answer, latencies = answered_everywhere(settings, cluster.apps, ticket_id,
                                                      QUESTION, ANSWER)
    print(f"\nentry {entry_id} learned; first answered after: " +
          ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in latencies.items()) +
          f" (mail to learned and answered: {time.monotonic() - started:.1f} s)")
    assert set(latencies) == {"app0", "app1"}
    assert all(seconds <= PROMISE_S for seconds in latencies.values()), latencies
    for reply in _ask_through_the_proxy(cluster, action_endpoint_token(settings)):
        assert any(m.get("text") == answer for m in reply), (answer, reply)


def _kill_one_rasa(cluster: Cluster, sender: str) -> None:
    """One Rasa process killed: the next messages are answered by the other one."""
    os.kill(_rasa_pid(cluster.rasa0_port), signal.SIGKILL)
    for _ in range(4):
        reply, by = _say(cluster.rasa, sender, "ciao")
        assert reply and "problema tecnico" not in reply[0]["text"] and by == "rasa1"


def _each_timer_and_mail_once(settings: Settings, ticket_id: int) -> None:
    """Every SLA event of the ticket recorded once, though two schedulers raced for its
    timers; every outbox row sent, and received by the sink exactly once."""
    url = settings.resolved_database_url
    kinds = assert_each_mail_sent_once(settings, timeout=90)
    assert sla_events(url, ticket_id) == SLA_EVENTS
    ticket_mail = outbox_kinds(url, ticket_id)
    assert ticket_mail["answer"] <= 1  # the answer went into the live chat, or by mail
    assert ticket_mail - Counter(answer=ticket_mail["answer"]) == SLA_MAIL, ticket_mail
    print(f"outbox: {dict(kinds)}, each received once; ticket {ticket_id}'s timers fired by "
          f"{dict(timers_fired_by(url, ticket_id))}")


@pytest.mark.slow
@pytest.mark.rasa
def test_two_rasa_and_two_app_processes_behind_haproxy(tmp_path, rasa_model,
                                                       throwaway_postgres):
    """2 Rasa + 2 app processes behind HAProxy, on PostgreSQL and Redis, with a second set of
    the jobs' loops (SLA scheduler, outbox sender) racing process 0's from this process."""
    _skip_without_components()
    env = _cluster_env(tmp_path, throwaway_postgres, rasa_model)
    settings = _settings_of(env)
    started = time.monotonic()
    bot = Running(env)
    try:
        bot.wait_for("Ctrl-C stops everything", timeout=240)
        startup = time.monotonic() - started
        assert startup < 180, f"startup took {startup:.0f} s"
        print(f"\ncluster started in {startup:.0f} s")
        cluster = Cluster.of(settings)
        with JobsReplica(settings):
            ticket_id = _escalate_across_rasa_processes(cluster, throwaway_postgres)
            assert httpx.get(f"{cluster.app}/").status_code == 200  # the shop, through HAProxy
            assert httpx.post(f"{cluster.app}/webhook", json={}).status_code == 404  # Rasa's only
            wait_for_sla_chain(throwaway_postgres, ticket_id, timeout=120)
            _learned_answer_everywhere(settings, cluster, ticket_id)
            _kill_one_rasa(cluster, f"scale-{uuid.uuid4().hex[:8]}-after")
            _each_timer_and_mail_once(settings, ticket_id)
    finally:
        code = bot.stop()
    assert code in (0, -signal.SIGINT, 130), "".join(bot.output[-40:])
