"""A product answer against a KB answer, side by side: whole `Assistant.answer` turns (rate
limit, language, the product path, the KB search where it runs, the analytics log) on
the demo shop's FAQ and catalogue, as `supportbot run` prepares them, interleaved.

- kb_answer: an FAQ question on a product page (the product path looks and steps aside,
  then the KB embeds and searches); the embedding cache is cleared before each, so every
  KB answer embeds for real.
- product_answer: a product attribute question answered from the catalogue.
- product_path_on_kb_question: what the product path alone costs an FAQ question (the
  version query and the understanding): what every KB answer pays for the feature.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "data" / "demo_kb.yaml"
PRODUCT_QUESTIONS = [
    ("la borsa entra un portatile da 15 pollici?", "product:borsa-aurora"),
    ("avete la sciarpa in blu notte?", "product:sciarpa-merino"),
    ("quando torna disponibile il cappotto aurora color cammello?",
     "product:cappotto-aurora-cammello"),
    ("is the aurora bag big enough for a 15 inch laptop?", "product:borsa-aurora"),
    ("di che materiale è la borsa aurora?", "product:borsa-aurora"),
    ("quanto costa la sciarpa in cashmere?", "product:sciarpa-cashmere"),
    ("come si lava la sciarpa?", "product:sciarpa-merino"),
    ("che taglie avete degli stivali?", "product:stivali"),
]


def _faq_questions() -> list[str]:
    entries = yaml.safe_load(DEMO_KB.read_text(encoding="utf-8"))["entries"]
    return [e["questions"][0] for e in entries]


def run(embedder: str = "auto", rounds: int = 200) -> dict:
    from bot.conversation.turns import Turn
    from bot.product import prepare
    from core import Settings, dispose_all

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), embedder=embedder, index_sync_interval_s=0,
                            chat_rate_limit="100000/minute")
        assistant = prepare(settings, DEMO_KB)
        cache = getattr(assistant.kb.embedder, "_cache", None)
        faq = _faq_questions()
        kb_ms, product_ms, path_ms, kinds = [], [], [], {"kb": {}, "product": {}}
        for n in range(rounds):
            question = faq[n % len(faq)]
            text, page = PRODUCT_QUESTIONS[n % len(PRODUCT_QUESTIONS)]
            for sink, tag, turn in (
                    (kb_ms, "kb", Turn(f"kb-{n}", question, page="product:borsa-aurora")),
                    (product_ms, "product", Turn(f"product-{n}", text, page=page))):
                if cache is not None:
                    cache.clear()
                started = time.perf_counter()
                reply = assistant.answer(turn)
                sink.append((time.perf_counter() - started) * 1000)
                kinds[tag][reply.kind] = kinds[tag].get(reply.kind, 0) + 1
            started = time.perf_counter()
            assistant.desk.consult(question, "it", "product:borsa-aurora", assistant.today())
            path_ms.append((time.perf_counter() - started) * 1000)
        assistant.kb.close()
        dispose_all()
    kb50, p50 = float(np.median(kb_ms)), float(np.median(product_ms))
    return {"embedder": settings.resolved_embedder, "rounds": rounds,
            "kb_answer_p50_ms": round(kb50, 2),
            "kb_answer_p95_ms": round(float(np.percentile(kb_ms, 95)), 2),
            "product_answer_p50_ms": round(p50, 2),
            "product_answer_p95_ms": round(float(np.percentile(product_ms, 95)), 2),
            "product_minus_kb_p50_ms": round(p50 - kb50, 2),
            "product_path_on_kb_question_p50_ms": round(float(np.median(path_ms)), 2),
            "product_path_on_kb_question_p95_ms": round(float(np.percentile(path_ms, 95)), 2),
            "reply_kinds": kinds}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(*(sys.argv[1:2] or ["auto"])), indent=2))
