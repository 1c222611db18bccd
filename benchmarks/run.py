"""Benchmarks of the knowledge base. `make bench` (or `python -m benchmarks.run --only NAME`)
runs them and writes BENCHMARKS.md. Medians and ratios come from one run, side by side.

  retrieval  CLINC150 (train as KB, val as queries), xSID it/en, BANKING77 5-fold, per embedder
  latency    search (embed + FAISS + BM25 + confidence model + load entry) vs bare query
             embedding, 10k entries of two questions each; a product answer vs a KB answer
             (whole turns on the demo FAQ and catalogue, benchmarks/product_latency.py)
  scale      1M synthetic vectors: IVF build time, memory, p95 search, recall@1 vs exact
  nlu        Rasa NLU intent macro-F1 per language on the held-out sets
  conversation  round trips through Rasa + action + KB at 1/10/50 concurrent conversations,
             side by side with a bare Rasa reply
  load       open-loop load (customers writing every 5-10 s) on PostgreSQL + Redis, one process
             vs --workers 2: concurrent conversations and messages/s at p95 <= 300 ms; needs
             SUPPORTBOT_BENCH_DATABASE_URL and SUPPORTBOT_BENCH_REDIS_URL, so not in the default set
  escalation reply-arrival-to-answerable latency, SLA timer lateness, inbound mail throughput
  analytics  purchase-stage classifier on its held-out set; topic clustering time (10k, 100k)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def _eval(kb: Path, queries: Path, embedder: str, hybrid: bool) -> dict:
    from knowledge.evaluation import evaluate

    started = time.perf_counter()
    report = evaluate(kb, queries, embedder=embedder, hybrid=hybrid).as_dict()
    report["seconds"] = round(time.perf_counter() - started)
    return report


def _split(path: Path, folds: int, fold: int, work: Path, seed: int = 0) -> tuple[Path, Path]:
    rows = path.read_text(encoding="utf-8").splitlines()
    random.Random(seed).shuffle(rows)
    train = [r for i, r in enumerate(rows) if i % folds != fold]
    test = [r for i, r in enumerate(rows) if i % folds == fold]
    (work / "train.jsonl").write_text("\n".join(train), encoding="utf-8")
    (work / "test.jsonl").write_text("\n".join(test), encoding="utf-8")
    return work / "train.jsonl", work / "test.jsonl"


def bench_retrieval(embedders: list[str], quick: bool, datasets: list[str]) -> dict:
    results = {}
    clinc = DATASETS / "clinc150"
    for embedder in embedders:
        if "clinc150" in datasets:
            results[f"clinc150 val / {embedder}"] = _eval(clinc / "train.jsonl",
                                                          clinc / "val.jsonl",
                                                          embedder, True)
        if not quick and "clinc150" in datasets:
            results[f"clinc150 val / {embedder} / dense only"] = _eval(
                clinc / "train.jsonl", clinc / "val.jsonl", embedder, False)
        with tempfile.TemporaryDirectory() as tmp:
            for lang in ("it", "en") if "xsid" in datasets else ():
                folds = [_eval(*_split(DATASETS / "xsid" / f"{lang}.valid.jsonl", 5, f, Path(tmp)),
                               embedder, True) for f in range(5)]
                results[f"xsid {lang} 5-fold / {embedder}"] = _mean(folds)
            if "xsid" in datasets:
                results[f"xsid en KB, it queries / {embedder}"] = _eval(
                    DATASETS / "xsid" / "en.valid.jsonl", DATASETS / "xsid" / "it.valid.jsonl",
                    embedder, True)
            if not quick and "banking77" in datasets:
                folds = [_eval(*_split(DATASETS / "banking77" / "train.jsonl", 5, f, Path(tmp)),
                               embedder, True) for f in range(5)]
                results[f"banking77 5-fold / {embedder}"] = _mean(folds)
    return results


def _mean(reports: list[dict]) -> dict:
    keys = ["in_scope_accuracy", "oos_recall", "wrong_answer_rate", "clarify_rate", "mcc",
            "latency_ms_p50", "latency_ms_p95", "seconds"]
    return {k: round(float(np.mean([r[k] for r in reports])), 4) for k in keys}


def bench_latency(embedder: str, entries: int = 10_000, queries: int = 300) -> dict:
    """Full search path against a bare embedding of the same query, interleaved."""
    from core import Settings, dispose_all
    from knowledge.evaluation import build_kb
    from knowledge.service import KnowledgeBase
    from migrations import upgrade

    texts = [json.loads(line)["text"] for line in (DATASETS / "clinc150" / "train.jsonl")
             .read_text().splitlines()]
    rng = random.Random(1)
    # Two ways of asking each entry, so that the confidence model is trained and decides, as
    # in production (entries of one question each would leave the default thresholds).
    rows = [(f"{rng.choice(texts)} (item {i})", f"entry-{i}") for i in range(entries)]
    rows += [(f"{rng.choice(texts)} (item {i}, again)", f"entry-{i}") for i in range(entries)]
    probes = [f"{rng.choice(texts)}?" for _ in range(queries)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), embedder=embedder)
        upgrade(settings.resolved_database_url)
        build_kb(rows, settings.resolved_database_url, "en")
        kb = KnowledgeBase(settings)
        kb.warm_up()
        started = time.perf_counter()
        kb.calibrate()
        calibrate_s = time.perf_counter() - started
        bare = kb.embedder.inner if hasattr(kb.embedder, "inner") else kb.embedder
        embed_ms, search_ms = [], []
        for probe in probes:
            t0 = time.perf_counter()
            bare.embed_batch([probe])
            t1 = time.perf_counter()
            if hasattr(kb.embedder, "_cache"):  # time a real embedding, not a cache hit
                kb.embedder._cache.clear()
            kb.search(probe)
            t2 = time.perf_counter()
            embed_ms.append((t1 - t0) * 1000)
            search_ms.append((t2 - t1) * 1000)
        dispose_all()
    e50, s50 = float(np.median(embed_ms)), float(np.median(search_ms))
    return {"entries": entries, "queries": queries, "embedder": embedder,
            "calibrate_s": round(calibrate_s, 1),
            "embed_p50_ms": round(e50, 2), "search_p50_ms": round(s50, 2),
            "search_p95_ms": round(float(np.percentile(search_ms, 95)), 2),
            "search_over_embed_p50": round(s50 / e50, 3)}


def bench_scale(n: int = 1_000_000, dim: int = 384, queries: int = 1000) -> dict:
    """Clustered synthetic unit vectors (as real questions cluster by topic); queries are
    stored vectors plus noise. Recall@1 is against exact search on the same data."""
    import faiss

    from knowledge.vector_index import VectorIndex

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2000, dim)).astype(np.float32)
    data = centres[rng.integers(0, len(centres),
                                n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    picks = rng.integers(0, n, queries)
    q = data[picks] + 0.3 * rng.standard_normal((queries,
                                                 dim)).astype(np.float32) / np.sqrt(dim) * 4
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    t0 = time.perf_counter()
    index = VectorIndex.build(np.arange(n, dtype=np.int64), data, dimension=dim,
                              approximate_threshold=200_000)
    build_s = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    exact = faiss.IndexFlatIP(dim)
    exact.add(data)
    _, truth = exact.search(q, 1)
    times, found = [], []
    for i in range(queries):
        s = time.perf_counter()
        _, ids = index.search(q[i : i + 1], 64)
        times.append((time.perf_counter() - s) * 1000)
        found.append(ids[0, 0])
    recall = float(np.mean(np.array(found) == truth[:, 0]))
    t_rm = time.perf_counter()
    index.remove(np.arange(1000, dtype=np.int64))
    remove_ms = (time.perf_counter() - t_rm) * 1000
    return {"vectors": n, "dimension": dim, "kind": index.kind, "build_s": round(build_s, 1),
            "index_memory_mib": round(n * (dim * 4 + 8 + 8) / 2**20),  # vectors, ids, direct map
            "process_peak_rss_mib": round(rss1 / 1024),
            "search_p50_ms": round(float(np.median(times)), 3),
            "search_p95_ms": round(float(np.percentile(times, 95)), 3),
            "recall_at_1": round(recall, 4),
            "remove_1000_ids_ms": round(remove_ms, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--only", nargs="*",
                        default=["retrieval", "latency", "scale", "nlu", "conversation",
                                                      "escalation", "analytics"])
    parser.add_argument("--embedders", nargs="*", default=["minilm", "use-multilingual"])
    parser.add_argument("--datasets", nargs="*", default=["clinc150", "xsid", "banking77"])
    parser.add_argument("--quick", action="store_true", help="skip BANKING77 and dense-only runs")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        if name == "retrieval":
            result = bench_retrieval(args.embedders, args.quick, args.datasets)
        elif name == "latency":
            result = {e: bench_latency(e) for e in args.embedders}
            from benchmarks.product_latency import run as bench_product

            result["product_vs_kb"] = {e: bench_product(e) for e in args.embedders}
        elif name == "scale":
            result = bench_scale()
        elif name == "nlu":
            from benchmarks.nlu import run_nlu_eval

            with tempfile.TemporaryDirectory() as tmp:
                result = run_nlu_eval(Path(tmp))
        elif name == "conversation":
            from benchmarks.conversation import run as bench_conversation

            result = {e: bench_conversation(e) for e in args.embedders}
        elif name == "load":
            from benchmarks.load import run as bench_load

            result = bench_load()
        elif name == "escalation":
            from benchmarks.escalation import run as bench_escalation

            result = bench_escalation()
        elif name == "analytics":
            from benchmarks.analytics_models import run as bench_analytics

            result = bench_analytics()
        else:
            raise SystemExit(f"unknown benchmark {name!r}")
        record = {"date": date.today().isoformat(), "machine": machine(),
                  "command": f"python -m benchmarks.run --only {name} --embedders "
                             f"{' '.join(args.embedders)}"
                             f" --datasets {' '.join(args.datasets)}"
                             + (" --quick" if args.quick else ""),
                  "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                           capture_output=True, text=True).stdout.strip(),
                  "result": result}
        suffix = "" if name != "retrieval" else "-" + "-".join(args.embedders + args.datasets)
        (RESULTS / f"{name}{suffix}.json").write_text(json.dumps(record, indent=2))
        print(json.dumps(record, indent=2), flush=True)


if __name__ == "__main__":
    main()
