"""Message round trips through the whole conversation stack: widget-equivalent HTTP
client -> Rasa 3.6 REST channel -> NLU + rules -> custom action on the app's action
endpoint -> knowledge-base search -> reply. Side by side, in the same run and the same
conversations, a bare Rasa reply ("no grazie": NLU + a rule + a domain response, no
custom action), so the difference is what the action and the KB add.

Each concurrency level runs its conversations at once; every conversation alternates a
knowledge-base question (the demo FAQ's questions, never repeated in a run, so no
embedding-cache hits) with a bare message; after 4 questions a new customer (a new
conversation, opened with "ciao", not timed) takes over. The product runs as `supportbot run`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "data" / "demo_kb.yaml"
BARE = "no grazie"
TURNS = 4  # questions per conversation before the next customer starts


def _questions() -> list[str]:
    entries = yaml.safe_load(DEMO_KB.read_text(encoding="utf-8"))["entries"]
    questions = [q for e in entries for q in e["questions"]]
    random.Random(7).shuffle(questions)
    return questions


async def _conversation(client: httpx.AsyncClient, url: str, sender: str, questions: list[str],
                        kb_ms: list[float], bare_ms: list[float]) -> None:
    for turn, question in enumerate(questions):
        if turn % TURNS == 0:  # a new customer: real chats are short, trackers stay small
            conversation = f"{sender}-{turn // TURNS}"
            await client.post(url, json={"sender": conversation, "message": "ciao"})
        for text, sink in ((question, kb_ms), (BARE, bare_ms)):
            started = time.perf_counter()
            response = await client.post(url, json={"sender": conversation, "message": text})
            response.raise_for_status()
            sink.append((time.perf_counter() - started) * 1000)


async def _level(url: str, concurrency: int, rounds: int, pool: list[str], tag: str) -> dict:
    kb_ms: list[float] = []
    bare_ms: list[float] = []
    limits = httpx.Limits(max_connections=concurrency + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(
            _conversation(client, url, f"{tag}-{i}", pool[i * rounds:(i + 1) * rounds], kb_ms,
                          bare_ms)
            for i in range(concurrency)))
        elapsed = time.perf_counter() - started

    def stats(values: list[float]) -> dict:
        return {"p50_ms": round(float(np.median(values)), 1),
                "p95_ms": round(float(np.percentile(values, 95)), 1), "n": len(values)}

    kb, bare = stats(kb_ms), stats(bare_ms)
    return {"concurrency": concurrency, "kb_question": kb, "bare_rasa": bare,
            "action_adds_p50_ms": round(kb["p50_ms"] - bare["p50_ms"], 1),
            "messages_per_s": round((len(kb_ms) + len(bare_ms)) / elapsed, 1)}


def _start_product(var: Path, port: int, rasa_port: int, embedder: str | None, *,
                   env: dict[str, str] | None = None, workers: int = 1) -> subprocess.Popen:
    """`supportbot run` in its own process, as in production: the load generator here
    does not share a GIL with the app. On SQLite unless `env` names other stores; its
    mail ports are free ones, so that it starts beside another product."""
    from bot.stack import free_port

    env = {**os.environ, "SUPPORTBOT_VAR_DIR": str(var), "SUPPORTBOT_DATABASE_URL": "",
           "SUPPORTBOT_SMTP_PORT": str(free_port()),
           "SUPPORTBOT_INBOUND_SMTP_PORT": str(free_port()),
           "SUPPORTBOT_CHAT_RATE_LIMIT": "100000/minute",
           "SUPPORTBOT_RASA_MODEL_DIR": str(ROOT / "benchmarks" / "cache" / "rasa-models"),
           **(env or {})}
    if embedder:
        env["SUPPORTBOT_EMBEDDER"] = embedder
    return subprocess.Popen([sys.executable, "-m", "bot.commands.main", "run", "--port", str(port),
                             "--rasa-port", str(rasa_port), "--workers", str(workers)],
                            cwd=ROOT, env=env, stdout=open(var / "run.log", "wb"),
                            stderr=subprocess.STDOUT)


def _wait_for_bot(url: str, process: subprocess.Popen, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"supportbot run exited with {process.returncode}")
        try:
            if httpx.post(url, json={"sender": "warm-up", "message": "ciao"}, timeout=5).json():
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    raise RuntimeError("the bot did not answer in time")


def run(embedder: str | None = None,
        levels: tuple[tuple[int, int], ...] = ((1, 40), (10, 8), (50, 4))
        ) -> dict:
    """levels: (concurrent conversations, KB questions per conversation). Each level uses
    fresh conversations and questions not asked before in the run (no embedding-cache hits)."""
    from bot.stack import free_port

    with tempfile.TemporaryDirectory() as tmp:
        port, rasa_port = free_port(), free_port()
        process = _start_product(Path(tmp), port, rasa_port, embedder)
        try:
            url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
            _wait_for_bot(url, process)
            pool = _questions()
            results, used = [], 0
            for concurrency, rounds in levels:
                questions = pool[used:used + concurrency * rounds]
                used += concurrency * rounds
                results.append(asyncio.run(_level(url, concurrency, rounds, questions,
                                                  f"c{concurrency}")))
            return {"embedder": embedder or "default", "levels": results}
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
