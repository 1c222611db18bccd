import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.errors import InvalidQuestion
from knowledge.text import clean, fingerprint, normalise, validate_question


def test_clean_removes_controls_and_collapses_space():
    assert clean("  a\x00b\tc\u200bd\n\ne\ufeff ") == "a b c d e"
    assert clean("caf\u0065\u0301") == "café"  # NFC
    assert clean("x\ud800y") == "x?y"  # lone surrogate


def test_fingerprint_ignores_case_punctuation_space():
    assert fingerprint("How much is shipping?") == fingerprint("  how MUCH, is shipping!! ")
    assert fingerprint("How much is shipping?") != fingerprint("How much is delivery?")
    assert fingerprint("Città") == fingerprint("CITTÀ")


def test_validate_question():
    assert validate_question("  hi  there ", 10) == "hi there"
    with pytest.raises(InvalidQuestion, match="empty"):
        validate_question("\u200b \t", 10)
    with pytest.raises(InvalidQuestion, match="too long"):
        validate_question("x" * 11, 10)
    with pytest.raises(InvalidQuestion, match="text"):
        validate_question(b"bytes", 10)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_clean_and_normalise_are_idempotent_and_safe(text):
    once = clean(text)
    assert clean(once) == once
    assert once == once.strip()
    once.encode("utf-8")  # always encodable: no lone surrogates survive
    assert normalise(normalise(text)) == normalise(text)
    assert len(fingerprint(text)) == 40
