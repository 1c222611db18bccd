"""The answer / clarify / escalate decision on the development sets, with the product's
default settings, at 1, 3, 5 and all questions per entry, beside the figures of the score
thresholds it replaced (results/decisions-before.json).

  python -m benchmarks.decisions [--datasets ../shared/datasets] [--shots 0 5 1 3]
      [--sets clinc150 ...] [--folds 5] [--seed 0] [--resume]

Sets (KB -> queries): clinc150 train -> val; banking77_oos train -> valid;
clinc_single_domain banking and credit_cards train -> valid; xSID it, en and an English KB
asked in Italian (only valid files exist, so each label's utterances are split in half,
seeded: one half is the KB, the other the queries; the Italian queries are the translations
of held-out English ones); BANKING77 k-fold on train (stratified, seeded); the demo shop's
FAQ (data/demo_kb.yaml) in Italian and in English, asked 220 questions written the way its
customers write (benchmarks/data/demo_shop_questions.jsonl, 30 % with no answer;
`--demo-questions benchmarks/data/demo_shop_holdout.jsonl`: 160 more, 35 % with no answer,
written later by another author who saw neither set nor the FAQ's added customer wordings).
Every cell is written to benchmarks/results/decisions.json and .md as soon as it ends, so an
interrupted run keeps what it measured and `--resume` skips it.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.run import machine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASETS = "../shared/datasets"  # relative to the repository, as the datasets' README says
RESULTS = ROOT / "benchmarks" / "results"
SETS = ("clinc150", "banking77_oos", "csd-banking", "csd-credit_cards", "xsid-it", "xsid-en",
        "xsid-en-kb-it-queries", "banking77", "demo-it", "demo-en")
DEMO_KB = ROOT / "data" / "demo_kb.yaml"
DEMO_QUESTIONS = ROOT / "benchmarks" / "data" / "demo_shop_questions.jsonl"
SCALARS = ("resolved", "wrong", "answered", "clarify_offered", "clarify_hit", "escalated",
           "in_scope_accuracy", "oos_recall", "latency_ms_p50", "unanswerable_share")
# The KB's and the queries' languages where a set has them (the others: English, not said).
LANGUAGES = {"xsid-it": {"language": "it", "query_language": "it"},
             "xsid-en": {"language": "en", "query_language": "en"},
             "xsid-en-kb-it-queries": {"language": "en", "query_language": "it"},
             "demo-it": {"language": "it", "query_language": "it"},
             "demo-en": {"language": "en", "query_language": "en"}}
TARGETS = {"wrong": "<= 2 %", "resolved": ">= 85 % (CLINC150, xSID), >= 70 % (banking77_oos)",
           "clarify_hit": ">= 80 %", "clarify_offered": "<= 10 %", "ece": "<= 0.05"}


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _by_label(lines: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        groups[json.loads(line)["label"]].append(i)
    return groups


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def half_split(lines: list[str], seed: int) -> tuple[list[int], list[int]]:
    """Per label, seeded: the first half (rounded up) goes to the KB, the rest are queries."""
    kb, queries = [], []
    for label, rows in sorted(_by_label(lines).items()):
        rows = rows[:]
        random.Random(f"{seed}:{label}").shuffle(rows)
        cut = math.ceil(len(rows) / 2)
        kb += rows[:cut]
        queries += rows[cut:]
    return sorted(kb), sorted(queries)


def fold_split(lines: list[str], folds: int, fold: int, seed: int) -> tuple[list[int], list[int]]:
    """Stratified k-fold: each label's shuffled rows are dealt to the folds in turn."""
    kb, queries = [], []
    for label, rows in sorted(_by_label(lines).items()):
        rows = rows[:]
        random.Random(f"{seed}:{label}").shuffle(rows)
        for position, row in enumerate(rows):
            (queries if position % folds == fold else kb).append(row)
    return sorted(kb), sorted(queries)


