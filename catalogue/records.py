"""What the rest of the product knows of a shop's catalogue: frozen records, one per
product and language, built by the feed readers and the repository, read by the question
understanding and the answers. No ORM objects leave the catalogue package.

The column set of the CSV feed follows the Google Merchant product data specification
(`id`, `item_group_id`, `title`, `price`, `availability`, `availability_date`, `color`,
`size`, `material`, `product_length`...), so a shop exports one file for both; the few
columns Merchant has no name for are ours (`language`, `care_instructions`, `inner_*`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


class Availability(enum.StrEnum):
    """Merchant's availability values (spaces in the feed become underscores)."""

    IN_STOCK = "in_stock"
    OUT_OF_STOCK = "out_of_stock"
    PREORDER = "preorder"
    BACKORDER = "backorder"


class Attribute(enum.StrEnum):
    """What a customer asks about a product."""

    AVAILABILITY = "availability"  # is it (in this colour / size) in stock
    RESTOCK = "restock"  # when does it come back
    COLOURS = "colours"  # which colours are there
    SIZES = "sizes"  # which sizes are there
    PRICE = "price"
    MATERIAL = "material"
    CARE = "care"  # washing, cleaning
    DIMENSIONS = "dimensions"  # how big is it
    FITS = "fits"  # does a 15-inch laptop / an A4 folder go in it


@dataclass(frozen=True, slots=True)
class Variant:
    """One buyable item: a colour and/or a size of a product (a feed row)."""

    sku: str  # the feed's `id`
    colour: str = ""
    size: str = ""
    price: Decimal = Decimal(0)
    sale_price: Decimal | None = None
    availability: Availability = Availability.IN_STOCK
    restock: date | None = None  # `availability_date`: when an out-of-stock item returns


@dataclass(frozen=True, slots=True)
class Dimensions:
    """Centimetres; None where the feed does not say."""

    length: float | None = None
    width: float | None = None
    height: float | None = None

    @property
    def known(self) -> bool:
        return None not in (self.length, self.width, self.height)


@dataclass(frozen=True, slots=True)
class Product:
    """A product as shown in one language: the feed rows sharing an `item_group_id`
    (or one row's `id` when it has none). The same slug in two languages is the same
    product, so a page's slug finds it whatever language the customer writes in."""

    slug: str  # item_group_id, else id: what `data-page="product:<slug>"` names
    language: str  # "it" or "en"
    title: str
    description: str = ""  # plain text (HTML in a feed is stripped on import)
    category: str = ""  # the feed's product_type, e.g. "Borse > Tote"
    material: str = ""
    care: str = ""  # care_instructions
    link: str = ""
    currency: str = "EUR"
    outer: Dimensions = Dimensions()  # product_length / _width / _height
    inner: Dimensions = Dimensions()  # inner_length / _width / _height (bags: what fits)
    variants: tuple[Variant, ...] = ()

    @property
    def colours(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.colour for v in self.variants if v.colour))

    @property
    def sizes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.size for v in self.variants if v.size))
