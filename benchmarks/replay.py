"""The self-learning loop on the development sets (issue: learning that pays off).

  python -m benchmarks.replay [--sets ...] [--limit 1000] [--seed 0]

Each set: a shop whose FAQ starts with half of the topics (5 questions each), then a
shuffled stream of questions (the set's held-out questions, `oos` included) replayed
through `supportbot replay` (bot.replay): every question the bot does not resolve is
answered by an operator through the ticket path and learned. BANKING77 runs its first
fold (80 % of train as the topics, the other 20 % as the stream). Results go to
benchmarks/results/replay.{json,md}."""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.decisions import DEFAULT_DATASETS, LANGUAGES, ROOT, pairs
from benchmarks.run import machine

SETS = ("banking77_oos", "csd-banking", "csd-credit_cards", "clinc150", "banking77")
RESULTS = ROOT / "benchmarks" / "results"


def markdown(cells: dict) -> str:
    lines = ["| set | stream | known: resolved | unknown: wrong | oos: wrong | all: wrong | "
             "oos: one-off answer reused | "
             "resolved by quarter (known) | merged into its entry | into another | "
             "answerable p50 / p95 |", "|" + "---|" * 11]
    for name, r in cells.items():
        o, learning = r["overall"], r["learning"]
        quarters = " → ".join("-" if q["known"]["resolved"] is None
                              else f"{100 * q['known']['resolved']:.0f}" for q in r["quarters"])
        merged = learning["known_topic_answers_merged"]
        lines.append(
            f"| {name} | {r['stream']} | {100 * o['known']['resolved']:.1f} % | "
            f"{100 * o['unknown']['wrong']:.1f} % | {100 * o['oos']['wrong']:.1f} % | "
            f"{100 * o['all']['wrong']:.1f} % | {100 * o['oos']['reused_one_off']:.1f} % | "
            f"{quarters} | "
            f"{'-' if merged is None else f'{100 * merged:.0f} %'} | "
            f"{learning['merged_into_another_topic']} | "
            f"{learning['answerable_ms_p50']} / {learning['answerable_ms_p95']} ms |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path(DEFAULT_DATASETS))
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    parser.add_argument("--limit", type=int, default=1000, help="questions replayed per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedder", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "replay.json")
    args = parser.parse_args()
    datasets = args.datasets if args.datasets.is_absolute() else ROOT / args.datasets
    from bot.replay import replay
    from core import get_settings
    from knowledge.embedders import make_embedder

    embedder = args.embedder or get_settings().resolved_embedder
    model = make_embedder(embedder)
    model.warm_up()
    record = {"date": date.today().isoformat(), "machine": machine(), "embedder": embedder,
              "command": f"python -m benchmarks.replay --sets {' '.join(args.sets)} "
                         f"--limit {args.limit} --seed {args.seed}",
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                       capture_output=True, text=True).stdout.strip(),
              "cells": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            kb, stream = pairs(name, datasets, Path(tmp), 1, args.seed)[0]
            language = LANGUAGES.get(name, {}).get("language", "other")
            started = time.perf_counter()
            report = replay(kb, stream, embedder=embedder, language=language, seed=args.seed,
                            limit=args.limit, model=model, work_dir=Path(tmp))
            report["seconds"] = round(time.perf_counter() - started)
            record["cells"][name] = report
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(record, indent=1))
            args.out.with_suffix(".md").write_text(markdown(record["cells"]))
            print(markdown({name: report}), flush=True)


if __name__ == "__main__":
    main()
