"""Open-loop load on the whole conversation stack (`supportbot run`, PostgreSQL and Redis),
one process against `--workers N`, to find how many concurrent conversations it sustains
at p95 <= 300 ms.

Pacing as in a shop's chat: every simulated customer sends a message every 5-10 s (seeded
random), on schedule, whether or not the previous reply came back (open loop: a slow
server does not slow the customers down, so queues show up in the latency). A customer
opens with "ciao", then asks knowledge-base questions (the demo FAQ's, each once until all
~2,400 are used) or makes small talk ("no grazie": NLU + a rule + a domain response, the
bare Rasa reply); after a few messages a new customer takes the seat, so conversations stay
as short as real chats.

Each step holds a number of customers for STEP_S seconds; latencies count from the moment
a message was due (a late load generator cannot hide a queue). Steps go up until p95
passes the limit, then one step between the last level that held and the first that did
not. Each step also reports the CPU each component used per message (from /proc), for
sizing. Usage: `python -m benchmarks.run --only load` with SUPPORTBOT_BENCH_DATABASE_URL (a
PostgreSQL database the benchmark may fill) and SUPPORTBOT_BENCH_REDIS_URL.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from benchmarks.conversation import BARE, _questions, _start_product, _wait_for_bot

P95_LIMIT_MS = 300.0
INTERVAL_S = (5.0, 10.0)  # between one customer's messages
MEAN_INTERVAL_S = sum(INTERVAL_S) / 2
STEP_S = 60.0
RAMP_S = 10.0  # the first seconds of a step, while customers arrive, are not counted
MESSAGES_PER_CUSTOMER = 6  # then a new customer takes the seat
KB_SHARE = 0.6  # of the messages after the greeting; the rest is small talk
TIMEOUT_S = 30.0
# Questions set aside for one seat in a step: it sends at most STEP_S / 5 + 1 messages, on
# average 60% of 5/6 of them questions (~6.5 in 60 s); one that runs out makes small talk.
QUESTIONS_PER_SEAT = 9
GREETING = "ciao"


@dataclass
class Outcome:
    kind: str  # "kb", "bare" or "greeting"
    due: float  # loop time the message was due
    latency_ms: float
    failure: str  # "" when answered


@dataclass
class Step:
    customers: int
    seed: int
    questions: list[str]
    outcomes: list[Outcome] = field(default_factory=list)


async def _send(client: httpx.AsyncClient, url: str, sender: str, text: str, kind: str,
                due: float, sink: list[Outcome]) -> None:
    loop = asyncio.get_running_loop()
    try:
        response = await client.post(url, json={"sender": sender, "message": text})
        # An empty reply is an answer too: a conversation handed to a person is silent.
        failure = "" if response.status_code == 200 else f"status {response.status_code}"
    except httpx.HTTPError as exc:
        failure = type(exc).__name__
    sink.append(Outcome(kind, due, (loop.time() - due) * 1000, failure))


async def _customer(client: httpx.AsyncClient, url: str, seat: str, rng: random.Random,
                    questions: list[str], until: float, sink: list[Outcome]) -> None:
    """One seat of the shop's chat: customers one after the other, each message on its
    schedule; replies are awaited only at the end."""
    loop = asyncio.get_running_loop()
    due = loop.time() + rng.uniform(0, INTERVAL_S[1])  # arrivals spread over the ramp
    sent, in_flight = 0, []
    while due < until:
        await asyncio.sleep(max(0.0, due - loop.time()))
        sender = f"{seat}-{sent // MESSAGES_PER_CUSTOMER}"
        if sent % MESSAGES_PER_CUSTOMER == 0:
            kind, text = "greeting", GREETING
        elif rng.random() < KB_SHARE and questions:
            kind, text = "kb", questions.pop()
        else:
            kind, text = "bare", BARE
        in_flight.append(asyncio.create_task(_send(client, url, sender, text, kind, due, sink)))
        sent += 1
        due += rng.uniform(*INTERVAL_S)
    await asyncio.gather(*in_flight)


async def _run_step(url: str, step: Step, tag: str) -> float:
    """Returns the loop time the step started, to which `Outcome.due` is relative."""
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=step.customers * 2, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=TIMEOUT_S, limits=limits) as client:
        started = loop.time()
        until = started + STEP_S
        tag = f"{tag}-{time.time_ns():x}"  # new conversations, also against a used database
        share = len(step.questions) // step.customers
        await asyncio.gather(*(
            _customer(client, url, f"{tag}-{step.customers}-{i}", random.Random(step.seed + i),
                      step.questions[i * share:(i + 1) * share], until, step.outcomes)
            for i in range(step.customers)))
    return started


# CPU per message by component, read from /proc: the product's own processes (Rasa, app,
# HAProxy) and the machine's PostgreSQL and Redis servers (with whatever else uses them).
PRODUCT = (("rasa", "boundary.launch"), ("haproxy", "haproxy"), ("app", ""))
SERVERS = (("postgresql", "postgres"), ("redis", "redis-server"))


def _processes() -> list[tuple[int, int, str, float]]:
    """(pid, parent pid, command line, CPU seconds) of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        found.append((int(proc.name), int(fields[1]), command,
                      (int(fields[11]) + int(fields[12])) / tick))
    return found


