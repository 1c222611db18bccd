"""The "Domande sui prodotti" section of the before-buying page (/dashboard/purchase): per
product, the questions customers asked about it, how many the bot answered and how many it
passed to a person, and which attributes those were about; so the shop sees which product
pages lack information.

Counts come from analytics.product_questions. Names come from the shop's catalogue when
there is one, read for the products shown only (catalogue.repository.product: one indexed
read each), so the page costs the same for a catalogue of 40 products or 100,000. A missing
or empty catalogue, or one that fails to load, only costs the names: the slug is shown made
readable, as the rest of the dashboard does (analytics.dashboard.subject_name).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from analytics.dashboard import subject_name
from analytics.product_questions import ProductQuestions, ProductReport, product_questions
from core import SupportBotError, session_scope

if TYPE_CHECKING:
    from bot.console.dashboard_filters import View

log = logging.getLogger(__name__)

SHOWN = 30  # products in the table; the section says how many more were asked about
NAME_LANGUAGE, OTHER_LANGUAGE = "it", "en"  # the dashboard's language first


@dataclass(frozen=True)
class Titles:
    """What the catalogue says of the products shown: slug -> (title, shop link)."""

    version: int | None  # catalogue_version: 0 empty, None when it could not be read
    by_slug: dict[str, tuple[str, str]]

    @property
    def available(self) -> bool:
        return bool(self.version)


@dataclass(frozen=True)
class ProductRow:
    slug: str
    name: str  # the catalogue's title, else the slug made readable
    stat: ProductQuestions
    questions_url: str  # the questions asked on its page (the dashboard's drill-down)
    shop_url: str = ""  # its page in the shop, when the catalogue has an http(s) link
    removed: bool = False  # asked about, but no longer in the catalogue


@dataclass(frozen=True)
class ProductSection:
    rows: tuple[ProductRow, ...]
    report: ProductReport
    catalogue: bool  # the shop has imported a catalogue (and it could be read)

    @property
    def more(self) -> int:
        """Products asked about but not in the table."""
        return max(0, self.report.product_count - len(self.rows))


def catalogue_titles(url: str, slugs: list[str]) -> Titles:
    """The titles (Italian first) and shop links of `slugs`: one indexed read per product
    shown, whatever the size of the catalogue, and never stale after an import."""
    try:
        from catalogue.repository import catalogue_version, product
    except ImportError:  # a build without the catalogue package
        return Titles(None, {})
    by_slug: dict[str, tuple[str, str]] = {}
    try:
        with session_scope(url) as session:
            version = catalogue_version(session=session)
            for slug in slugs if version else ():
                found = (product(slug, NAME_LANGUAGE, session=session)
                         or product(slug, OTHER_LANGUAGE, session=session))
                if found is not None and found.title:
                    by_slug[slug] = (found.title, _web_link(found.link))
    except (SQLAlchemyError, SupportBotError) as exc:  # no catalogue tables yet, a bad row
        log.warning("dashboard: product names unavailable, showing slugs (%s)", exc)
        return Titles(None, {})
    return Titles(version, by_slug)


def _web_link(link: str) -> str:
    """Only a plain web address becomes a link: a feed's `javascript:` is text, not a link."""
    link = (link or "").strip()
    return link if link.lower().startswith(("https://", "http://")) and len(link) <= 2000 else ""


def product_section(view: View, url: str, *, session: Session, shown: int = SHOWN
                    ) -> ProductSection:
    """The section's figures for the page's period and filters (read in the page's
    `session`), with names (read from `url`)."""
    report = product_questions(view.period, view.filters, session=session, limit=shown)
    # Names in a session of their own: on PostgreSQL a failed catalogue read would otherwise
    # abort the page's transaction.
    titles = catalogue_titles(url, [stat.slug for stat in report.products])
    rows = []
    for stat in report.products:
        title, shop_url = titles.by_slug.get(stat.slug, ("", ""))
        rows.append(ProductRow(
            stat.slug, title or subject_name(stat.slug), stat,
            view.link("/dashboard/questions", subject=stat.slug, kind="product"),
            shop_url, removed=titles.available and stat.slug not in titles.by_slug))
    return ProductSection(tuple(rows), report, titles.available)
