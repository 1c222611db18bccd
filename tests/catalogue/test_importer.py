"""Importing: the feed replaces each language's catalogue, diffs are counted right, the
same file twice changes nothing, and a failure leaves the previous catalogue intact."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalogue import importer
from catalogue.errors import ImportRejected
from catalogue.feeds import read_feed
from catalogue.importer import import_products
from catalogue.models import CatalogueImport, CatalogueVariant
from catalogue.records import Availability, Product, Variant
from catalogue.repository import catalogue_version, load_products, product
from core import session_scope

FIXTURES = Path(__file__).parent / "fixtures"


def item(slug: str, language: str = "it", *skus: str, price: str = "10") -> Product:
    variants = tuple(Variant(sku, price=Decimal(price)) for sku in (skus or (slug.upper(),)))
    return Product(slug=slug, language=language, title=slug.title(), variants=variants)


def run(url: str, products, **options):
    with session_scope(url) as session:
        return import_products(products, session=session, **options)


def stored(url: str) -> list[Product]:
    with session_scope(url) as session:
        return load_products(session=session)


def version(url: str) -> int:
    with session_scope(url) as session:
        return catalogue_version(session=session)


def test_reimporting_the_same_feed_changes_nothing_and_keeps_the_version(database_url):
    feed = read_feed(FIXTURES / "merchant_rss.xml")
    first = run(database_url, feed, source="merchant_rss.xml")
    assert (first.added, first.changed, first.removed, first.unchanged) == (2, 0, 0, 0)
    assert first.version == 1 and first.languages == ("it",)
    again = run(database_url, read_feed(FIXTURES / "merchant_rss.xml"), source="merchant_rss.xml")
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, 2)
    assert again.version == 1 == version(database_url)
    assert stored(database_url) == sorted(feed, key=lambda p: p.slug)
    with session_scope(database_url) as session:  # both imports are on record
        assert session.scalar(select(func.count()).select_from(CatalogueImport)) == 2
    with pytest.raises(FrozenInstanceError):
        again.added = 5


def test_added_changed_removed_unchanged_and_other_languages_untouched(database_url):
    run(database_url, [item("a"), item("b"), item("c"), item("a", "en")])
    v1 = version(database_url)
    report = run(database_url, [item("a"), item("b", price="12"), item("d")])
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 1)
    assert report.version > v1
    assert [(p.slug, p.language) for p in stored(database_url)] == [
        ("a", "en"), ("a", "it"), ("b", "it"), ("d", "it")]  # en was not in the feed: kept
    with session_scope(database_url) as session:
        assert product("b", "it", session=session).variants[0].price == Decimal("12.00")
        assert product("c", "it", session=session) is None  # removed: a chat finds nothing


def test_a_changed_variant_field_is_a_change(database_url):
    run(database_url, [item("a", "it", "A1", "A2")])
    changed = item("a", "it", "A1", "A2")
    changed = replace(changed, variants=(changed.variants[0], replace(
        changed.variants[1], availability=Availability.OUT_OF_STOCK)))
    assert run(database_url, [changed]).changed == 1
    assert stored(database_url) == [changed]
    reordered = replace(changed, variants=changed.variants[::-1])
    assert run(database_url, [reordered]).changed == 1
    assert [v.sku for v in stored(database_url)[0].variants] == ["A2", "A1"]


def test_a_sku_moving_to_another_product_in_one_import(database_url):
    run(database_url, [item("a", "it", "X1", "X2"), item("b", "it", "Y1")])
    run(database_url, [item("a", "it", "X1"), item("b", "it", "Y1", "X2")])
    assert [[v.sku for v in p.variants] for p in stored(database_url)] == [["X1"], ["Y1", "X2"]]


def test_a_failure_midway_leaves_the_previous_catalogue_intact(database_url, monkeypatch):
    before = [item("a"), item("b", "it", "B1", "B2")]
    run(database_url, before)
    v1 = version(database_url)

    def broken(session, products):
        raise RuntimeError("disk full")  # after products were deleted, updated and inserted

    monkeypatch.setattr(importer, "_insert_variants", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run(database_url, [item("b", price="99"), item("c")])
    assert stored(database_url) == before
    assert version(database_url) == v1
    with session_scope(database_url) as session:
        assert session.scalar(select(func.count()).select_from(CatalogueVariant)) == 3


def test_dry_run_counts_but_stores_nothing(database_url):
    run(database_url, [item("a")])
    report = run(database_url, [item("b")], dry_run=True)
    assert (report.added, report.removed, report.dry_run) == (1, 1, True)
    assert "dry run" in str(report)
    assert [p.slug for p in stored(database_url)] == ["a"]


@pytest.mark.parametrize(("products", "words"), [
    ([], "no products"),
    ([item("a"), item("a")], "appears twice"),
    ([item("a", "it", "S"), item("b", "it", "S")], "sku 'S' is used twice"),
    ([item("a", "it", "S", "S")], "sku 'S' is used twice"),
    ([replace(item("a"), title="x" * 301)], "title is longer than 300"),
    ([replace(item("a"), variants=())], "no variants"),
    ([item("a", price="-1")], "price out of range"),
    ([item("a", price="1.005")], "finer than cents"),
])
def test_products_breaking_a_rule_are_rejected_and_nothing_is_written(database_url,
                                                                      products, words):
    run(database_url, [item("keep")])
    with pytest.raises(ImportRejected, match=words):
        run(database_url, products)
    assert [p.slug for p in stored(database_url)] == ["keep"]


def test_the_same_sku_in_two_languages_is_allowed(database_url):
    run(database_url, [item("a", "it", "S"), item("a", "en", "S")])
    assert len(stored(database_url)) == 2


def test_imports_on_postgresql_take_turns(database_url):
    """Two imports at once (an Italian and an English feed) would otherwise commit in any
    order, and the one with the lower id committing last would never move the version the
    running processes watch: an import holds a lock until it commits."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time already")
    from sqlalchemy import create_engine, text

    other = create_engine(database_url)
    try:
        with session_scope(database_url) as session:
            import_products([item("a")], session=session)  # not committed yet
            with other.connect() as conn:
                assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": importer._IMPORT_LOCK}).scalar() is False
        with other.connect() as conn:  # committed: the next import may go
            assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                {"k": importer._IMPORT_LOCK}).scalar() is True
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": importer._IMPORT_LOCK})
    finally:
        other.dispose()
