"""The colour and the size a question mentions, spelled as the product's feed spells them
in the customer's language; a colour or size the product is not made in is kept as the
customer wrote it, so the answer can say so."""

from __future__ import annotations

import re

from catalogue import vocabulary as vocab
from catalogue.fuzzy import Lexicon
from catalogue.index import (
    COLOUR_NAMES,
    HEADS,
    MATERIALS,
    SIZE_NAMES,
    CatalogueIndex,
    Entry,
)
from catalogue.vocabulary import stem

_COLOUR_PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, COLOUR_NAMES),
                                                       key=len, reverse=True)) + r")\b")
_COLOUR_LEXICON = Lexicon((name for name in COLOUR_NAMES if " " not in name), COLOUR_NAMES)

_COLOUR_INTRO = frozenset({"color", "colore", "colour", "colori", "colours", "colors", "tinta",
                           "in", "the", "il", "la", "nel", "nella"})


def mentioned_colour(folded: str, tokens: list[str], entry: Entry | None) -> str:
    """The first colour word of the question (a catalogue concept or not), ignoring words
    of the product's own title ("Sandali in cuoio") and guarded ordinary words ("oro"),
    unless the product is made in that colour or the word follows "color"/"in"."""
    titles = f" {' '.join(sorted(entry.words))} " if entry else " "
    for found in _COLOUR_PATTERN.finditer(folded):
        name = found.group(1)
        before = folded[:found.start()].split()[-1:]
        sold = bool(entry) and COLOUR_NAMES[name] in entry.colours
        if name in vocab.GUARDED_COLOURS and not sold and not (
                before and before[0] in _COLOUR_INTRO):
            continue
        if f" {name} " in titles:
            continue
        return name
    for token in tokens:
        if len(token) >= 6 and token not in HEADS and stem(token) not in MATERIALS:
            name = _COLOUR_LEXICON.find(token)
            if name and name not in vocab.GUARDED_COLOURS and f" {name} " not in titles:
                return name
    return ""


def several(folded: str, tokens: list[str], entry: Entry | None) -> bool:
    """Two colours ("in sage and in sand", "nero o bordeaux") or two of the product's sizes
    ("41 or 42") in one question: one answer cannot say both, and picking one may be the
    wrong one."""
    titles = f" {' '.join(sorted(entry.words))} " if entry else " "
    concepts = {COLOUR_NAMES[m.group(1)] for m in _COLOUR_PATTERN.finditer(folded)
                if m.group(1) not in vocab.GUARDED_COLOURS and f" {m.group(1)} " not in titles}
    if len(concepts) > 1:
        return True
    sizes = entry.sizes if entry else {}
    # one-letter tokens are left out: "l" and "s" are also elisions ("l'avete")
    asked = {t.replace(",", ".") for t in tokens if len(t) > 1}
    return len({t for t in asked if t in sizes or _near_sizes(t, sizes)}) > 1


_NUMBER = re.compile(r"\b(\d{1,3}(?:[.,]\d+)?)\b(?!\s*(?:cm|mm|x\b|%|euro|eur|gradi|degrees|c\b))")
_CONTRACTED = frozenset({"it", "what", "that", "there", "here", "he", "she", "who", "let", "i",
                         "c", "l", "un", "d"})


def stray_size(folded: str, tokens: list[str], size: str, inches: float | None,
               entry: Entry | None) -> bool:
    """A number or letter size the question holds but the reading does not use ("sneakers
    bianche 46" read as white sneakers, "cardigan blu s"): the answer would ignore it."""
    used = {size.casefold().replace(",", ".")} if size else set()
    for found in _NUMBER.finditer(folded):
        value = found.group(1).replace(",", ".")
        if value not in used and (inches is None or float(value) != inches):
            return True
    if not entry or not any(key.isalpha() for key in entry.sizes):
        return False
    for before, token, after in zip(["", *tokens], tokens, [*tokens[1:], ""], strict=False):
        elided = before in _CONTRACTED or token == "l" and after[:1] in tuple("aeiouh")
        if token in ("s", "m", "l") and token not in used and not elided:
            return True  # "l avete" (l'avete), "it s" (it's), "i m" (I'm) are no sizes
        if vocab.WORD_SIZES.get(token, "-") not in used | {"-"}:
            return True  # "sand sweater small restock": a size said as a word
    return False


def colour_for(index: CatalogueIndex, slug: str | None, name: str, language: str) -> str:
    if not name:
        return ""
    concept = COLOUR_NAMES.get(name, name)
    if slug and (spelling := index.colour_spelling(slug, concept, language)):
        return spelling
    entry = index.entry(slug) if slug else None
    members = [c for c in vocab.FAMILIES.get(concept, ()) if entry and c in entry.colours]
    if len(members) == 1:
        return index.colour_spelling(slug, members[0], language) or name
    return name


_SIZE_AFTER_WORD = re.compile(
    r"\b(?:taglia|taglie|tg|size|numero|num|n|misura|la|il|in|una|un|da|the|a|nel|nella)\s+"
    r"(xxxl|xxl|xl|xs|xxs|s|m|l|\d{1,3}(?:[.,]5)?)\b(?!\s*(?:cm|mm|pollic|inch|euro|eur|%|x\b))")
_WORD_SIZE = re.compile(r"\b(?:taglia|size|in|a|the)\s+(" + "|".join(
    sorted(vocab.WORD_SIZES, key=len, reverse=True)) + r")\b")
_BARE_NUMBER = re.compile(r"\b(\d{1,3}(?:[.,]5)?)\b(?!\s*(?:cm|mm|pollic|inch|euro|eur|%|x\b))")


def mentioned_size(folded: str, tokens: list[str], entry: Entry | None) -> str:
    """A size named in the question: after "taglia"/"size"/"numero", a letter size, a bed
    size, or a bare number the product is sold in ("c'è il 38?")."""
    sizes = entry.sizes if entry else {}
    for found in _SIZE_AFTER_WORD.finditer(folded):
        value = found.group(1).replace(",", ".")
        word = folded[:found.start(1)].split()[-1]
        if word in ("taglia", "taglie", "tg", "size", "numero", "num", "n", "misura"):
            if value.isalpha() or 20 <= float(value) <= 130 or 5 <= float(value) <= 12:
                return value
        elif value in sizes or _near_sizes(value, sizes):
            return value
    if any(key.isalpha() for key in sizes):
        found = _WORD_SIZE.search(folded)
        if found:
            return vocab.WORD_SIZES[found.group(1)]
    for token in tokens:
        if token in ("xs", "xxs", "xl", "xxl", "xxxl"):
            return token
        if token in SIZE_NAMES and any(key in vocab.NAMED_SIZES for key in sizes):
            return SIZE_NAMES[token]  # "double" is a bed size only for bed linen
    for found in _BARE_NUMBER.finditer(folded):
        value = found.group(1).replace(",", ".")
        if value in sizes:
            return value
    return ""


def _near_sizes(value: str, sizes: dict[str, dict[str, str]]) -> bool:
    """"in 42" on boots sold in 36-41: a size the product is not made in."""
    numbers = [float(s) for s in sizes if s.replace(".", "", 1).isdigit()]
    if not numbers or not value.replace(".", "", 1).isdigit():
        return False
    return min(numbers) - 6 <= float(value) <= max(numbers) + 6


def size_for(index: CatalogueIndex, slug: str | None, value: str, language: str) -> str:
    if not value:
        return ""
    if slug and (spelling := index.size_spelling(slug, value, language)):
        return spelling
    return value.upper() if value in vocab.LETTER_SIZES else value