def pairs(name: str, data: Path, work: Path, folds: int, seed: int) -> list[tuple[Path, Path]]:
    """(KB file, query file) for each run of a set (several for k-fold)."""
    if name == "clinc150":
        return [(data / "clinc150" / "train.jsonl", data / "clinc150" / "val.jsonl")]
    if name == "banking77_oos":
        return [(data / "banking77_oos" / "train.jsonl", data / "banking77_oos" / "valid.jsonl")]
    if name.startswith("csd-"):
        domain = data / "clinc_single_domain" / name[4:]
        return [(Path(f"{domain}.train.jsonl"), Path(f"{domain}.valid.jsonl"))]
    if name.startswith("xsid-"):
        kb_lang, query_lang = ("en", "it") if name == "xsid-en-kb-it-queries" else (name[5:],) * 2
        kb_lines = _lines(data / "xsid" / f"{kb_lang}.valid.jsonl")
        query_lines = _lines(data / "xsid" / f"{query_lang}.valid.jsonl")
        kb_rows, query_rows = half_split(kb_lines, seed)  # the files are line-aligned translations
        return [(_write(work / f"{name}.kb.jsonl", [kb_lines[i] for i in kb_rows]),
                 _write(work / f"{name}.q.jsonl", [query_lines[i] for i in query_rows]))]
    if name == "banking77":
        lines = _lines(data / "banking77" / "train.jsonl")
        runs = []
        for fold in range(folds):
            # 5 folds; --folds runs the first k
            kb_rows, query_rows = fold_split(lines, 5, fold, seed)
            runs.append((_write(work / f"b77.{fold}.kb.jsonl", [lines[i] for i in kb_rows]),
                         _write(work / f"b77.{fold}.q.jsonl", [lines[i] for i in query_rows])))
        return runs
    if name.startswith("demo-"):
        return [demo_shop(name[5:], work)]
    raise SystemExit(f"unknown set {name!r}; known: {', '.join(SETS)}")


def demo_shop(language: str, work: Path) -> tuple[Path, Path]:
    """The demo shop's FAQ in one language as the KB (its questions labelled with their
    entry's key), asked questions written as its customers write (benchmarks/data)."""
    import yaml

    entries = yaml.safe_load(DEMO_KB.read_text(encoding="utf-8"))["entries"]
    kb = [json.dumps({"text": q, "label": e["key"]}, ensure_ascii=False)
          for e in entries if e["language"] == language for q in e["questions"]]
    queries = [line for line in _lines(DEMO_QUESTIONS) if json.loads(line)["language"] == language]
    return (_write(work / f"demo-{language}.kb.jsonl", kb),
            _write(work / f"demo-{language}.q.jsonl", queries))


def pooled(reports: list[dict]) -> dict:
    """Folds combined: scalars averaged, curves averaged point by point, reliability bins
    summed (so the ECE is the pooled one, exactly)."""
    if len(reports) == 1:
        return reports[0]
    out = {k: round(float(np.mean([r[k] for r in reports])), 4) for k in SCALARS}
    starts = [r["at_start"] for r in reports if r["at_start"]]
    out["at_start"] = {k: round(float(np.mean([s[k] for s in starts])), 4)
                       for k in ("resolved", "wrong")} if starts else {}
    out["coverage_risk"] = [
        {k: (p[k] if k == "answer_threshold" else round(float(np.mean([r["coverage_risk"][i][k]
             for r in reports])), 4)) for k in p}
        for i, p in enumerate(reports[0]["coverage_risk"])
        if all(len(r["coverage_risk"]) > i for r in reports)
    ]
    table, total, ece = [], sum(r["queries"] for r in reports), 0.0
    for i, row in enumerate(reports[0]["reliability"]):
        rows = [r["reliability"][i] for r in reports if r["reliability"][i]["count"]]
        count = sum(x["count"] for x in rows)
        mean = sum(x["count"] * x["mean_score"] for x in rows) / count if count else None

        accuracy = sum(x["count"] * x["accuracy"] for x in rows) / count if count else None
        if count:
            ece += count / total * abs(accuracy - mean)
        table.append({"bin": row["bin"], "count": count,
                      "mean_score": None if mean is None else round(mean, 4),
                      "accuracy": None if accuracy is None else round(accuracy, 4)})
    out.update(reliability=table, ece=round(ece, 4), queries=total,
               thresholds=[r["thresholds"] for r in reports],
               calibration=[r["calibration"] for r in reports],
               short_labels=reports[0]["short_labels"], folds=len(reports))
    return out


def run_cell(name: str, shots: int, args, model, work: Path) -> dict:
    from knowledge.evaluation import evaluate

    started = time.perf_counter()
    reports = []
    for kb, queries in pairs(name, args.datasets, work, args.folds, args.seed):
        if hasattr(model, "_cache"):  # every run embeds its queries afresh
            model._cache.clear()
        reports.append(evaluate(kb, queries, embedder=args.embedder, shots=shots, seed=args.seed,
                                model=model, work_dir=work, **LANGUAGES.get(name, {})).as_dict())
    result = pooled(reports)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _before() -> dict:
    """The figures of the score thresholds this replaced (measured on the same sets)."""
    path = RESULTS / "decisions-before.json"
    return json.loads(path.read_text())["cells"] if path.exists() else {}


