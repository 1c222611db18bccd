"""Scrubbing personal data from what the knowledge base learns.

An operator's answer to one customer must not teach the bot that customer's email,
phone, order number, IBAN, card, codice fiscale, street address or name. Detected spans
become placeholders such as "[email]", so the learned text still reads naturally. The
same scrubber cleans the example questions the dashboard keeps and exports.

The recognisers are rules (`knowledge.pii_rules`), checked with python-stdnum and
libphonenumber, measured on tests/knowledge/data/pii_sentences*.yaml (benchmarks/
pii_scrubbers.py prints the table). Microsoft Presidio was measured on the same sentences
and not taken: its pattern recognisers find the same kinds except addresses (it has none)
at 15-20x the time per sentence and a 3.6 s start; names need spaCy's NER, whose models
are not on PyPI (only unofficial re-uploads), and with the English small model it found
most names but also cities, products and dates (person precision about 50%, 29 of 41
kept phrases damaged). It also reaches the network at run time (the public-suffix list,
spaCy model downloads), which this product must not. A name standing alone, with no role
or introduction before it, is the known gap.
"""

from __future__ import annotations

from knowledge.pii_rules import RECOGNISERS, Found, phones

PLACEHOLDERS = {"email": "[email]", "iban": "[iban]", "card": "[card]", "phone": "[phone]",
                "fiscal_code": "[codice fiscale]", "address": "[address]", "order": "[number]",
                "person": "[name]"}


def find_personal(text: str, region: str = "IT") -> list[Found]:
    """Spans of personal data, left to right, none overlapping. Where two recognisers
    claim the same characters the earlier one in RECOGNISERS wins (an IBAN's digits are
    not also a phone number)."""
    found = [span for recognise in RECOGNISERS for span in recognise(text)]
    found += list(phones(text, region))  # last: its matcher is the loosest on digits
    kept: list[Found] = []
    for span in found:
        if span.end > span.start and all(span.end <= k.start or span.start >= k.end
                                         for k in kept):
            kept.append(span)
    return sorted(kept)


def scrub(text: str, region: str = "IT") -> str:
    """The text with personal data replaced by placeholders."""
    for span in reversed(find_personal(text, region)):  # right to left keeps offsets valid
        text = text[:span.start] + PLACEHOLDERS[span.kind] + text[span.end:]
    return text