def cpu_seconds(product_pid: int) -> dict[str, float]:
    """CPU seconds used so far by each component."""
    processes = _processes()
    tree, grew = {product_pid}, True
    while grew:
        grew = False
        for pid, parent, _, _ in processes:
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    used = dict.fromkeys([name for name, _ in PRODUCT + SERVERS], 0.0)
    for pid, _, command, seconds in processes:
        kinds = PRODUCT if pid in tree else SERVERS
        name = next((n for n, marker in kinds if marker in command), None)
        if name is not None:
            used[name] += seconds
    times = os.times()
    used["load generator"] = times.user + times.system  # this process, on the same cores
    return used


def cpu_ms_per_message(before: dict[str, float], after: dict[str, float], messages: int
                       ) -> dict[str, float]:
    return {name: round((after[name] - before[name]) * 1000 / max(messages, 1), 1)
            for name in before}


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "n": 0}
    return {"p50_ms": round(float(np.median(values)), 1),
            "p95_ms": round(float(np.percentile(values, 95)), 1), "n": len(values)}


def summarise(step: Step, started: float) -> dict:
    """Messages due after the ramp: offered and served rates, latencies by kind (a failed
    or timed-out message counts as served never, and as TIMEOUT_S in the percentiles)."""
    window = STEP_S - RAMP_S
    counted = [o for o in step.outcomes if o.due - started >= RAMP_S]
    latency = [(o.kind, TIMEOUT_S * 1000 if o.failure else o.latency_ms) for o in counted]
    failures = Counter(o.failure for o in counted if o.failure)
    by_kind = {kind: _percentiles([ms for k, ms in latency if k == kind])
               for kind in ("kb", "bare", "greeting")}
    every = _percentiles([ms for _, ms in latency])
    kb, bare = by_kind["kb"]["p50_ms"], by_kind["bare"]["p50_ms"]
    return {"customers": step.customers,
            "offered_per_s": round(len(counted) / window, 1),
            "served_per_s": round((len(counted) - failures.total()) / window, 1),
            "failed": dict(failures),
            "all": every, "kb_question": by_kind["kb"], "bare_rasa": by_kind["bare"],
            "greeting": by_kind["greeting"],
            "action_adds_p50_ms": round(kb - bare, 1) if kb is not None and bare else None,
            "holds": every["p95_ms"] is not None and every["p95_ms"] <= P95_LIMIT_MS
            and not failures}


def customers_for(rate_per_s: float) -> int:
    return max(1, round(rate_per_s * MEAN_INTERVAL_S))


def next_rate(results: list[dict], rates: list[float], increment: float) -> float | None:
    """Up by `increment` while p95 holds; after the first level that fails, one level
    halfway between it and the one before (which held; half of it when the first level
    failed); then stop."""
    if results[-1]["holds"]:
        return None if any(not r["holds"] for r in results) else rates[-1] + increment
    if sum(not r["holds"] for r in results) > 1:
        return None
    return (rates[-1] + rates[-2]) / 2 if len(rates) > 1 else rates[-1] / 2


