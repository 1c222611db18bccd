"""Parsing one feed value: prices as shops export them, lengths with units, Merchant's
availability words, dates, language codes, and HTML descriptions made plain text.

Each parser raises `ValueError` with a message that names what was expected; the feed
reader puts the line in front of it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from html.parser import HTMLParser

from catalogue.records import Availability

MAX_PRICE = Decimal("1000000000")  # 1e9: beyond any shop; also fits the column
MAX_CENTIMETRES = 100_000.0  # 1 km: a typo, not a product

_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
_CODE_FIRST = re.compile(r"^(?P<code>[A-Za-z]{3})\s*(?P<amount>\d.*)$")
_CODE_LAST = re.compile(r"^(?P<amount>.*\d)\s*(?P<code>[A-Za-z]{3})$")
_AMOUNT = re.compile(r"^\d[\d.,' ]*$")


@lru_cache(maxsize=4096)  # feeds repeat values row after row
def parse_price(text: str, default_currency: str = "EUR") -> tuple[Decimal, str]:
    """'49.00 EUR', '49,00 EUR', 'EUR 49', '€ 49', '1.234,56 EUR', '1,234.56 EUR' -> (amount,
    ISO currency). A bare number takes `default_currency` (Merchant requires the code, CSV
    exports from shop platforms often omit it)."""
    raw = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    amount, currency = _split_currency(raw)
    currency = currency or default_currency
    unreadable = ValueError(f"price {text!r} is not an amount such as '49.00 EUR' or '€ 49,00'")
    if not _AMOUNT.match(amount):
        raise unreadable
    try:
        value = Decimal(_normalise_amount(amount))
    except (InvalidOperation, ValueError):
        raise unreadable from None
    if value >= MAX_PRICE:
        raise ValueError(f"price {text!r} is too large")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"price {text!r} has more than 2 decimals")
    return value.quantize(Decimal("0.01")), currency


def _split_currency(raw: str) -> tuple[str, str]:
    """The amount and the currency code, wherever the code or symbol stands."""
    for symbol, code in _SYMBOLS.items():
        if raw.startswith(symbol):
            return raw[len(symbol):].strip(), code
        if raw.endswith(symbol):
            return raw[: -len(symbol)].strip(), code
    if match := _CODE_FIRST.match(raw) or _CODE_LAST.match(raw):
        return match.group("amount"), match.group("code").upper()
    return raw, ""


def _normalise_amount(amount: str) -> str:
    """Which of '.' and ',' is the decimal mark: the last one when both appear; a lone
    mark followed by exactly three digits groups thousands ('1.234' is 1234: prices never
    have three decimals)."""
    digits = amount.replace(" ", "").replace("'", "")
    if "." in digits and "," in digits:
        decimal_mark = "." if digits.rfind(".") > digits.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        whole, _, fraction = digits.rpartition(decimal_mark)
        _check_groups(whole, thousands)
        return whole.replace(thousands, "") + "." + fraction
    for mark in (".", ","):
        if mark in digits:
            groups = digits.split(mark)
            if len(groups) > 2 or len(groups[-1]) == 3:
                _check_groups(digits, mark)
                return digits.replace(mark, "")
            return groups[0] + "." + groups[1]
    return digits


def _check_groups(whole: str, mark: str) -> None:
    groups = whole.split(mark)
    leading_too_long = len(groups) > 1 and len(groups[0]) > 3
    if not groups[0] or leading_too_long or any(len(g) != 3 for g in groups[1:]):
        raise ValueError("misplaced thousands separator")


_UNITS = {"": 1.0, "cm": 1.0, "mm": 0.1, "m": 100.0, "in": 2.54, "inch": 2.54, "inches": 2.54,
          '"': 2.54, "″": 2.54, "pollici": 2.54}
_LENGTH = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([a-z\"″]*)$")


@lru_cache(maxsize=4096)  # feeds repeat values row after row
def parse_length(text: str) -> float:
    """'38 cm', '38', '380 mm', '15 in' -> centimetres (a bare number is centimetres)."""
    match = _LENGTH.match(text.strip().lower())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"length {text!r} is not a number with a unit such as '38 cm', "
                         "'380 mm' or '15 in'")
    value = float(match.group(1).replace(",", ".")) * _UNITS[match.group(2)]
    if not 0 < value < MAX_CENTIMETRES:
        raise ValueError(f"length {text!r} is out of range")
    return round(value, 2)


@lru_cache(maxsize=4096)  # feeds repeat values row after row
def parse_availability(text: str) -> Availability:
    """Merchant's words, with spaces ('in stock') or underscores ('in_stock'), any case."""
    key = re.sub(r"[\s_-]+", "_", text.strip().lower())
    try:
        return Availability(key)
    except ValueError:
        choices = ", ".join(a.value.replace("_", " ") for a in Availability)
        raise ValueError(f"availability {text!r} is not one of: {choices}") from None


@lru_cache(maxsize=4096)  # feeds repeat values row after row
def parse_date(text: str) -> date:
    """'2026-12-15' or Merchant's ISO 8601 with a time ('2026-12-15T13:00-0800')."""
    value = text.strip()
    try:
        if len(value) > 10:
            return datetime.fromisoformat(value).date()
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date {text!r} is not a date such as 2026-12-15") from None


_LANGUAGE = re.compile(r"^([a-z]{2})(?:[-_][a-z]{2})?$")


@lru_cache(maxsize=4096)  # feeds repeat values row after row
def parse_language(text: str) -> str:
    """'it', 'IT', 'it-IT', 'en_GB' -> the two-letter code."""
    match = _LANGUAGE.match(text.strip().lower())
    if not match:
        raise ValueError(f"language {text!r} is not a code such as 'it' or 'en'")
    return match.group(1)


_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5",
           "h6", "section", "article", "blockquote", "dd", "dt", "hr"}
_SKIPPED = {"script", "style", "template", "head", "title"}


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; block elements become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n- " if tag == "li" else "\n")

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS and tag != "li":  # an item's line ends where the next begins
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


@lru_cache(maxsize=256)  # the variants of a product share a description
def plain_text(text: str) -> str:
    """HTML (or plain text) -> plain text: tags removed, entities decoded, paragraphs kept as
    line breaks, runs of spaces and blank lines collapsed. Stored and shown as text, so a
    feed's markup can never reach the chat widget as markup."""
    if "<" in text or "&" in text:
        parser = _TextOnly()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
