"""The product catalogue: a shop's products and variants per language, read from the
feeds shops already export (CSV, Google Merchant XML and TSV), imported all or nothing,
and read back as frozen records for the questions customers ask before buying."""

from catalogue.errors import CatalogueError, FeedError, ImportRejected
from catalogue.feeds import read_feed
from catalogue.importer import ImportReport, import_products
from catalogue.records import Attribute, Availability, Dimensions, Product, Variant
from catalogue.repository import catalogue_version, load_products, product

__all__ = [
    "Attribute",
    "Availability",
    "CatalogueError",
    "Dimensions",
    "FeedError",
    "ImportReport",
    "ImportRejected",
    "Product",
    "Variant",
    "catalogue_version",
    "import_products",
    "load_products",
    "product",
    "read_feed",
]
