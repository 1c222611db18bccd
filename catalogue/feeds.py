"""Reading a shop's product feed into `Product` records: all of it, or a `FeedError`
listing every problem with its line (XML: its item). Never a partial read.

Formats (`format=`, else from the suffix: .csv, .tsv/.txt, .xml):
  csv  a header row, then one row per variant; separated by commas, semicolons or tabs
       (detected from the header)
  tsv  Google Merchant's TSV export: the same columns, tab-separated
  xml  Google Merchant's XML: RSS 2.0 `<item>`s or Atom `<entry>`s with the `g:` namespace
       (http://base.google.com/ns/1.0); channel `<language>` / `xml:lang` give the language

Columns (Merchant's names; a `g:` prefix, case and spaces in the header are ignored):
  required  id, title, price, availability
  optional  item_group_id      rows sharing it (per language) form one product, its slug;
                               without it the row's id is the slug
            language           'it', 'en' (also 'it-IT'); else the `language=` argument
            description        HTML is stripped to plain text, paragraphs kept
            product_type       the shop's category, e.g. "Borse > Tote"
            link, material, care_instructions
            color, size        what tells one variant from another
            sale_price         same formats and currency as price
            availability_date  when an out-of-stock item returns: 2026-12-15 (or ISO 8601)
            product_length, product_width, product_height   outer size: "38 cm", "38"
                               (centimetres), "380 mm", "15 in"
            inner_length, inner_width, inner_height         inside size (bags: what fits)
  Other columns are ignored. Product-level fields come from the group's first row that
  has them; variants keep the feed's order.
Values: price "49.00 EUR", "49,00 EUR", "EUR 49", "€ 49", "1.234,56 EUR", "1,234.56 EUR"
(a bare number is EUR); availability "in stock", "out of stock", "preorder", "backorder"
(spaces or underscores). Caps: `catalogue.limits` (200 MiB, 500,000 rows, field lengths).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from catalogue import limits
from catalogue.errors import FeedError
from catalogue.feed_csv import RawRow, read_rows
from catalogue.feed_xml import read_items
from catalogue.records import Availability, Dimensions, Product, Variant
from catalogue.values import (
    parse_availability,
    parse_date,
    parse_language,
    parse_length,
    parse_price,
    plain_text,
)

FORMATS = ("csv", "tsv", "xml")
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xml": "xml"}
REQUIRED = ("id", "title", "price", "availability")
_CAPS = {"id": limits.SKU, "item_group_id": limits.SLUG, "title": limits.TITLE,
         "description": limits.RAW_DESCRIPTION, "product_type": limits.CATEGORY,
         "material": limits.MATERIAL, "care_instructions": limits.CARE, "link": limits.LINK,
         "color": limits.COLOUR, "size": limits.SIZE}
_OUTER = ("product_length", "product_width", "product_height")
_INNER = ("inner_length", "inner_width", "inner_height")
# product-level field -> feed column (text fields; dimensions are parsed separately)
_TEXT = {"title": "title", "category": "product_type", "material": "material",
         "care": "care_instructions", "link": "link"}


def read_feed(path: Path, *, format: str | None = None, language: str | None = None,
              encoding: str = "utf-8") -> list[Product]:
    """The products of a feed file, or FeedError with every problem and its line."""
    source = str(path)
    if not path.is_file():
        raise FeedError(source, ["cannot read the file: no such file, or it is a directory"])
    size = path.stat().st_size
    if size > limits.MAX_FILE_BYTES:
        raise FeedError(source, [f"the file is {size:,} bytes; the limit is "
                                 f"{limits.MAX_FILE_BYTES:,}: split the feed"])
    fmt = format or SUFFIXES.get(path.suffix.lower()) or _sniff(path)
    if fmt not in FORMATS:
        raise FeedError(source, [f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}"])
    if language is not None:
        try:
            language = parse_language(language)
        except ValueError as exc:
            raise FeedError(source, [str(exc)]) from None
    if fmt == "xml":
        utf8 = encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")
        xml_encoding = None if utf8 else encoding  # None: as the XML declaration says
        rows = read_items(path, encoding=xml_encoding)
    else:
        names, rows = read_rows(path, delimiter="\t" if fmt == "tsv" else None,
                                encoding=encoding)
        _check_columns(source, names)
    with limits.paused_gc():
        return build_products(rows, language=language, source=source)


def _sniff(path: Path) -> str:
    with path.open("rb") as stream:
        head = stream.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "xml" if head.startswith(b"<") else "csv"


def _check_columns(source: str, names: list[str]) -> None:
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        found = ", ".join(n for n in names if n) or "none"
        raise FeedError(source, [f"line 1: the header lacks the required column(s) "
                                 f"{', '.join(missing)} (found: {found})"])


@dataclass(slots=True)
class _Group:
    """The rows of one product while the feed is read."""

    slug: str
    language: str
    currency: str
    where: str
    fields: dict[str, object] = field(default_factory=dict)
    variants: list[Variant] = field(default_factory=list)


def build_products(rows: Iterable[RawRow], *, language: str | None = None,
                   source: str = "feed") -> list[Product]:
    """Group checked rows into products (per language and item_group_id), feed order."""
    problems: list[str] = []
    groups: dict[tuple[str, str], _Group] = {}
    skus: dict[tuple[str, str], str] = {}
    for row in rows:
        if len(problems) >= limits.MAX_PROBLEMS:
            problems.append(f"stopped after {limits.MAX_PROBLEMS} problems: the right file?")
            break
        if row.problem:
            problems.append(f"{row.where}: {row.problem}")
            continue
        parsed = _parse_row(row, language, problems)
        if (identity := _identity(row, language)) is not None:
            first = skus.setdefault(identity, row.where)
            if first != row.where:
                problems.append(f"{row.where}: id {identity[1]!r} is already on {first}")
                continue
        if parsed is None:
            continue
        group_key, currency, fields, variant = parsed
        group = groups.get(group_key)
        if group is None:
            group = groups[group_key] = _Group(group_key[1], group_key[0], currency, row.where)
        elif currency != group.currency:
            problems.append(f"{row.where}: price in {currency}, but {group.where} of the same "
                            f"product is in {group.currency}")
            continue
        for name, value in fields.items():
            if value not in ("", None) and group.fields.get(name) in ("", None):
                group.fields[name] = value
        group.variants.append(variant)
    if problems:
        raise FeedError(source, problems)
    if not groups:
        raise FeedError(source, ["the feed contains no products"])
    return [_product(g) for g in groups.values()]


def _identity(row: RawRow, default_language: str | None) -> tuple[str, str] | None:
    """(language, id) of a row, even one with other problems: duplicates are reported too."""
    sku = row.fields.get("id", "").strip()
    try:
        language = parse_language(row.fields.get("language", "")) if row.fields.get(
            "language", "").strip() else default_language
    except ValueError:
        return None
    return (language, sku) if sku and language else None


def _product(group: _Group) -> Product:
    f = group.fields
    return Product(
        slug=group.slug, language=group.language, title=str(f.get("title", "")),
        description=str(f.get("description", "")), category=str(f.get("category", "")),
        material=str(f.get("material", "")), care=str(f.get("care", "")),
        link=str(f.get("link", "")), currency=group.currency,
        outer=Dimensions(*(f.get(name) for name in _OUTER)),
        inner=Dimensions(*(f.get(name) for name in _INNER)),
        variants=tuple(group.variants),
    )


def _parse_row(row: RawRow, default_language: str | None, problems: list[str]):
    """((language, slug), currency, product-level fields, Variant), or None after adding
    this row's problems (all of them, not only the first)."""
    values = {name: text.strip() for name, text in row.fields.items()}
    errors: list[str] = [f"{name} is missing or empty" for name in REQUIRED if not values.get(name)]
    errors += [f"{name} is longer than {cap:,} characters"
               for name, cap in _CAPS.items() if len(values.get(name, "")) > cap]
    errors += [f"{name} contains a NUL character" for name, text in values.items() if "\0" in text]

    def checked(parse, name: str, *args):
        try:
            return parse(values[name], *args) if values.get(name) else None
        except ValueError as exc:
            errors.append(str(exc))
            return None

    language = checked(parse_language, "language") if values.get("language") else default_language
    if language is None and not values.get("language"):
        errors.append("no language: add a `language` column or pass --language it|en")
    price = checked(parse_price, "price")
    sale = checked(parse_price, "sale_price", price[1] if price else "EUR")
    if price and sale and (sale[1] != price[1] or sale[0] > price[0]):
        errors.append(f"sale_price {values['sale_price']!r} must be in {price[1]} and below price")
    availability = checked(parse_availability, "availability")
    restock = checked(parse_date, "availability_date")
    fields: dict[str, object] = {name: checked(parse_length, name) for name in _OUTER + _INNER}
    description = plain_text(values.get("description", ""))[: limits.DESCRIPTION + 1]
    if len(description) > limits.DESCRIPTION:
        errors.append(f"description is longer than {limits.DESCRIPTION:,} characters as text")
    if errors or language is None or price is None:
        problems.extend(f"{row.where}: {e}" for e in errors)
        return None
    fields |= {key: values.get(column, "") for key, column in _TEXT.items()}
    fields["description"] = description
    variant = Variant(sku=values["id"], colour=values.get("color", ""), size=values.get("size", ""),
                      price=price[0], sale_price=sale[0] if sale else None,
                      availability=availability or Availability.IN_STOCK, restock=restock)
    slug = values.get("item_group_id") or values["id"]
    return (language, slug), price[1], fields, variant


__all__ = ["FORMATS", "REQUIRED", "build_products", "read_feed"]
