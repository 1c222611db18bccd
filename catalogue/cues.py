"""Which attribute a question asks about, from cue words (vocabulary.CUES), and the
colour, size and object it mentions: the parts of understanding that need no catalogue."""

from __future__ import annotations

import re
from functools import lru_cache

from catalogue import vocabulary as vocab
from catalogue.fuzzy import allowed_edits, distance
from catalogue.records import Attribute

_WHOLE_PHRASES = frozenset({"fit_advice"})


@lru_cache(maxsize=1)
def _compiled() -> dict[str, tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]]:
    """Per cue list: single words, prefixes, multi-word phrases."""
    compiled = {}
    for name, cues in vocab.CUES.items():
        words = frozenset(c for c in cues if " " not in c and not c.endswith("*"))
        prefixes = tuple(c[:-1] for c in cues if c.endswith("*") and " " not in c)
        # a phrase may run on into a longer last word ("dry clean" in "dry cleaning"),
        # except in size advice, where "which size" is not "which sizes"
        whole = name in _WHOLE_PHRASES
        multi = tuple(f" {c} " if whole and not c.endswith("*") else f" {c.rstrip('*')}"
                      for c in cues if " " in c)
        compiled[name] = (words, prefixes, multi)
    return compiled


def _typo_of(token: str, cue: str) -> bool:
    limit = min(allowed_edits(token), allowed_edits(cue))
    return bool(limit) and token[0] == cue[0] and distance(token, cue, limit) <= limit


def has_cue(name: str, tokens: list[str], padded: str, fuzzy: bool = True) -> bool:
    """Does the question (tokens; padded = " folded text ") carry a cue of this list?"""
    words, prefixes, multi = _compiled()[name]
    for token in tokens:
        if token in words or token.startswith(prefixes):
            return True
    if any(phrase in padded for phrase in multi):
        return True
    if not fuzzy:
        return False
    for token in tokens:
        if len(token) < 5 or token in vocab.NOT_TYPOS:
            continue
        if any(_typo_of(token, cue) for cue in words if len(cue) >= 6):
            return True
        if any(len(p) >= 6 and _typo_of(token[:len(p)], p) for p in prefixes):
            return True
    return False


_INCHES = re.compile(
    r"\b(\d{2}(?:[.,]\d)?)\s*(?:pollici|pollice|poll|inch|inches|inc\b|pol\b)"
    r"|\b(?:portatile|laptop|notebook|macbook|pc|computer)\D{0,12}?\b(\d{2}(?:[.,]\d)?)\b")
_INCHES_FIRST = re.compile(
    r"\b(\d{2}(?:[.,]\d)?)\s*(?:\w+\s){0,2}(?:portatil|laptop|notebook|macbook)")


def thing(tokens: list[str], padded: str) -> tuple[str, float | None]:
    """The object that should fit: ("laptop", inches or None), ("a4", None), ("tablet",
    None) or ("", None)."""
    found = _INCHES.search(padded) or _INCHES_FIRST.search(padded)
    inches = None
    if found:
        value = float((found.group(1) or found.group(2)).replace(",", "."))
        inches = value if 10 <= value <= 18 else None
    tokens_set = set(tokens)
    if inches is not None or tokens_set & set(vocab.LAPTOP_WORDS):
        return "laptop", inches
    if any(word in padded for word in (" pollici", " inch")):
        return "laptop", None
    if tokens_set & set(vocab.TABLET_WORDS):
        return "tablet", None
    if any(f" {word} " in padded for word in vocab.A4_WORDS):
        return "a4", None
    return "", None


def attribute(tokens: list[str], padded: str, *, has_sizes: bool, colour: str, size: str,
              fits_object: str, material_word: bool = False) -> Attribute | None:
    """The attribute asked, by precedence: what fits, restock, price, care, material,
    dimensions, sizes, colours, availability (a colour or size alone asks availability).
    Callers have already sent policy and size-advice questions to the FAQ."""
    if fits_object or has_cue("fits", tokens, padded, fuzzy=False):
        return Attribute.FITS
    if has_cue("inner", tokens, padded, fuzzy=False) and (
            has_cue("dimensions", tokens, padded)
            or not has_sizes and has_cue("sizes", tokens, padded)):
        return Attribute.FITS  # "interior size" of a bag sold in one size: the inside
    restock = has_cue("restock", tokens, padded, fuzzy=False)
    price = has_cue("price", tokens, padded)
    if price and (restock or {"when", "quando"} & set(tokens)):
        return None  # "when will the coat go on sale", "when does the sale end": no data
    if restock:
        return Attribute.RESTOCK
    if price:
        return Attribute.PRICE
    if has_cue("care", tokens, padded):
        return Attribute.CARE
    if has_cue("material", tokens, padded):
        return Attribute.MATERIAL
    sizes_cue = has_cue("sizes", tokens, padded)
    dims_cue = has_cue("dimensions", tokens, padded) or bool(_BY.search(padded))
    measures = has_cue("measures", tokens, padded, fuzzy=False)
    if has_sizes and (sizes_cue or _only_misura(tokens)) and not size and not measures:
        return Attribute.SIZES
    if dims_cue and not (colour or size):
        return Attribute.DIMENSIONS
    if dims_cue and not has_cue("availability", tokens, padded):
        return None  # "quanto è lungo in taglia 42?": a size's measures, which no row holds
    if sizes_cue and not size:
        return Attribute.SIZES if has_sizes or not dims_cue else Attribute.DIMENSIONS
    if has_cue("colours", tokens, padded) and not colour or has_cue(
            "other_colours", tokens, padded, fuzzy=False):
        return Attribute.COLOURS
    if size and has_sizes and has_cue("size_range", tokens, padded, fuzzy=False):
        return Attribute.SIZES
    if (colour or size) and has_cue("only", tokens, padded, fuzzy=False):
        return Attribute.COLOURS if colour else Attribute.SIZES
    if material_word and not (colour or size):  # "è di lana?", "is it cashmere?"
        return Attribute.MATERIAL
    if colour or size or has_cue("availability", tokens, padded):
        again = has_cue("again", tokens, padded, fuzzy=False)
        return Attribute.RESTOCK if again else Attribute.AVAILABILITY
    return None


_BY = re.compile(r"\b\d+(?:[.,]\d+)?\s*x\s*\d+")  # "90x90", "40 x 30"


def _only_misura(tokens: list[str]) -> bool:
    """"che misure ha?" on a product sold in sizes asks its sizes."""
    return any(t in ("misura", "misure") for t in tokens)