def run_layout(url: str, pool: list[str], *, product_pid: int, tag: str, start_rate: float,
               increment: float, max_steps: int) -> list[dict]:
    """The steps on one running product; questions are never reused across steps."""
    rates: list[float] = []
    results: list[dict] = []
    rate: float | None = start_rate
    while rate is not None and len(results) < max_steps:
        customers = customers_for(rate)
        per_step = customers * QUESTIONS_PER_SEAT
        if len(pool) < per_step:
            # The demo FAQ has ~2,400 questions: a long run asks them again (an embedding
            # cache hit in the app for a repeat) rather than stopping.
            pool = pool + _questions()
        step = Step(customers, seed=len(results) * 10_000, questions=pool[:per_step])
        pool = pool[per_step:]
        cpu_before = cpu_seconds(product_pid)
        started = asyncio.run(_run_step(url, step, tag))
        results.append(summarise(step, started))
        results[-1]["cpu_ms_per_message"] = cpu_ms_per_message(
            cpu_before, cpu_seconds(product_pid), len(step.outcomes))
        rates.append(rate)
        print(f"  {tag}: {results[-1]}", flush=True)
        rate = next_rate(results, rates, increment)
    return results


def _warm_up(url: str, conversations: int = 8) -> None:
    """A few whole conversations one after the other, so the first step does not time the
    processes' first calls (model graphs, connection pools, the proxy's health checks)."""
    for n in range(conversations):
        sender = f"warm-up-{time.time_ns():x}-{n}"
        for text in (GREETING, "quanto costa la spedizione?", BARE):
            httpx.post(url, json={"sender": sender, "message": text}, timeout=TIMEOUT_S)


def _stores_env() -> dict[str, str]:
    database = os.environ.get("SUPPORTBOT_BENCH_DATABASE_URL", "")
    redis = os.environ.get("SUPPORTBOT_BENCH_REDIS_URL", "")
    if not database.startswith("postgresql") or not redis:
        raise SystemExit("the load benchmark needs SUPPORTBOT_BENCH_DATABASE_URL (PostgreSQL, a "
                         "database it may fill) and SUPPORTBOT_BENCH_REDIS_URL")
    return {"SUPPORTBOT_DATABASE_URL": database, "SUPPORTBOT_REDIS_URL": redis}


def run(layouts: tuple[int, ...] = (1, 2), start_rate: float = 20.0, increment: float = 10.0,
        max_steps: int = 8) -> dict:
    """layouts: numbers of Rasa + app processes; rates in messages/s offered."""
    from bot.stack import free_port

    env = _stores_env()
    pool = _questions()
    results = {}
    for workers in layouts:
        with tempfile.TemporaryDirectory() as tmp:
            port, rasa_port = free_port(), free_port()
            process = _start_product(Path(tmp), port, rasa_port, None, env=env,
                                     workers=workers)
            try:
                url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
                _wait_for_bot(url, process)
                _warm_up(url)
                steps = run_layout(url, pool, product_pid=process.pid, tag=f"w{workers}",
                                   start_rate=start_rate, increment=increment,
                                   max_steps=max_steps)
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=90)
        held = [s for s in steps if s["holds"]]
        best = max(held, key=lambda s: s["customers"]) if held else None
        results[f"workers_{workers}"] = {
            "workers": workers, "steps": steps,
            "sustained": None if best is None else {
                "customers": best["customers"], "served_per_s": best["served_per_s"],
                "p95_ms": best["all"]["p95_ms"]}}
    return {"p95_limit_ms": P95_LIMIT_MS, "step_s": STEP_S, "ramp_s": RAMP_S,
            "interval_s": list(INTERVAL_S), "kb_share": KB_SHARE,
            "messages_per_customer": MESSAGES_PER_CUSTOMER, "layouts": results}
