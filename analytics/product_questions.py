"""Which products customers ask about before buying, about what, and how often the bot could
answer: the dashboard's "Domande sui prodotti", so the shop sees which product pages lack
information.

The source is the log itself. Every customer question in which the bot identified a product
is a `message` event whose `data` carries `{"product": {"slug", "attribute", "answered_by"}}`
(the contract with the conversation's product path); its `decision` says what became of it:
"answer" answered, "escalate" passed to a person, "clarify" asked back.

The counting is one aggregate in SQL over the period's `message` events (found through the
(kind, occurred_at) index), grouped by the product fields read from the JSON column, so
only a few rows per product and attribute leave the database however long the log is.
Questions naming no product are passed over by a text test before any JSON is parsed, and
each field of the others is parsed once (a materialised CTE). The log is written by our own
code, but its JSON is read defensively: a `product` that is not an object, a slug that is
not a string or is longer than any slug, an attribute or a source nobody defined, are left
out or counted as "altro" in SQL, never fed to Python row by row.

Why no roll-up table (analytics.rollup) behind it: product fields are not in
`question_insights`, and adding them needs a migration and a relabelling of the history.
Measured on a log of a million questions a year, a fifth of them about products: 28 days
0.1-0.2 s, 90 days 0.25 s, a whole year 0.9 s, on SQLite and PostgreSQL alike. A per-day
(product, attribute) roll-up is the step to take if a year of a larger shop grows too slow.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ARRAY, Text, case, cast, func, literal, select
from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent
from analytics.period import AnalyticsError, Filters, Period
from core import DecisionKind

E = InteractionEvent
MAX_SLUG = 200  # as page_subject keeps a page's slug; anything longer is no slug of ours
MAX_PRODUCTS = 200
# What a customer asks about a product (catalogue.records.Attribute's values: analytics may
# not import the catalogue, a test keeps the two in step), as marketing reads it.
ATTRIBUTE_NAMES = {"availability": "disponibilità", "restock": "riassortimento",
                   "colours": "colori", "sizes": "taglie", "price": "prezzo",
                   "material": "materiale", "care": "cura", "dimensions": "misure",
                   "fits": "cosa ci sta", "": "altro"}
SOURCES = ("catalogue", "note", "kb")  # who answered: the product data, a learned note, the FAQ


@dataclass(frozen=True)
class Counts:
    """Questions and what became of them."""

    asked: int = 0
    answered: int = 0  # decision "answer"
    escalated: int = 0  # decision "escalate": passed to a person
    clarified: int = 0  # decision "clarify": the bot asked back

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.asked if self.asked else None

    @classmethod
    def of(cls, decision: str, n: int) -> Counts:
        """`n` questions the bot decided `decision` on (any other decision: only asked)."""
        return cls(n, n if decision == DecisionKind.ANSWER else 0,
                   n if decision == DecisionKind.ESCALATE else 0,
                   n if decision == DecisionKind.CLARIFY else 0)

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.asked + other.asked, self.answered + other.answered,
                      self.escalated + other.escalated, self.clarified + other.clarified)


@dataclass(frozen=True)
class AttributeQuestions:
    attribute: str  # catalogue.records.Attribute value; "" when none was recognised
    counts: Counts

    @property
    def label(self) -> str:
        return ATTRIBUTE_NAMES.get(self.attribute, ATTRIBUTE_NAMES[""])


@dataclass(frozen=True)
class ProductQuestions:
    slug: str
    counts: Counts
    attributes: tuple[AttributeQuestions, ...]  # passed to a person most first, then asked
    from_catalogue: int = 0  # answered from the product data
    from_notes: int = 0  # answered by an operator's answer learned for this product

    @property
    def missing(self) -> tuple[AttributeQuestions, ...]:
        """The attributes behind the questions passed to a person: what the page lacks."""
        return tuple(a for a in self.attributes if a.counts.escalated)

    @property
    def missing_text(self) -> str:
        """"3 × misure, 2 × cura"."""
        return ", ".join(f"{a.counts.escalated} × {a.label}" for a in self.missing)


@dataclass(frozen=True)
class ProductReport:
    products: tuple[ProductQuestions, ...]  # the first `limit`, passed to a person most first
    total: Counts  # every product question of the period
    product_count: int  # distinct products asked about (may exceed len(products))
    attributes: tuple[AttributeQuestions, ...]  # over every product, ordered as per product


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _string_type(session: Session, *path: str):
    """SQL: the JSON type of the value at `path` of `data`, "string" for a string."""
    if _postgresql(session):
        return func.json_typeof(E.data.op("#>")(literal(list(path), ARRAY(Text))))
    kind = func.json_type(E.data, "$." + ".".join(f'"{p}"' for p in path))
    return case((kind == "text", "string"), else_=kind)


def _valid_json(session: Session) -> list:
    """SQLite stores JSON as text, and one malformed row (written by hand) would fail every
    json_* call of the query: such rows are skipped. PostgreSQL checks JSON on insert."""
    return [] if _postgresql(session) else [func.json_valid(E.data) == 1]


def _grouped(period: Period, filters: Filters, session: Session) -> list[tuple]:
    """(slug, attribute, source, decision, n): the period's product questions counted in SQL."""
    # Each JSON field is extracted once per question (a materialised CTE: inlined, the
    # filters and the CASEs below would parse the JSON again for every use).
    fields = (select(E.data[("product", "slug")].as_string().label("slug"),
                     E.data[("product", "attribute")].as_string().label("attribute"),
                     E.data[("product", "answered_by")].as_string().label("source"),
                     _string_type(session, "product", "slug").label("slug_type"),
                     E.decision.label("decision"))
              .where(E.kind == EventKind.MESSAGE.value, *period.covers(E.occurred_at),
                     *filters.conditions(E.language, E.channel),
                     # A plain text test first: most questions name no product, and both
                     # databases keep JSON as its text, so they are passed over unparsed.
                     cast(E.data, Text).like('%"product"%'), *_valid_json(session))
              .cte("product_fields"))
    if _postgresql(session) or sqlite3.sqlite_version_info >= (3, 35):  # when it was added
        # Materialised, SQLite also applies json_valid before any other json_* call.
        fields = fields.prefix_with("MATERIALIZED")
    known = [a for a in ATTRIBUTE_NAMES if a]
    rows = (select(fields.c.slug,
                   case((fields.c.attribute.in_(known), fields.c.attribute),
                        else_="").label("attribute"),
                   case((fields.c.source.in_(SOURCES), fields.c.source), else_="").label("source"),
                   fields.c.decision)
            .where(fields.c.slug_type == "string",
                   func.length(fields.c.slug).between(1, MAX_SLUG))
            .subquery())
    # Grouping the subquery's columns, not the expressions: PostgreSQL sees two CASEs with
    # separately bound values as different and refuses the GROUP BY.
    return list(session.execute(
        select(rows.c.slug, rows.c.attribute, rows.c.source, rows.c.decision, func.count())
        .group_by(rows.c.slug, rows.c.attribute, rows.c.source, rows.c.decision)))


