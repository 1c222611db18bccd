"""Cleaning and validating the text people type."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from core.text import normalise
from knowledge.errors import InvalidQuestion

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Drop control characters and lone surrogates, NFC-normalise, collapse whitespace."""
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become '?'
    text = unicodedata.normalize("NFC", text)
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def fingerprint(text: str) -> str:
    return hashlib.sha1(normalise(text).encode("utf-8")).hexdigest()


def validate_question(text: object, max_chars: int) -> str:
    """Return the cleaned question or raise InvalidQuestion with a reason a user understands."""
    if not isinstance(text, str):
        raise InvalidQuestion("The question must be text.")
    cleaned = clean(text)
    if not cleaned:
        raise InvalidQuestion("The question is empty.")
    if len(cleaned) > max_chars:
        raise InvalidQuestion(
            f"The question is too long ({len(cleaned)} characters; the limit is {max_chars})."
        )
    return cleaned
