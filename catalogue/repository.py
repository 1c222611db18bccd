"""Reading the catalogue: frozen `Product` records out of the tables, and the catalogue
version that caches compare to know when to rebuild.

Rows are read with two plain SELECTs (products, then variants in feed order), not as ORM
objects: the whole catalogue of a 100k-product shop loads in seconds and nothing
attached to a session leaves the package.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalogue.limits import paused_gc
from catalogue.models import CatalogueImport, CatalogueProduct, CatalogueVariant
from catalogue.records import Availability, Dimensions, Product, Variant

# Core columns, not ORM attributes: rows come back as tuples without the ORM's per-row
# bookkeeping (a third faster on a 100k catalogue).
_P = CatalogueProduct.__table__.c
_V = CatalogueVariant.__table__.c
_PRODUCT_COLUMNS = (_P.id, _P.slug, _P.language, _P.title, _P.description, _P.category,
                    _P.material, _P.care, _P.link, _P.currency, _P.outer_length, _P.outer_width,
                    _P.outer_height, _P.inner_length, _P.inner_width, _P.inner_height)
_VARIANT_COLUMNS = (_V.product_id, _V.sku, _V.colour, _V.size, _V.price_cents,
                    _V.sale_price_cents, _V.availability, _V.restock)


def catalogue_version(*, session: Session) -> int:
    """The id of the latest import that changed something; 0 for an empty catalogue."""
    changed = (CatalogueImport.added + CatalogueImport.changed + CatalogueImport.removed) > 0
    return session.scalar(select(func.coalesce(func.max(CatalogueImport.id), 0)).where(changed))


def load_products(*, session: Session, language: str | None = None) -> list[Product]:
    """Every product (of one language, or all), by language and slug; variants in feed order."""
    return list(stored_products(session=session, language=language).values())


def product(slug: str, language: str, *, session: Session) -> Product | None:
    """One product as shown in one language, or None (never imported, or removed since)."""
    found = _read(session, (_P.slug == slug, _P.language == language))
    return next(iter(found.values()), None)


def products_named(slug: str, *, session: Session) -> list[Product]:
    """The product with this slug in every language it is shown in."""
    return list(_read(session, (_P.slug == slug,)).values())


def stored_products(*, session: Session, language: str | None = None,
                    languages: Iterable[str] | None = None) -> dict[int, Product]:
    """Products by their row id (what the importer diffs against)."""
    where = []
    if language is not None:
        where.append(_P.language == language)
    if languages is not None:
        where.append(_P.language.in_(list(languages)))
    return _read(session, tuple(where))


def _read(session: Session, where: tuple) -> dict[int, Product]:
    with paused_gc():
        return _records(session, where)


def _records(session: Session, where: tuple) -> dict[int, Product]:
    rows = session.execute(select(*_PRODUCT_COLUMNS).where(*where)
                           .order_by(_P.language, _P.slug)).all()
    variants: dict[int, list[Variant]] = defaultdict(list)
    query = (select(*_VARIANT_COLUMNS)
             .join(CatalogueProduct.__table__, _P.id == _V.product_id).where(*where)
             .order_by(_V.product_id, _V.position))
    for v in session.execute(query) if rows else ():
        variants[v.product_id].append(Variant(
            sku=v.sku, colour=v.colour, size=v.size, price=cents_to_price(v.price_cents),
            sale_price=None if v.sale_price_cents is None else cents_to_price(v.sale_price_cents),
            availability=Availability(v.availability), restock=v.restock))
    return {row.id: Product(
        slug=row.slug, language=row.language, title=row.title, description=row.description,
        category=row.category, material=row.material, care=row.care, link=row.link,
        currency=row.currency,
        outer=Dimensions(row.outer_length, row.outer_width, row.outer_height),
        inner=Dimensions(row.inner_length, row.inner_width, row.inner_height),
        variants=tuple(variants.get(row.id, ())),
    ) for row in rows}


def cents_to_price(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def price_to_cents(price: Decimal) -> int:
    return int(price.scaleb(2).to_integral_value())
