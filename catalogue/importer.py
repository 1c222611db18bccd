"""Importing products: the feed replaces the whole catalogue of each language it holds,
in the caller's transaction (all or nothing, like the knowledge base's import).

A product is matched by (language, slug): one in the feed and not stored is added; one
stored and not in the feed is removed (a conversation about it then finds no product);
one whose record differs is changed (its variants rewritten); the rest is left alone.
Every import is recorded; only one that changed something moves the catalogue version,
so re-importing the same file changes nothing and caches stay valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from catalogue import limits
from catalogue.errors import ImportRejected
from catalogue.models import CatalogueImport, CatalogueProduct, CatalogueVariant
from catalogue.records import Product
from catalogue.repository import catalogue_version, price_to_cents, stored_products
from catalogue.values import MAX_PRICE
from core import utcnow

_IMPORT_LOCK = 0x0CA7_A106  # PostgreSQL advisory lock key of "importing the catalogue"
_CHUNK = 500  # ids per IN (...) list: below every backend's bound-parameter limit
_BATCH = 5_000  # products per INSERT batch: bounded memory for row dictionaries
_TEXT_CAPS = {"slug": limits.SLUG, "title": limits.TITLE, "description": limits.DESCRIPTION,
              "category": limits.CATEGORY, "material": limits.MATERIAL, "care": limits.CARE,
              "link": limits.LINK}


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, with dry_run, would do); counts are products."""

    source: str
    added: int
    changed: int
    removed: int
    unchanged: int
    version: int  # the catalogue version after the import
    languages: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def __str__(self) -> str:
        what = "would be" if self.dry_run else "catalogue version"
        tail = "(dry run: nothing stored)" if self.dry_run else f"{what} {self.version}"
        return (f"{self.source or 'import'} [{', '.join(self.languages)}]: {self.added} added, "
                f"{self.changed} changed, {self.removed} removed, {self.unchanged} unchanged; "
                f"{tail}")


def import_products(products: Sequence[Product], *, session: Session, source: str = "",
                    dry_run: bool = False) -> ImportReport:
    """Replace the catalogue of every language in `products` with them; ImportRejected
    (nothing written) when they break a rule. With dry_run only the diff is computed."""
    problems = check_products(products)
    if problems:
        raise ImportRejected(problems)
    if not dry_run and session.get_bind().dialect.name == "postgresql":
        # Imports one at a time: the diff reads what the previous import wrote, and import
        # ids grow in commit order, so the version every process watches never goes back.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})
    languages = tuple(sorted({p.language for p in products}))
    stored = {(p.language, p.slug): (row_id, p) for row_id, p in
              stored_products(session=session, languages=languages).items()}
    added: list[Product] = []
    changed: list[tuple[int, Product]] = []
    unchanged = 0
    for item in products:
        old = stored.pop((item.language, item.slug), None)
        if old is None:
            added.append(item)
        elif old[1] != item:
            changed.append((old[0], item))
        else:
            unchanged += 1
    removed = [row_id for row_id, _ in stored.values()]
    source = source[: limits.SOURCE]
    if dry_run:
        return ImportReport(source, len(added), len(changed), len(removed), unchanged,
                            catalogue_version(session=session), languages, dry_run=True)
    if added or changed or removed:
        _write(session, languages, added, changed, removed)
    session.add(CatalogueImport(source=source, languages=",".join(languages), added=len(added),
                                changed=len(changed), removed=len(removed), unchanged=unchanged))
    session.flush()
    return ImportReport(source, len(added), len(changed), len(removed), unchanged,
                        catalogue_version(session=session), languages)


