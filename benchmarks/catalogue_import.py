"""Importing a large catalogue: a generated CSV of 100,000 products (1 to 4 colour/size
variants each, HTML descriptions, European prices) read and imported into SQLite.

  parse        read_feed: decode, check every value, strip HTML, group into products
  import       import_products into an empty, migrated database (one transaction)
  re-import    the unchanged file again: parse + diff, nothing written, version kept
  change 1 %   the file with 1 % of the prices changed: only those products rewritten
  load         load_products: the whole catalogue back as records (what a cache builds on)
  memory       peak resident set size of the process after each step (ru_maxrss)

`python -m benchmarks.catalogue_import [--products N]` writes
benchmarks/results/catalogue_import.json and .md and prints the JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import tempfile
import time
from functools import partial
from pathlib import Path

from benchmarks.run import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
COLOURS = ["nero", "cammello", "blu notte", "verde petrolio", "grigio", "rosso", "panna"]
SIZES = ["XS", "S", "M", "L", "XL"]
COLUMNS = ["id", "item_group_id", "language", "title", "description", "product_type", "price",
           "sale_price", "availability", "availability_date", "color", "size", "material",
           "product_length", "product_width", "product_height", "inner_length"]


def generate(path: Path, products: int, *, seed: int = 0, changed_share: float = 0.0) -> int:
    """Write the feed; returns its rows. `changed_share` of the products get another price
    (the same seed gives the same feed otherwise)."""
    rng, changer = random.Random(seed), random.Random(seed + 1)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        out = csv.writer(stream, delimiter=";")
        out.writerow(COLUMNS)
        for n in range(products):
            price = rng.randint(900, 150_000)
            if changer.random() < changed_share:
                price += 100
            description = (f"<p>Articolo {n} in pelle &amp; cotone.</p><p>Tasca interna, "
                           f"chiusura a zip.</p>" if n % 2 else f"Articolo {n}, tessuto misto.")
            for k in range(rng.randint(1, 4)):
                out.writerow([
                    f"SKU-{n}-{k}", f"prodotto-{n}", "it", f"Prodotto {n}", description,
                    "Borse > Tote", _euro(price),
                    "", "in stock" if k else "out of stock", "" if k else "2026-12-15",
                    COLOURS[k % len(COLOURS)], SIZES[(n + k) % len(SIZES)], "pelle",
                    "42 cm", "140 mm", "33", "40 cm"])
                rows += 1
    return rows


def _euro(cents: int) -> str:
    """1234.56 -> '1.234,56 EUR', as an Italian shop exports it."""
    return f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d} EUR"


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _timed(fn, result: dict, name: str):
    """Wall seconds, and CPU seconds of this process: the figure that other processes
    sharing the cores do not inflate."""
    started, cpu = time.perf_counter(), time.process_time()
    value = fn()
    result[f"{name}_s"] = round(time.perf_counter() - started, 2)
    result[f"{name}_cpu_s"] = round(time.process_time() - cpu, 2)
    return value


def run(products: int = 100_000) -> dict:
    from catalogue.feeds import read_feed
    from catalogue.importer import import_products
    from catalogue.repository import load_products
    from core import dispose_all, session_scope
    from migrations import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        feed, changed_feed = work / "feed.csv", work / "changed.csv"
        rows = generate(feed, products)
        generate(changed_feed, products, changed_share=0.01)
        url = f"sqlite:///{work / 'catalogue.db'}"
        upgrade(url)
        result = {"machine": machine(), "products": products, "rows": rows,
                  "file_mib": round(feed.stat().st_size / 2**20, 1),
                  "baseline_peak_rss_mib": _peak_mib()}

        parsed = _timed(lambda: read_feed(feed), result, "parse")
        result["parse_peak_rss_mib"] = _peak_mib()

        def store(items):
            with session_scope(url) as session:
                return import_products(items, session=session, source="bench")

        report = _timed(partial(store, parsed), result, "import")
        result["import_peak_rss_mib"] = _peak_mib()
        result["import"] = {"added": report.added, "version": report.version}
        del parsed

        again = _timed(lambda: store(read_feed(feed)), result, "reimport")
        result["reimport"] = {"unchanged": again.unchanged, "changed": again.changed,
                              "version": again.version}
        changed = _timed(lambda: store(read_feed(changed_feed)), result, "change_1pct")
        result["change_1pct"] = {"changed": changed.changed, "version": changed.version}

        def load():
            with session_scope(url) as session:
                return len(load_products(session=session))

        result["loaded"] = _timed(load, result, "load")
        result["peak_rss_mib"] = _peak_mib()
        files = [work / "catalogue.db", work / "catalogue.db-wal"]  # WAL: not yet checkpointed
        result["db_mib"] = round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)
        result["load_average"] = round(os.getloadavg()[1], 1)  # over the last 5 minutes
        dispose_all()
    return result


def _s(r: dict, name: str) -> str:
    return f"{r[name + '_s']} ({r[name + '_cpu_s']})"


def markdown(r: dict) -> str:
    return "\n".join([
        f"# Catalogue import: {r['products']:,} products",
        "",
        f"Machine: {r['machine']}. A generated semicolon CSV of {r['products']:,} products, "
        f"{r['rows']:,} rows (variants), {r['file_mib']} MiB, into SQLite "
        "(`python -m benchmarks.catalogue_import`).",
        "",
        "| step | seconds (CPU) | result |",
        "|---|---|---|",
        f"| parse (read_feed) | {_s(r, 'parse')} | {r['products']:,} products |",
        f"| import into an empty catalogue | {_s(r, 'import')} | {r['import']['added']:,} "
        f"added, version {r['import']['version']} |",
        f"| re-import, unchanged file (parse + diff) | {_s(r, 'reimport')} | "
        f"{r['reimport']['unchanged']:,} unchanged, version {r['reimport']['version']} |",
        f"| re-import, 1 % of prices changed | {_s(r, 'change_1pct')} | "
        f"{r['change_1pct']['changed']:,} changed, version {r['change_1pct']['version']} |",
        f"| load_products (whole catalogue) | {_s(r, 'load')} | {r['loaded']:,} products |",
        "",
        f"Peak resident memory: {r['baseline_peak_rss_mib']} MiB before, "
        f"{r['parse_peak_rss_mib']} MiB after parsing, {r['import_peak_rss_mib']} MiB after "
        f"importing, {r['peak_rss_mib']} MiB at the end. Database file: {r['db_mib']} MiB. "
        f"Load average during the run: {r['load_average']} (wall seconds grow when other "
        "processes share the cores; CPU seconds do not).",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    args = parser.parse_args()
    result = run(args.products)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "catalogue_import.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / "catalogue_import.md").write_text(markdown(result))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
