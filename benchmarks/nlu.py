"""Held-out evaluation of the Rasa NLU intent classifier, Italian and English.

Why: the knowledge base answers questions, but only if Rasa first routes them to
`ask_question` instead of a conversational intent (greet, ask_human, feedback, ...).
A routing mistake is invisible in the retrieval benchmarks, so this trains the NLU
model on `bot/conversation/rasa_project/data/nlu-*.yml` alone (`rasa train nlu`: no rules,
stories or domain) and scores it on `bot/conversation/rasa_project/tests/nlu-holdout-*.yml`,
which are never trained on. Rasa runs in its own virtualenv (`.venv-rasa`), so it is
driven through subprocess rather than imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
PROJECT = ROOT / "bot" / "conversation" / "rasa_project"
LANGUAGES = ("it", "en")


def _rasa(cache: Path, *args: str) -> None:
    # Rasa's training cache would otherwise land in `.rasa/` of the working directory.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_CACHE_DIRECTORY": str(cache)}
    done = subprocess.run([str(RASA), *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        raise RuntimeError(f"rasa {' '.join(args[:2])} failed:\n{tail}")


def run_nlu_eval(out_dir: Path, config: Path | None = None) -> dict:
    """Train NLU on the training files, test each held-out file, return the scores.

    `config` defaults to the product's `bot/conversation/rasa_project/config.yml`. Reports and the
    model are left under `out_dir` for inspection.
    """
    out_dir = out_dir.resolve()  # rasa runs from the repo root
    out_dir.mkdir(parents=True, exist_ok=True)
    config = (config or PROJECT / "config.yml").resolve()
    cache = out_dir / "rasa-cache"
    with tempfile.TemporaryDirectory() as tmp:
        train_dir = Path(tmp)  # only the NLU files, so nothing else gets trained
        for path in sorted((PROJECT / "data").glob("nlu-*.yml")):
            shutil.copy(path, train_dir / path.name)
        started = time.perf_counter()
        _rasa(cache, "train", "nlu", "--nlu", str(train_dir), "--config", str(config),
              "--out", str(out_dir / "model"), "--fixed-model-name", "nlu")
        train_seconds = time.perf_counter() - started
    model = out_dir / "model" / "nlu.tar.gz"
    results: dict = {"train_seconds": round(train_seconds)}
    for lang in LANGUAGES:
        report_dir = out_dir / lang
        _rasa(cache, "test", "nlu", "--nlu", str(PROJECT / "tests" / f"nlu-holdout-{lang}.yml"),
              "--model", str(model), "--out", str(report_dir))
        report = json.loads((report_dir / "intent_report.json").read_text(encoding="utf-8"))
        per_intent = {name: round(row["f1-score"], 4) for name, row in report.items()
                      if isinstance(row, dict) and "support" in row and "avg" not in name}
        results[lang] = {"macro_f1": round(report["macro avg"]["f1-score"], 4),
                         "accuracy": round(report["accuracy"], 4),
                         "per_intent": per_intent}
    return results


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args()
    print(json.dumps(run_nlu_eval(args.out_dir, args.config), indent=2))