def product_questions(period: Period, filters: Filters, *, session: Session,
                      limit: int = 50) -> ProductReport:
    """Per product and per (product, attribute): asked, answered, passed to a person and
    clarified in the period. Products whose questions went to a person most come first
    (their pages lack information), then the most asked."""
    if not 1 <= limit <= MAX_PRODUCTS:
        raise AnalyticsError(f"limit must be 1 to {MAX_PRODUCTS}")
    per_attribute: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    sources: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for slug, attribute, source, decision, n in _grouped(period, filters, session):
        if not isinstance(slug, str) or not slug.strip():
            continue
        slug = slug.strip()
        per_attribute[slug][attribute or ""] += Counts.of(decision, int(n))
        if decision == DecisionKind.ANSWER and source:
            sources[slug][source] += int(n)
    products = [_product(slug, by_attribute, sources[slug])
                for slug, by_attribute in per_attribute.items()]
    products.sort(key=lambda p: (-p.counts.escalated, -p.counts.asked, p.slug))
    overall: dict[str, Counts] = defaultdict(Counts)
    for product in products:
        for a in product.attributes:
            overall[a.attribute] += a.counts
    return ProductReport(tuple(products[:limit]), sum(overall.values(), Counts()),
                         len(products), _ordered(overall))


def _product(slug: str, by_attribute: dict[str, Counts], sources: dict[str, int]
             ) -> ProductQuestions:
    return ProductQuestions(slug, sum(by_attribute.values(), Counts()), _ordered(by_attribute),
                            from_catalogue=sources.get("catalogue", 0),
                            from_notes=sources.get("note", 0))


def _ordered(by_attribute: dict[str, Counts]) -> tuple[AttributeQuestions, ...]:
    found = [AttributeQuestions(a, c) for a, c in by_attribute.items() if c.asked]
    return tuple(sorted(found, key=lambda a: (-a.counts.escalated, -a.counts.asked,
                                              a.attribute == "", a.attribute)))
