"""What other packages read from the catalogue (`catalogue.repository`: the marketing
dashboard names the products customers asked about): `catalogue_version` is an int, and
`product` returns a frozen `Product` with the title and link the dashboard shows, or None."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from catalogue.importer import import_products
from catalogue.records import Product, Variant
from catalogue.repository import catalogue_version, product
from core import session_scope

BAG = Product(slug="borsa-tote", language="it", title="Borsa tote in pelle",
              link="https://shop.example/borsa-tote",
              variants=(Variant("T-1", colour="nero", price=Decimal("129.00")),))


def test_the_product_record_is_frozen_and_has_what_the_dashboard_shows():
    assert Product.__dataclass_params__.frozen
    assert {"slug", "language", "title", "link"} <= {f.name for f in dataclasses.fields(Product)}


def test_the_read_functions_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        assert catalogue_version(session=session) == 0
        assert product("borsa-tote", "it", session=session) is None
        import_products([BAG], session=session, source="contract")
    with session_scope(database_url) as session:
        version = catalogue_version(session=session)
        assert isinstance(version, int) and version > 0
        found = product("borsa-tote", "it", session=session)
        assert (found.title, found.link) == (BAG.title, BAG.link)
        assert product("borsa-tote", "en", session=session) is None
