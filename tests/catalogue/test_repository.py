"""Reading the catalogue back: records equal to what was imported, the version, and the
tables equal to what migration 0007 creates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from catalogue.importer import import_products
from catalogue.records import Availability, Dimensions, Product, Variant
from catalogue.repository import catalogue_version, load_products, product, products_named
from core import session_scope
from core.db import Base

BAG = Product(
    slug="borsa-aurora", language="it", title="Borsa Aurora", description="Pelle.\n\nFodera.",
    category="Borse > Tote", material="pelle", care="Panno umido.", link="https://x.example/b",
    currency="EUR", outer=Dimensions(42.0, 14.5, 33.0), inner=Dimensions(40.0, None, 31.0),
    variants=(
        Variant("B-9", colour="nero", price=Decimal("189.00")),
        Variant("B-1", colour="cammello", size="unica", price=Decimal("1234.56"),
                sale_price=Decimal("999.99"), availability=Availability.OUT_OF_STOCK,
                restock=date(2026, 12, 15)),
    ),
)
BAG_EN = Product(slug="borsa-aurora", language="en", title="Aurora bag",
                 variants=(Variant("B-9", colour="black", price=Decimal("189")),))


def test_an_empty_catalogue(database_url):
    with session_scope(database_url) as session:
        assert catalogue_version(session=session) == 0
        assert load_products(session=session) == []
        assert product("borsa-aurora", "it", session=session) is None


def test_products_read_back_equal_to_what_was_imported(database_url):
    with session_scope(database_url) as session:
        import_products([BAG, BAG_EN], session=session, source="t")
    with session_scope(database_url) as session:
        assert load_products(session=session) == [BAG_EN, BAG]  # by language, then slug
        assert load_products(session=session, language="it") == [BAG]
        loaded = product("borsa-aurora", "it", session=session)
        assert products_named("borsa-aurora", session=session) == [BAG_EN, BAG]
        assert product("borsa-aurora", "de", session=session) is None
    assert loaded == BAG
    assert [v.sku for v in loaded.variants] == ["B-9", "B-1"]  # feed order, not sorted
    assert loaded.variants[1].price == Decimal("1234.56")
    assert str(loaded.variants[0].price) == "189.00"  # cents: exact, two decimals


def test_the_migrations_create_exactly_the_models(database_url):
    """Every package's tables, not only the catalogue's: a column or index added to a model
    without its migration (or the other way round) fails here."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"render_as_batch": database_url.startswith("sqlite")})
            diffs = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diffs == []