def check_products(products: Sequence[Product]) -> list[str]:
    """What would break a table's rule: duplicates, lengths, prices (a feed read by
    `read_feed` passes; records built elsewhere may not)."""
    if not products:
        return ["no products: an empty feed would empty the catalogue; nothing imported"]
    problems: list[str] = []
    slugs: set[tuple[str, str]] = set()
    skus: dict[tuple[str, str], tuple[str, int]] = {}
    for p in products:
        name = f"product {p.slug[:60]!r} ({p.language[:8]})"
        if (p.language, p.slug) in slugs:
            problems.append(f"{name}: appears twice")
        slugs.add((p.language, p.slug))
        if not p.slug.strip() or not p.title.strip():
            problems.append(f"{name}: slug and title must not be empty")
        if not (2 <= len(p.language) <= limits.LANGUAGE) or len(p.currency) != 3:
            problems.append(f"{name}: language {p.language!r} or currency {p.currency!r} invalid")
        problems += [f"{name}: {field} is longer than {cap:,} characters"
                     for field, cap in _TEXT_CAPS.items() if len(getattr(p, field)) > cap]
        for index, v in enumerate(p.variants):
            first = skus.setdefault((p.language, v.sku), (p.slug, index))
            if first != (p.slug, index):
                problems.append(f"{name}: sku {v.sku!r} is used twice (also by {first[0]!r})")
            if not v.sku or len(v.sku) > limits.SKU or len(v.colour) > limits.COLOUR \
                    or len(v.size) > limits.SIZE:
                problems.append(f"{name}: sku {v.sku[:60]!r}: empty sku or a field too long")
            prices = [v.price] + ([v.sale_price] if v.sale_price is not None else [])
            if any(not 0 <= price < MAX_PRICE or price != round(price, 2) for price in prices):
                problems.append(f"{name}: sku {v.sku!r}: price out of range or finer than cents")
        if not p.variants:
            problems.append(f"{name}: has no variants (every feed row is one)")
    return problems


def _write(session: Session, languages: tuple[str, ...], added: list[Product],
           changed: list[tuple[int, Product]], removed: list[int]) -> None:
    """Deletes first, so that a SKU moving to another product never collides with itself."""
    rewritten = [row_id for row_id, _ in changed] + removed
    for start in range(0, len(rewritten), _CHUNK):
        chunk = rewritten[start:start + _CHUNK]
        session.execute(delete(CatalogueVariant.__table__)
                        .where(CatalogueVariant.product_id.in_(chunk)))
    for start in range(0, len(removed), _CHUNK):
        session.execute(delete(CatalogueProduct.__table__)
                        .where(CatalogueProduct.id.in_(removed[start:start + _CHUNK])))
    now = utcnow()
    if changed:
        session.execute(update(CatalogueProduct),
                        [{"id": row_id, **_product_row(p, now)} for row_id, p in changed])
    for start in range(0, len(added), _BATCH):
        session.execute(insert(CatalogueProduct.__table__),
                        [_product_row(p, now) for p in added[start:start + _BATCH]])
    ids = dict(((language, slug), row_id) for row_id, language, slug in session.execute(
        select(CatalogueProduct.id, CatalogueProduct.language, CatalogueProduct.slug)
        .where(CatalogueProduct.language.in_(languages))))
    _insert_variants(session, [(ids[(p.language, p.slug)], p)
                               for p in added + [p for _, p in changed]])


def _insert_variants(session: Session, products: list[tuple[int, Product]]) -> None:
    for start in range(0, len(products), _BATCH):
        rows = [{"product_id": product_id, "position": position, "language": p.language,
                 "sku": v.sku, "colour": v.colour, "size": v.size,
                 "price_cents": price_to_cents(v.price),
                 "sale_price_cents": None if v.sale_price is None else price_to_cents(v.sale_price),
                 "availability": v.availability, "restock": v.restock}
                for product_id, p in products[start:start + _BATCH]
                for position, v in enumerate(p.variants)]
        session.execute(insert(CatalogueVariant.__table__), rows)


def _product_row(p: Product, now) -> dict:
    return {"slug": p.slug, "language": p.language, "title": p.title,
            "description": p.description, "category": p.category, "material": p.material,
            "care": p.care, "link": p.link, "currency": p.currency,
            "outer_length": p.outer.length, "outer_width": p.outer.width,
            "outer_height": p.outer.height, "inner_length": p.inner.length,
            "inner_width": p.inner.width, "inner_height": p.inner.height, "updated_at": now}