def markdown(cells: dict) -> str:
    before = _before()
    lines = ["Each figure: before (score thresholds) → now (confidence model, the unanswerable "
             "share estimated from the questions asked); `start`: a new deployment before any "
             "log (share assumed 50 %).", "",
             "| set | shots | resolved | wrong | clarify offered | clarify hit | escalated | ECE "
             "| start: resolved / wrong | est. unanswerable |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def pair(key: str, name: str, fmt=_pct) -> str:
        was = before.get(key, {}).get(name)
        now = cells[key][name]
        return fmt(now) if was is None else f"{fmt(was)} → {fmt(now)}"

    for key in sorted(cells, key=_order):
        r = cells[key]
        shots = "full" if r["shots"] == 0 else str(r["shots"])
        folds = f" ({r['folds']} fold{'s' if r['folds'] > 1 else ''})" if r.get("folds") else ""
        start = r.get("at_start") or {}
        lines.append(
            f"| {r['set']}{folds} | {shots} | {pair(key, 'resolved')} | {pair(key, 'wrong')} | "
            f"{pair(key, 'clarify_offered')} | "
            f"{_pct(r['clarify_hit'] if r['clarify_offered'] else None)} | "
            f"{pair(key, 'escalated')} | {pair(key, 'ece', lambda v: f'{v:.3f}')} | "
            f"{_pct(start.get('resolved'))} / {_pct(start.get('wrong'))} | "
            f"{_pct(r.get('unanswerable_share'))} |")
    sweep = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
    lines += ["", "Coverage-risk, resolved / wrong at each answer threshold on P(right) (full KB):",
              "",
              "| set | " + " | ".join(f"{t:g}" for t in sweep) + " |",
              "|---|" + "---|" * len(sweep)]
    for key in sorted(cells, key=_order):
        r = cells[key]
        if r["shots"] == 0 and r["coverage_risk"]:
            at = {p["answer_threshold"]: p for p in r["coverage_risk"]}
            lines.append(f"| {r['set']} | " + " | ".join(
                f"{_pct(at[t]['resolved'])} / {_pct(at[t]['wrong'])}" for t in sweep) + " |")
    return "\n".join(lines) + "\n"


def _order(key: str) -> tuple[int, int]:
    name, _, shots = key.partition("@")
    return SETS.index(name), {0: 9}.get(int(shots), int(shots))


def main() -> None:
    global DEMO_QUESTIONS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path(DEFAULT_DATASETS),
                        help="folder of the development sets (relative paths: to the repository)")
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    parser.add_argument("--shots", nargs="*", type=int, default=[0, 5, 1, 3],
                        help="questions per entry, 0 = all; run in this order")
    parser.add_argument("--folds", type=int, default=5, choices=range(1, 6),
                        help="how many of BANKING77's 5 folds to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedder", default=None, help="default: the product's resolved embedder")
    parser.add_argument("--resume", action="store_true", help="keep cells already in the results")
    parser.add_argument("--out", type=Path, default=RESULTS / "decisions.json")
    parser.add_argument("--demo-questions", type=Path, default=DEMO_QUESTIONS,
                        help="the demo shop's customer questions (the held-out set: "
                             "benchmarks/data/demo_shop_holdout.jsonl)")
    args = parser.parse_args()
    DEMO_QUESTIONS = args.demo_questions
    if not args.datasets.is_absolute():
        args.datasets = ROOT / args.datasets
    if not args.datasets.is_dir():
        raise SystemExit(f"no datasets folder at {args.datasets}")
    from core import get_settings
    from knowledge.embedders import make_embedder

    args.embedder = args.embedder or get_settings().resolved_embedder
    model = make_embedder(args.embedder)
    model.warm_up()
    record = json.loads(args.out.read_text()) if args.resume and args.out.exists() else {}
    record.update(date=date.today().isoformat(), machine=machine(), embedder=args.embedder,
                  command="python -m benchmarks.decisions " + " ".join(
                      f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                      for k, v in (("sets", args.sets), ("shots", args.shots),
                                   ("folds", args.folds), ("seed", args.seed))),
                  commit=subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                        capture_output=True, text=True).stdout.strip(),
                  targets=TARGETS)
    cells = record.setdefault("cells", {})
    with tempfile.TemporaryDirectory() as tmp:
        for shots in args.shots:
            for name in args.sets:
                key = f"{name}@{shots}"
                if key in cells:
                    continue
                cells[key] = {"set": name, "shots": shots,
                              **run_cell(name, shots, args, model, Path(tmp))}
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(record, indent=1))
                args.out.with_suffix(".md").write_text(markdown(cells))
                r = cells[key]
                print(f"{key}: resolved {r['resolved']:.3f} wrong {r['wrong']:.3f} clarify "
                      f"{r['clarify_offered']:.3f} hit {r['clarify_hit']:.3f} ECE {r['ece']:.3f} "
                      f"({r['seconds']} s)", flush=True)
    print(markdown(cells))


if __name__ == "__main__":
    main()
