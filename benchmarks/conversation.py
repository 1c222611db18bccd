"""Message round trips through the whole conversation stack: widget-equivalent HTTP
client -> Rasa 3.6 REST channel -> NLU + rules -> custom action on the app's action
endpoint -> knowledge-base search -> reply. Side by side, in the same run and the same
conversations, a bare Rasa reply ("no grazie": NLU + a rule + a domain response, no
custom action), so the difference is what the action and the KB add.

Each concurrency level runs its conversations at once; every conversation alternates a
knowledge-base question (the demo FAQ's questions, each sent once per level, embedding
cache cleared between levels) with a bare message.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "data" / "demo_kb.yaml"
BARE = "no grazie"


def _questions() -> list[str]:
    entries = yaml.safe_load(DEMO_KB.read_text(encoding="utf-8"))["entries"]
    questions = [q for e in entries for q in e["questions"]]
    random.Random(7).shuffle(questions)
    return questions


async def _conversation(client: httpx.AsyncClient, url: str, sender: str, questions: list[str],
                        kb_ms: list[float], bare_ms: list[float]) -> None:
    for question in questions:
        for text, sink in ((question, kb_ms), (BARE, bare_ms)):
            started = time.perf_counter()
            response = await client.post(url, json={"sender": sender, "message": text})
            response.raise_for_status()
            sink.append((time.perf_counter() - started) * 1000)


async def _level(url: str, concurrency: int, rounds: int, pool: list[str], tag: str) -> dict:
    kb_ms: list[float] = []
    bare_ms: list[float] = []
    limits = httpx.Limits(max_connections=concurrency + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        # Open each conversation first, so session start is not in the figures.
        await asyncio.gather(*(client.post(url, json={"sender": f"{tag}-{i}", "message": "ciao"})
                               for i in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(
            _conversation(client, url, f"{tag}-{i}", pool[i * rounds:(i + 1) * rounds], kb_ms, bare_ms)
            for i in range(concurrency)))
        elapsed = time.perf_counter() - started

    def stats(values: list[float]) -> dict:
        return {"p50_ms": round(float(np.median(values)), 1),
                "p95_ms": round(float(np.percentile(values, 95)), 1), "n": len(values)}

    kb, bare = stats(kb_ms), stats(bare_ms)
    return {"concurrency": concurrency, "kb_question": kb, "bare_rasa": bare,
            "action_adds_p50_ms": round(kb["p50_ms"] - bare["p50_ms"], 1),
            "messages_per_s": round((len(kb_ms) + len(bare_ms)) / elapsed, 1)}


def run(embedder: str | None = None, levels: tuple[tuple[int, int], ...] = ((1, 40), (10, 8), (50, 4))
        ) -> dict:
    """levels: (concurrent conversations, KB questions per conversation)."""
    from bot.rasa_runtime import ensure_model
    from bot.stack import start_stack
    from core import Settings

    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        settings = Settings(var_dir=var, chat_rate_limit="100000/minute",
                            rasa_model_dir=ROOT / "benchmarks" / "cache" / "rasa-models",
                            **({"embedder": embedder} if embedder else {}))
        stack = start_stack(settings, model=ensure_model(settings), demo_kb=DEMO_KB)
        try:
            url = f"{stack.rasa_url}/webhooks/rest/webhook"
            pool = _questions()
            results = []
            for concurrency, rounds in levels:
                cache = getattr(stack.assistant.kb.embedder, "_cache", None)
                if cache is not None:
                    cache.clear()
                results.append(asyncio.run(_level(url, concurrency, rounds, pool, f"c{concurrency}")))
            return {"embedder": stack.settings.resolved_embedder, "levels": results}
        finally:
            stack.stop()
