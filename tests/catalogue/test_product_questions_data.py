"""The labelled product questions (data/product_questions_*.jsonl) are well formed and
agree with the demo catalogue. The benchmark trusts these labels, so a label that the
catalogue contradicts (an unknown slug, a colour the shop does not spell that way, a care
question marked answerable on a product without care notes) would silently skew its
numbers; these tests catch that when the catalogue or the set is edited."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from catalogue.feeds import read_feed
from catalogue.records import Attribute, Availability, Product

DATA = Path(__file__).resolve().parents[2] / "data"
FILES = {"dev": DATA / "product_questions_dev.jsonl",
         "holdout": DATA / "product_questions_holdout.jsonl"}
# Each file is measured on its own, so each must be large enough for a 2 % bound to mean
# something (issue 14 asks for at least 300 questions in all).
MINIMUM = {"dev": 800, "holdout": 300}
REQUIRED = {"text": str, "language": str, "page": str, "kind": str, "answerable": bool}
OPTIONAL = {"colour", "size", "note"}
PAGE = re.compile(r"^(|cart|category:[a-z0-9-]+|product:[a-z0-9-]+)$")


def _load(path: Path) -> list[dict]:
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{path.name} line {number}: not JSON ({exc})")
        assert isinstance(line, dict), f"{path.name} line {number}: not an object"
        line["_where"] = f"{path.name} line {number}"
        lines.append(line)
    return lines


@pytest.fixture(scope="module")
def sets() -> dict[str, list[dict]]:
    return {name: _load(path) for name, path in FILES.items()}


@pytest.fixture(scope="module")
def everything(sets) -> list[dict]:
    return sets["dev"] + sets["holdout"]


@pytest.fixture(scope="module")
def catalogue() -> dict[tuple[str, str], Product]:
    return {(p.slug, p.language): p for p in read_feed(DATA / "demo_catalogue.csv")}


def _key(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def test_every_line_has_the_documented_fields_and_types(everything):
    for line in everything:
        where = line["_where"]
        for field, kind in REQUIRED.items():
            assert isinstance(line.get(field), kind), f"{where}: {field} missing or not {kind}"
        assert "slug" in line and "attribute" in line, f"{where}: slug / attribute missing"
        assert set(line) - set(REQUIRED) - {"slug", "attribute", "_where"} <= OPTIONAL, where
        assert line["text"].strip() and len(line["text"]) <= 300, where
        assert line["language"] in ("it", "en"), where
        assert line["kind"] in ("product", "faq"), where
        assert PAGE.match(line["page"]), f"{where}: page {line['page']!r}"


def test_faq_lines_are_left_to_the_faq(everything):
    for line in (x for x in everything if x["kind"] == "faq"):
        assert line["slug"] is None and line["attribute"] is None, line["_where"]
        assert line["answerable"] is False, line["_where"]
        assert "colour" not in line and "size" not in line, line["_where"]


def test_labels_name_real_products_attributes_colours_and_sizes(everything, catalogue):
    slugs = {slug for slug, _ in catalogue}
    colours = {lang: {c for (_, lg), p in catalogue.items() if lg == lang for c in p.colours}
               for lang in ("it", "en")}
    sizes = {lang: {s for (_, lg), p in catalogue.items() if lg == lang for s in p.sizes}
             for lang in ("it", "en")}
    for line in everything:
        where, lang = line["_where"], line["language"]
        if line["page"].startswith("product:"):
            assert line["page"].removeprefix("product:") in slugs, f"{where}: page slug"
        if line["slug"] is not None:
            assert line["slug"] in slugs, f"{where}: unknown slug {line['slug']!r}"
        if line["attribute"] is not None:
            assert line["attribute"] in {a.value for a in Attribute}, where
        if "colour" in line:
            assert line["colour"] in colours[lang], f"{where}: colour {line['colour']!r}"
        if "size" in line:
            assert line["size"] in sizes[lang], f"{where}: size {line['size']!r}"
        if line["answerable"]:
            assert line["slug"] and line["attribute"], f"{where}: answerable needs both"


def _data_answers(product: Product, line: dict) -> bool | None:
    """Whether the catalogue holds the answer, for the attributes where that follows
    from the data alone (None: the labeller's judgement, e.g. what a material names)."""
    attribute = line["attribute"]
    if attribute == Attribute.CARE:
        return bool(product.care)
    if attribute == Attribute.FITS:
        return product.inner.known
    if attribute == Attribute.DIMENSIONS:
        outer = product.outer
        return any(x is not None for x in (outer.length, outer.width, outer.height))
    if attribute == Attribute.RESTOCK:
        out = [v for v in product.variants if v.availability != Availability.IN_STOCK
               and line.get("colour", v.colour) == v.colour and line.get("size", v.size) == v.size]
        assert out, f"{line['_where']}: restock asked of an item that is in stock"
        return len({v.restock for v in out}) == 1 and out[0].restock is not None
    if attribute in (Attribute.COLOURS, Attribute.SIZES, Attribute.PRICE,
                     Attribute.AVAILABILITY):
        return True  # every demo product has variants with prices and stock
    return None


def test_answerable_agrees_with_what_the_catalogue_holds(everything, catalogue):
    checked = 0
    for line in everything:
        if line["kind"] != "product" or line["slug"] is None or line["attribute"] is None:
            assert line["answerable"] is False, line["_where"]
            continue
        expected = _data_answers(catalogue[line["slug"], line["language"]], line)
        if expected is not None:
            assert line["answerable"] is expected, f"{line['_where']}: {line['text']!r}"
            checked += 1
    assert checked > 200


def test_no_text_is_twice_within_or_across_the_files(sets):
    seen: dict[str, str] = {}
    repeated = []
    for line in (x for lines in sets.values() for x in lines):
        key = _key(line["text"])
        if key in seen:
            repeated.append(f"{line['_where']} repeats {seen[key]}: {line['text']!r}")
        seen.setdefault(key, line["_where"])
    assert not repeated, "\n".join(repeated)


@pytest.mark.parametrize("name", list(FILES))
def test_each_file_alone_has_the_documented_size_and_proportions(sets, name):
    """Each file is measured on its own (the held-out file is the one the issue's
    thresholds apply to), so each must look like the traffic it stands for."""
    lines = sets[name]
    assert len(lines) >= MINIMUM[name]
    italian = sum(x["language"] == "it" for x in lines) / len(lines)
    assert 0.55 <= italian <= 0.65, f"{name}: {italian:.0%} Italian"
    faq = sum(x["kind"] == "faq" for x in lines) / len(lines)
    assert 0.10 <= faq <= 0.20, f"{name}: {faq:.0%} faq"
    product = [x for x in lines if x["kind"] == "product"]
    answerable = sum(x["answerable"] for x in product) / len(product)
    assert 0.40 <= answerable <= 0.60, f"{name}: {answerable:.0%} answerable"
    assert {x["attribute"] for x in product} >= {a.value for a in Attribute}, name
    assert any(x["attribute"] is None for x in product), name
    assert any(x["slug"] is None for x in product), name
    for language in ("it", "en"):
        assert any(x["language"] == language and x["kind"] == "faq" for x in lines), name
        assert any(x["language"] == language and x["answerable"] for x in product), name
