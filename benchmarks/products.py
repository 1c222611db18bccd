"""Product questions answered from the demo catalogue, on the labelled sets.

  python -m benchmarks.products [--files data/product_questions_dev.jsonl ...]
      [--only dev|holdout] [--catalogue data/demo_catalogue.csv] [--today 2026-12-01]
      [--out benchmarks/results] [--mistakes] [--scale 100000]

Each line: {"text", "language", "page", "slug" (expected or null), "attribute" (expected or
null), "answerable": bool, "kind": "product" | "faq", "colour"?, "size"?}. Per file:
  product found     the expected product was identified (lines with a slug)
  attribute found   the expected attribute was identified (lines with an attribute)
  answered right    answered (text) with the expected slug and attribute, and colour / size
                    when labelled, on an answerable line
  answered wrong    answered, but a mismatch, or an unanswerable or FAQ line
  escalated         a product question whose answer the data does not give (text None)
  left to FAQ       not taken as a product question (None)
Answered right is a share of the answerable lines; wrong a share of all lines. Targets
(held-out half): right >= 80 %, wrong <= 2 %. Also the median time of answer_question.
`--only dev` evaluates the dev half alone (rules are tuned on it; the held-out half is
measured once, at the end). `--scale N` also times questions against a catalogue of N
products (the demo's, copied under new names and slugs), where a common noun ("borsa")
names thousands of products.
Writes benchmarks/results/products.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from catalogue.answers import ProductReply, answer_question
from catalogue.feeds import read_feed
from catalogue.records import Product
from catalogue.understanding import CatalogueIndex
from catalogue.vocabulary import COLOURS, fold

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ("data/product_questions_dev.jsonl", "data/product_questions_holdout.jsonl")
ONLY = {"dev": DEFAULT_FILES[0], "holdout": DEFAULT_FILES[1]}
SCALE_QUESTIONS = (  # (text, language, page): common nouns, names, typos, a page
    ("quanto costa la borsa?", "it", ""),
    ("la borsa entra un portatile da 15 pollici", "it", "product:linea7-borsa-aurora"),
    ("avete la borsa nera in pelle?", "it", "product:linea7-borsa-aurora"),
    ("borsa aurora linea7 prezzo", "it", ""),
    ("is the linea12 cashmere scarf available in camel", "en", ""),
    ("capotto linea3 taglie", "it", ""),
    ("scarpe in pelle nera 42?", "it", ""),
)
TODAY = date(2026, 12, 1)  # the demo's "now": restock dates are weeks after it
_CONCEPT = {name: concept for concept, names in COLOURS.items() for name in names}


def _same_colour(expected: str, got: str) -> bool:
    a, b = fold(expected), fold(got)
    return a == b or _CONCEPT.get(a, a) == _CONCEPT.get(b, b)


def _same_size(expected: str, got: str) -> bool:
    return fold(expected).replace(",", ".") == fold(got).replace(",", ".")


def judge(line: dict, result: ProductReply | None) -> dict[str, bool]:
    """The outcome flags of one labelled line."""
    question = result.question if result else None
    slug_ok = bool(question and line.get("slug") and question.slug == line["slug"])
    attribute_ok = bool(question and line.get("attribute") and question.attribute
                        and question.attribute.value == line["attribute"])
    answered = bool(result and result.text is not None)
    details_ok = True
    if question and line.get("colour"):
        details_ok = _same_colour(line["colour"], question.colour)
    if question and line.get("size"):
        details_ok = details_ok and _same_size(line["size"], question.size)
    expected_answer = line.get("answerable", False) and line.get("kind") == "product"
    right = answered and expected_answer and slug_ok and attribute_ok and details_ok
    return {"product_found": slug_ok, "attribute_found": attribute_ok, "right": right,
            "wrong": answered and not right, "escalated": bool(result) and not answered,
            "faq": result is None}


def evaluate(path: Path, index: CatalogueIndex, today: date) -> tuple[dict, list[dict]]:
    lines = [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()
             if raw.strip()]
    totals = dict.fromkeys(("product_found", "attribute_found", "right", "wrong", "escalated",
                            "faq"), 0)
    timings, mistakes = [], []
    for line in lines:
        started = time.perf_counter()
        result = answer_question(line["text"], line["language"], line.get("page", ""), index, today)
        timings.append((time.perf_counter() - started) * 1000)
        flags = judge(line, result)
        for key, value in flags.items():
            totals[key] += value
        if flags["wrong"] or (line.get("answerable") and not flags["right"]):
            q = result.question if result else None
            mistakes.append({"line": line, "slug": q.slug if q else None,
                             "attribute": q.attribute.value if q and q.attribute else None,
                             "colour": q.colour if q else "", "size": q.size if q else "",
                             "text": result.text if result else None,
                             "reason": result.reason if result else "faq",
                             "wrong": flags["wrong"]})
    answerable = sum(1 for line in lines if line.get("answerable")
                     and line.get("kind") == "product")
    with_slug = sum(1 for line in lines if line.get("slug"))
    with_attribute = sum(1 for line in lines if line.get("attribute"))
    report = {
        "lines": len(lines), "answerable": answerable, **totals,
        "product_found_share": round(totals["product_found"] / max(with_slug, 1), 4),
        "attribute_found_share": round(totals["attribute_found"] / max(with_attribute, 1), 4),
        "right_share_of_answerable": round(totals["right"] / max(answerable, 1), 4),
        "wrong_share_of_all": round(totals["wrong"] / max(len(lines), 1), 4),
        "median_ms": round(statistics.median(timings), 3) if timings else None,
    }
    return report, mistakes


def markdown(reports: dict[str, dict], catalogue: str) -> str:
    rows = ["| file | lines | answerable | product found | attribute found | answered right "
            "(of answerable) | answered wrong (of all) | escalated | left to FAQ | median ms |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in reports.items():
        rows.append(
            f"| {name} | {r['lines']} | {r['answerable']} | {r['product_found']} "
            f"({r['product_found_share']:.0%}) | {r['attribute_found']} "
            f"({r['attribute_found_share']:.0%}) | {r['right']} "
            f"({r['right_share_of_answerable']:.1%}) | {r['wrong']} "
            f"({r['wrong_share_of_all']:.1%}) | {r['escalated']} | {r['faq']} | {r['median_ms']} |")
    return (f"# Product questions answered from the catalogue\n\nCatalogue: `{catalogue}`. "
            "Targets on the held-out half: answered right >= 80 % of the answerable questions, "
            "answered wrong <= 2 % of all.\n\n" + "\n".join(rows) + "\n")


def scale(products: list[Product], size: int, today: date) -> dict:
    """Index build time and per-question time (median and worst of 5 runs) over `size`
    products: the demo's, copied as "<title> Linea<n>" under slug "linea<n>-<slug>"."""
    slugs = sorted({p.slug for p in products})
    copies = []
    for n in range(max(1, size // len(slugs))):
        for product in products:
            copies.append(replace(product, slug=f"linea{n}-{product.slug}",
                                  title=f"{product.title} Linea{n}"))
    started = time.perf_counter()
    index = CatalogueIndex(copies)
    build_s = time.perf_counter() - started
    timings = {}
    for text, language, page in SCALE_QUESTIONS:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            answer_question(text, language, page, index, today)
            runs.append((time.perf_counter() - started) * 1000)
        timings[text] = {"median_ms": round(statistics.median(runs), 3),
                         "max_ms": round(max(runs), 3)}
    return {"products": len(index), "index_build_s": round(build_s, 1), "questions": timings}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=list(DEFAULT_FILES))
    parser.add_argument("--catalogue", default="data/demo_catalogue.csv")
    parser.add_argument("--today", default=TODAY.isoformat())
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--mistakes", action="store_true", help="print the misses of each file")
    parser.add_argument("--only", choices=sorted(ONLY), help="evaluate only this half")
    parser.add_argument("--scale", type=int, default=0,
                        help="also time questions against a catalogue of this many products")
    args = parser.parse_args(argv)
    if args.only:
        args.files = [ONLY[args.only]]
    started = time.perf_counter()
    index = CatalogueIndex(read_feed(ROOT / args.catalogue))
    build_ms = round((time.perf_counter() - started) * 1000, 1)
    reports = {}
    for name in args.files:
        path = Path(name) if Path(name).is_absolute() else ROOT / name
        report, mistakes = evaluate(path, index, date.fromisoformat(args.today))
        reports[path.name] = report
        print(path.name, json.dumps(report))
        if args.mistakes:
            for miss in mistakes:
                print("  ", json.dumps(miss, ensure_ascii=False))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"catalogue": args.catalogue, "today": args.today, "index_build_ms": build_ms,
              "files": reports}
    if args.scale:
        result["scale"] = scale(read_feed(ROOT / args.catalogue), args.scale,
                                date.fromisoformat(args.today))
        print("scale", json.dumps(result["scale"]))
    (out / "products.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / "products.md").write_text(markdown(reports, args.catalogue), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
