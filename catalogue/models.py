"""Tables of the product catalogue.

A product is one slug in one language; its variants are the feed's rows. Prices are
integer cents: exact on SQLite and PostgreSQL alike. Every import is recorded in
`catalogue_imports`; the highest id of an import that changed something is the
catalogue version that caches compare. `ProductNote` holds answers learned for one
product (written and read by `catalogue.notes`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalogue import limits
from catalogue.records import Availability
from core import Base, string_enum, utcnow


class CatalogueProduct(Base):
    __tablename__ = "catalogue_products"
    __table_args__ = (UniqueConstraint("slug", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(limits.SLUG))  # indexed by the unique pair
    language: Mapped[str] = mapped_column(String(limits.LANGUAGE), index=True)
    title: Mapped[str] = mapped_column(String(limits.TITLE))
    description: Mapped[str] = mapped_column(Text, default="")  # plain text
    category: Mapped[str] = mapped_column(String(limits.CATEGORY), default="")
    material: Mapped[str] = mapped_column(String(limits.MATERIAL), default="")
    care: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(limits.LINK), default="")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # centimetres; NULL where the feed does not say
    outer_length: Mapped[float | None] = mapped_column(Float, nullable=True)
    outer_width: Mapped[float | None] = mapped_column(Float, nullable=True)
    outer_height: Mapped[float | None] = mapped_column(Float, nullable=True)
    inner_length: Mapped[float | None] = mapped_column(Float, nullable=True)
    inner_width: Mapped[float | None] = mapped_column(Float, nullable=True)
    inner_height: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    variants: Mapped[list[CatalogueVariant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", passive_deletes=True,
        order_by="CatalogueVariant.position")


class CatalogueVariant(Base):
    """A feed row. `language` repeats the product's so that a SKU is unique per language
    (the Italian and English feeds of one shop share their ids)."""

    __tablename__ = "catalogue_variants"
    __table_args__ = (UniqueConstraint("language", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_products.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the feed's order within the product
    language: Mapped[str] = mapped_column(String(limits.LANGUAGE))
    sku: Mapped[str] = mapped_column(String(limits.SKU))
    colour: Mapped[str] = mapped_column(String(limits.COLOUR), default="")
    size: Mapped[str] = mapped_column(String(limits.SIZE), default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    sale_price_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    availability: Mapped[Availability] = mapped_column(
        string_enum(Availability), default=Availability.IN_STOCK)
    restock: Mapped[date | None] = mapped_column(Date, nullable=True)

    product: Mapped[CatalogueProduct] = relationship(back_populates="variants")


class CatalogueImport(Base):
    """One import: what it did. Its id is the catalogue version when it changed something."""

    __tablename__ = "catalogue_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(String(limits.SOURCE), default="")
    languages: Mapped[str] = mapped_column(String(100), default="")  # "en,it"
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)


class ProductNote(Base):
    """An operator's answer learned for one product (by slug, so it survives re-imports
    and a product's removal and return); never used for another product."""

    __tablename__ = "catalogue_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), index=True)
    language: Mapped[str] = mapped_column(String(8))
    attribute: Mapped[str] = mapped_column(String(20), default="")
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="published")
