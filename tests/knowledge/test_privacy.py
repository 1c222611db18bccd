"""The scrubber on written Italian and English sentences (tests/knowledge/data): no
personal data of the kinds the product promises to remove survives, and what is not
personal (prices, dates, products, cities, "via email") is left alone."""

from __future__ import annotations

import pytest

from knowledge.privacy import PLACEHOLDERS, find_personal, scrub
from tests.knowledge.pii_eval import SENTENCES, evaluate, load_cases

CASES = load_cases()
HOLDOUT = load_cases(SENTENCES.with_name("pii_sentences_holdout.yaml"))


def region(lang: str) -> str:
    return "IT" if lang == "it" else "GB"  # as knowledge.learning calls it


def test_the_written_set_is_big_enough_and_well_formed():
    personal = [case for case in CASES if case.pii]
    assert len(personal) >= 100 - len(HOLDOUT) and len(CASES) + len(HOLDOUT) >= 150
    assert {case.lang for case in personal} == {"it", "en"}
    kinds = {kind for case in personal for kind in case.pii}
    assert {"fiscal_code", "address", "person", "email", "phone", "iban", "card",
            "order"} <= kinds
    assert sum(1 for case in CASES if not case.pii) >= 30  # sentences without personal data


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.text[:50])
def test_nothing_personal_survives_and_nothing_else_is_touched(case):
    scrubbed = scrub(case.text, region(case.lang))
    for kind, parts in case.pii.items():
        for part in parts:
            assert part not in scrubbed, f"{kind} {part!r} leaked: {scrubbed!r}"
    for kept in case.keep:
        assert kept in scrubbed, f"{kept!r} was scrubbed: {scrubbed!r}"


def test_recall_and_precision_per_kind():
    score = evaluate(lambda text, lang: find_personal(text, region(lang)), CASES)
    assert score.leaks == [] and score.damaged == []
    for kind in score.gold:
        assert score.recall(kind) == 1.0 and score.precision(kind) == 1.0, score.table()


def test_sentences_the_rules_were_not_shaped_on():
    """Held out: not perfect (a misspelt IBAN, an Ofcom drama number, an inverted address)
    but nothing kept is damaged and each kind the issue names stays above 90%."""
    score = evaluate(lambda text, lang: find_personal(text, region(lang)), HOLDOUT)
    assert score.damaged == [], score.damaged
    for kind in ("fiscal_code", "address", "person", "email"):
        assert score.recall(kind) >= 0.9, score.table()
    assert all(score.precision(kind) == 1.0 for kind in score.found), score.table()


@pytest.mark.parametrize("text, expected", [
    ("Il mio codice fiscale è RSSMRA80A01H501U.", "Il mio codice fiscale è [codice fiscale]."),
    ("Spedite a via Roma 12, 20121 Milano.", "Spedite a [address] Milano."),
    ("Il tecnico Marco Neri passa domani.", "Il tecnico [name] passa domani."),
    ("Our courier John Smith will call.", "Our courier [name] will call."),
    ("Ship to 221B Baker Street, London NW1 6XE.", "Ship to [address], London [address]."),
    ("Scrivete a anna@example.com o al 333 123 4567.", "Scrivete a [email] o al [phone]."),
    ("Il tecnico passerà entro 48 ore, via email la conferma.",
     "Il tecnico passerà entro 48 ore, via email la conferma."),
])
def test_the_issue_examples(text, expected):
    assert scrub(text) == expected


def test_overlapping_recognisers_yield_one_placeholder():
    # An IBAN's digit groups also look like a phone number; the IBAN wins, once.
    assert scrub("IBAN IT60 X054 2811 1010 0000 0123 456") == "IBAN [iban]"
    spans = find_personal("Sono Maria Lombardi, via Dante 4, 10121 Torino, tel. 011 556 7788")
    assert [span.kind for span in spans] == ["person", "address", "phone"]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert set(PLACEHOLDERS) >= {span.kind for span in spans}


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01", "via " * 5000, "A" * 100_000,
                                  "1" * 10_000, "Il tecnico " * 2000])
def test_hostile_text_is_scrubbed_quickly_without_error(text):
    assert isinstance(scrub(text), str)
