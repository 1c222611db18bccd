"""Control characters in text that strangers send: no stored text, header or answer wants
them, and PostgreSQL refuses NUL outright."""

from __future__ import annotations

import re
import unicodedata

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, LF and CR stay


def has_controls(text: str) -> bool:
    """Any C0 control character or DEL, line breaks included (a header must have none)."""
    return _CONTROLS.search(text) is not None


def drop_controls(text: str, *, keep_lines: bool = True, replacement: str = "") -> str:
    """`text` without control characters; tabs and line breaks stay with `keep_lines`."""
    return (_CONTROLS_BUT_LINES if keep_lines else _CONTROLS).sub(replacement, text)


_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The form that spots the same question typed differently (case, punctuation and
    spacing ignored): knowledge finds duplicates with it, analytics groups questions."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", folded)).strip()
