"""Reply arrival -> answerable as the KB grows (issue 12, point 4).

  python -m benchmarks.learning_scale [--sizes 10000,100000,1000000] [--learns 20]
                                      [--before-learns 20,20,5] [--dim 64]

For each size, a synthetic KB of that many published question variants (entries of 1-9
questions; words drawn from a Zipf-like vocabulary, as FAQ wording is) is written straight
into a fresh SQLite database. Then operators' answers are learned through
`knowledge.learning.learn` as escalation calls it (alternately a new entry, and a question
joining the entry the operator picked: `variant_of`), and each is timed from the call until
`kb.search` of the learned question returns its entry as the answer. Two knowledge bases
run on the same database, one after the other, side by side in one run:

  before  the apply path as it was: every question of a changed entry re-embedded, and the
          whole BM25 index re-read from the database and rebuilt with bm25s on every change
  after   the incremental path (knowledge.index_sync, knowledge.lexical)

Vectors come from a deterministic pseudo-random embedder (`SyntheticEmbedder`, 64
dimensions by default): embedding 1M real questions with MiniLM on 2 cores takes hours, and
training the IVF index on 1M 384-d vectors ~400 s (results/scale.json). Per-change FAISS
costs are id bookkeeping, hardly the dimension. The embedder's own time per learned answer
(the question, the search, up to three answer comparisons: MiniLM ~10-20 ms a call) is
therefore not in these figures and does not grow with the KB.

Results go to benchmarks/results/learning_scale.{json,md}.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import tempfile
import time
import zlib
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.run import machine
from core import Settings, dispose_all, session_scope, utcnow
from knowledge import repository as repo
from knowledge.embedders import Embedder
from knowledge.learning import learn
from knowledge.models import Category, Entry, EntryVersion, KBChange, Question, Source, Status
from knowledge.scoring import DecisionKind
from knowledge.service import KnowledgeBase
from knowledge.text import fingerprint

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SHOP_WORDS = ("order refund parcel invoice voucher gift card shipping return broken size colour "
              "delivery tracking paypal klarna store opening hours warranty exchange discount "
              "account password address cancel payment price stock").split()
LETTERS = "abcdefghijklmnopqrstuvwxyz"


class SyntheticEmbedder(Embedder):
    """Text -> a fixed pseudo-random unit vector (a sum of four rows of a random table picked
    by the text's hash): equal texts meet at cosine 1, different ones stay far below the
    near-copy threshold. Vectorised: 1M texts in seconds."""

    def __init__(self, dimension: int = 64, seed: int = 0):
        self.dimension, self.name = dimension, f"synthetic-{dimension}"
        rng = np.random.default_rng(seed)
        self._table = rng.standard_normal((4096, dimension)).astype(np.float32)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        h = np.array([zlib.crc32(t.encode()) | (zlib.adler32(t.encode()) << 32) for t in texts],
                     dtype=np.uint64)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for shift, weight in ((0, 1.0), (12, 0.7), (24, 0.5), (36, 0.35)):
            rows = (h >> np.uint64(shift)) & np.uint64(4095)
            out += weight * self._table[rows.astype(np.int64)]
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_many(self, texts: Sequence[str], batch_size: int = 65536) -> np.ndarray:
        return super().embed_many(texts, batch_size)


class Bm25sIndex:
    """knowledge.lexical as it was: bm25s, rebuilt whole from every question on change."""

    def __init__(self) -> None:
        self._retriever, self._ids = None, np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    def build(self, ids, texts) -> None:
        import bm25s

        from knowledge.lexical import tokenize
        retriever = None
        if len(ids):
            retriever = bm25s.BM25()
            retriever.index([tokenize(t) or ["\u2205"] for t in texts], show_progress=False)
        self._retriever, self._ids = retriever, np.asarray(ids, dtype=np.int64)

    def update(self, removed=(), added=()) -> None:
        """Nothing: the whole index is rebuilt after the change (RebuildingKB)."""

    def search(self, text: str, k: int) -> dict[int, float]:
        from knowledge.lexical import tokenize
        retriever, ids, tokens = self._retriever, self._ids, tokenize(text)
        if retriever is None or not tokens:
            return {}
        docs, scores = retriever.retrieve([tokens], k=min(k, len(ids)), show_progress=False)
        return {int(ids[d]): float(s) for d, s in zip(docs[0], scores[0], strict=True) if s > 0}


class RebuildingKB(KnowledgeBase):
    """The apply path before issue 12: a changed entry's questions all re-embedded, then the
    BM25 index rebuilt from the whole database."""

    def __init__(self, settings: Settings, embedder: Embedder):
        super().__init__(settings, embedder)
        self._maps.lexical = Bm25sIndex()
        self._maps.fresh = lambda rows: list(rows)

    def _apply_changes(self, version, changed, rows, fresh) -> None:
        super()._apply_changes(version, changed, rows, fresh)
        with session_scope(self.url) as session:
            every = repo.searchable_variants(session=session)
        self._maps.lexical.build([r[0] for r in every], [r[2] for r in every])


# -- the synthetic KB ------------------------------------------------------------------------
def vocabulary(size: int) -> tuple[list[str], np.ndarray]:
    """Shop words first, then made-up words; probabilities ~ 1/(rank + 5)."""
    words = list(SHOP_WORDS)
    i = 0
    while len(words) < size:
        i += 1
        n, word = i, ""
        while n:
            n, r = divmod(n, 26)
            word += LETTERS[r]
        words.append("q" + word)  # letters only: the PII scrubber leaves them alone
    p = 1.0 / (np.arange(size) + 5.0)
    return words, p / p.sum()


def questions(n: int, rng: np.random.Generator) -> list[str]:
    words, p = vocabulary(30_000)
    lengths = rng.integers(3, 11, size=n)
    drawn = rng.choice(len(words), size=int(lengths.sum()), p=p)
    out, at = [], 0
    for length in lengths.tolist():
        out.append("how " + " ".join(words[w] for w in drawn[at : at + length].tolist()) + "?")
        at += length
    return out


def build_database(url: str, variants: int, rng: np.random.Generator) -> int:
    """Write `variants` published questions in entries of 1-9; returns the entry count."""
    sizes = rng.integers(1, 10, size=variants // 5 + 10)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), variants)) + 1]
    sizes[-1] -= int(sizes.sum()) - variants
    texts, now, at = questions(variants, rng), utcnow(), 0
    for start in range(0, len(sizes), 20_000):
        entries, rows, versions = [], [], []
        for i in range(start, min(start + 20_000, len(sizes))):
            own = texts[at : at + int(sizes[i])]
            at += int(sizes[i])
            entries.append({"id": i + 1, "key": f"en-syn-{i + 1}", "answer": f"Answer {i + 1}.",
                            "language": "en", "category": Category.GENERAL, "topic": "",
                            "status": Status.PUBLISHED, "source": Source.IMPORTED,
                            "source_ref": "", "created_by": "", "created_at": now,
                            "updated_by": "", "updated_at": now, "version": 1})
            rows += [{"entry_id": i + 1, "text": t, "fingerprint": fingerprint(t),
                      "created_at": now} for t in own]
            versions.append({"entry_id": i + 1, "version": 1, "answer": f"Answer {i + 1}.",
                             "questions": own, "status": "published", "category": "general",
                             "changed_by": "", "changed_at": now, "reason": "created"})
        with session_scope(url) as session:
            session.execute(Entry.__table__.insert(), entries)
            session.execute(Question.__table__.insert(), rows)
            session.execute(EntryVersion.__table__.insert(), versions)
            session.execute(KBChange.__table__.insert(),
                            [{"entry_id": e["id"], "changed_at": now} for e in entries])
    return len(sizes)


# -- measuring --------------------------------------------------------------------------------
def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    return {"p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1), "max": round(max(values), 1),
            "n": len(values)}


def learned_texts(rng: np.random.Generator, count: int, offset: int) -> list[tuple[str, str]]:
    """(question, answer) pairs with a made-up product code each, as customers write them."""
    out = []
    for i, text in enumerate(questions(count, rng)):
        code = "".join(LETTERS[d] for d in rng.integers(0, 26, size=7))
        out.append((f"{text[:-1]} for the {code}?",
                    f"The {code} ships in {offset + i + 2} days from our store."))
    return out


def measure_learning(kb: KnowledgeBase, pairs, entries: int, ticket_base: int,
                     rng: np.random.Generator) -> dict:
    applied: list[float] = []
    apply_changes = kb._apply_changes

    def timed(*args):
        started = time.perf_counter()
        apply_changes(*args)
        applied.append((time.perf_counter() - started) * 1000)

    kb._apply_changes = timed
    answerable, learn_ms, first_ms, failures = [], [], [], 0
    for i, (question, answer) in enumerate(pairs):
        picked = int(rng.integers(1, entries + 1)) if i % 2 else None
        started = time.perf_counter()
        learned = learn(kb, question=question, answer=answer, language="en",
                        ticket_id=ticket_base + i, operator="op@shop.example",
                        category="general", review=False, variant_of=picked)
        learned_at = time.perf_counter()
        first = None
        while True:
            before_search = time.perf_counter()
            decision = kb.search(learned.question, language="en")
            first = first if first is not None else time.perf_counter() - before_search
            if decision.kind is DecisionKind.ANSWER and decision.entry.entry_id == learned.entry_id:
                break
            if time.perf_counter() - started > 30:
                failures += 1
                break
        answerable.append((time.perf_counter() - started) * 1000)
        learn_ms.append((learned_at - started) * 1000)
        first_ms.append(first * 1000)
    kb._apply_changes = apply_changes
    return {"answerable_ms": percentiles(answerable), "learn_ms": percentiles(learn_ms),
            "apply_ms": percentiles(applied), "first_search_ms": percentiles(first_ms),
            "not_answerable_after_30_s": failures}


def learned_before_check_ms(url: str) -> float:
    """learn()'s "was this ticket learned already?" query: kb_entry_versions.reason has no
    index, so it reads every version row (knowledge.learning, not changed here)."""
    from knowledge.learning import _learned_before
    times = []
    for _ in range(5):
        with session_scope(url) as session:
            started = time.perf_counter()
            _learned_before("learned from ticket -1", session=session)
            times.append((time.perf_counter() - started) * 1000)
    return round(float(np.median(times)), 1)


def run_mode(kind: type[KnowledgeBase], settings: Settings, embedder: Embedder, entries: int,
             learns: int, ticket_base: int, seed: int) -> dict:
    rss_before = rss_mib()
    started = time.perf_counter()
    kb = kind(settings, embedder)
    kb.warm_up()
    start_s = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    with session_scope(settings.resolved_database_url) as session:
        probes = [r[2] for r in repo.searchable_variants(
            session=session, entry_ids=set(rng.integers(1, entries + 1, size=20).tolist()))][:20]
    search_ms = []
    for probe in probes:
        t0 = time.perf_counter()
        kb.search(probe, language="en")
        search_ms.append((time.perf_counter() - t0) * 1000)
    result = {"start_s": round(start_s, 1), "index": kb._index.kind,
              "rss_after_start_mib": round(rss_mib() - rss_before),
              "search_ms": percentiles(search_ms)}
    lexical = kb._maps.lexical
    if hasattr(lexical, "nbytes"):
        result["lexical_arrays_mib"] = round(lexical.nbytes() / 2**20, 1)
    result |= measure_learning(kb, learned_texts(rng, learns, ticket_base), entries,
                               ticket_base, rng)
    kb.close()
    del kb
    gc.collect()
    return result


def run_size(variants: int, learns: int, before_learns: int, dim: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'kb.db'}"
        from migrations import upgrade
        upgrade(url)
        started = time.perf_counter()
        entries = build_database(url, variants, np.random.default_rng(seed))
        record = {"variants": variants, "entries": entries,
                  "db_build_s": round(time.perf_counter() - started, 1),
                  "load_average_before": round(os.getloadavg()[0], 1)}
        record["learned_before_check_ms"] = learned_before_check_ms(url)
        print(f"{variants:,} questions in {entries:,} entries written in "
              f"{record['db_build_s']} s", flush=True)
        settings = Settings(var_dir=Path(tmp), database_url=url, embedder="hashing")
        embedder = SyntheticEmbedder(dim)
        # "after" first: its start builds and saves the index; "before" loads it. Each learns
        # its own questions (the same question learned twice would be a clarify, not an answer).
        for mode, kind, count, base in (("after", KnowledgeBase, learns, 1_000_000),
                                        ("before", RebuildingKB, before_learns, 2_000_000)):
            if count:
                record[mode] = run_mode(kind, settings, embedder, entries, count, base,
                                        seed + base)
                print(f"  {mode}: {json.dumps(record[mode])}", flush=True)
        dispose_all()
    record["load_average_after"] = round(os.getloadavg()[0], 1)
    return record


def markdown(record: dict) -> str:
    lines = [f"Reply arrival -> answerable, {record['date']}, {record['machine']}.", "",
             "| questions | load avg | ticket-learned check ms | path | index | learns | "
             "answerable p50 / p95 / max ms | learn p95 ms "
             "| apply p95 ms | first search p95 ms | search p95 ms (steady) | start s | "
             "RSS after start MiB |", "|" + "---|" * 13]
    for size in record["sizes"].values():
        for mode in ("before", "after"):
            r = size.get(mode)
            if not r:
                continue
            a = r["answerable_ms"]
            lines.append(
                f"| {size['variants']:,} | {size['load_average_before']}-"
                f"{size.get('load_average_after', '?')} | "
                f"{size['learned_before_check_ms']} | {mode} | {r['index']} | {a['n']} | "
                f"{a['p50']} / {a['p95']} / {a['max']} | {r['learn_ms']['p95']} | "
                f"{r['apply_ms'].get('p95', '-')} | {r['first_search_ms']['p95']} | "
                f"{r['search_ms']['p95']} | {r['start_s']} | {r['rss_after_start_mib']} |")
    lines += ["", "Peak RSS of the whole run: "
              f"{record['peak_rss_mib']} MiB.", ""] + [f"- {n}" for n in record["notes"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--learns", type=int, default=20)
    parser.add_argument("--before-learns", default="20,20,5",
                        help="learned answers for the old path, per size (it is slow at 1M)")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "learning_scale.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    before = [int(s) for s in args.before_learns.split(",")]
    before += [before[-1]] * (len(sizes) - len(before))
    record = {"date": date.today().isoformat(), "machine": machine(),
              "command": f"python -m benchmarks.learning_scale --sizes {args.sizes} "
                         f"--learns {args.learns} --before-learns {args.before_learns} "
                         f"--dim {args.dim} --seed {args.seed}",
              "notes": [
                  f"Synthetic KB and vectors: a deterministic pseudo-random {args.dim}-d "
                  "embedder, not MiniLM (embedding 1M questions on 2 cores takes hours); the "
                  "embedder's own time per learned answer is not included and does not "
                  "grow with the KB.",
                  "answerable: from calling learn() (as escalation does) until kb.search of "
                  "the learned question answers with its entry; learn includes its own "
                  "search, the database writes and the index sync; apply: the sync's "
                  "in-memory change (embedding, FAISS, maps, BM25); first search: the "
                  "search right after learn() returned.",
                  "before: every question of the changed entry re-embedded and the BM25 "
                  "index rebuilt from the whole database with bm25s, as the code was; "
                  "after: knowledge.index_sync + the incremental knowledge.lexical.",
                  "Learned answers alternate: a new entry, and a question joining an "
                  "existing entry picked by the operator (variant_of).",
                  "Wall-clock times on a shared 2-core machine: the load average (1 min) "
                  "before and after each size is recorded; both paths ran under it alike."],
              "sizes": {}}
    for size, before_learns in zip(sizes, before, strict=False):
        record["sizes"][str(size)] = run_size(size, args.learns, before_learns, args.dim,
                                              args.seed)
        record["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1))
        args.out.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
