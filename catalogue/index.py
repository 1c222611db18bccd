"""The catalogue as product questions see it: each product's naming features (its nouns,
proper names, other title words and materials, from both languages' titles, its category
and its material field), colour and size spellings per language, and the rules that pick
the product a question is about.

Naming: a question's nouns, names and title words are looked up in an inverted index
(feature -> products); a noun hundreds of products share ("borsa" in a catalogue of 100k)
is skipped there, so a question never scans the catalogue. The rules that pick one
product (or none) are in `naming`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from catalogue import vocabulary as vocab
from catalogue.function_words import HARMLESS
from catalogue.fuzzy import Lexicon
from catalogue.records import Product
from catalogue.unknown_words import own_words
from catalogue.vocabulary import fold, phrases, stem


@dataclass(frozen=True, slots=True)
class Entry:
    """One product (all its languages) as the matcher sees it."""

    slug: str
    features: frozenset[str]  # "g:bag", "p:aurora", "s:mano", "w:leather"
    titles: tuple[frozenset[str], ...]  # each language's title as features
    shortest: int  # features in its shortest title: fewer hits cannot cover a whole title
    colours: dict[str, dict[str, str]]  # colour concept -> language -> feed spelling
    sizes: dict[str, dict[str, str]]  # folded size -> language -> feed spelling
    words: frozenset[str]  # the folded words of its titles (not "unknown" cue words)
    known: frozenset[str] = frozenset()  # the words of its titles, categories, materials


def _head_map() -> dict[str, str]:
    words: dict[str, str] = {}
    for group, names in vocab.HEADS.items():
        for name in names:
            words[name] = group
            words.setdefault(stem(name), group)
    return words


HEADS = _head_map()
# typos are matched against whole nouns only: a stem is too short to carry a typo
# ("federe" is one letter from the stem of "fedora", and no hat)
HEAD_LEXICON = Lexicon((name for names in vocab.HEADS.values() for name in names), HEADS)
PROPER = Lexicon(vocab.PROPER)
MATERIALS = {stem(word): canonical for word, canonical in vocab.MATERIALS.items()}
MATERIAL_LEXICON = Lexicon(MATERIALS)
COLOUR_NAMES = {name: concept for concept, names in vocab.COLOURS.items() for name in names}
KNOWN_WORDS = frozenset(word for cues in vocab.CUES.values() for word in cues if " " not in word)
SIZE_NAMES = {name: canonical for canonical, names in vocab.NAMED_SIZES.items()
              for name in (canonical, *names)}


# Words that are never a typo of a product's name ("cammello" is no "cappello", "suola" no
# "stola").
COMMON = 200  # a noun shared by more products than this names none of them on its own
CATEGORY_WEIGHT = 0.5
# A noun that is the category of this many products is a family word ("scarpe", "bag"): it
# names all of them alike, whether a title holds it ("Leather Oxford shoes") or not.
GENERIC = 3  # "Borse > Tote": the category's nouns name a product less than its title
_NOT_NAMES = (frozenset(COLOUR_NAMES) | KNOWN_WORDS | vocab.NOT_TYPOS | vocab.FILLERS | HARMLESS
              | {word for words in vocab.PARTS.values() for word in words})


def material_of(token: str) -> str | None:
    """"pelle", "leather", "merinos" -> the material they name."""
    return MATERIALS.get(stem(token)) or MATERIALS.get(token)


def _word_features(token: str) -> str | None:
    if not token or token in vocab.STOPWORDS:
        return None
    group = HEADS.get(token) or HEADS.get(stem(token))
    if group:
        return f"g:{group}"
    if token in vocab.PROPER:
        return f"p:{token}"
    if material := material_of(token):
        return f"w:{material}"
    if token.isdigit():
        return None
    return f"s:{stem(token)}"


@lru_cache(maxsize=65536)
def _title_features(title: str) -> frozenset[str]:
    found = (_word_features(token) for token in phrases(fold(title)).split())
    return frozenset(feature for feature in found if feature)


@lru_cache(maxsize=65536)
def _materials(text: str) -> frozenset[str]:
    """The materials a material field names ("Tela di cotone, manici in pelle")."""
    return frozenset(f"w:{m}" for token in fold(text).split() if (m := material_of(token)))


@lru_cache(maxsize=4096)
def colour_concept(colour: str) -> str:
    folded = fold(colour)
    return COLOUR_NAMES.get(folded, folded)


@lru_cache(maxsize=4096)
def size_key(size: str) -> str:
    folded = phrases(fold(size))
    return SIZE_NAMES.get(folded, folded)


class CatalogueIndex:
    """The catalogue as questions are matched against it; build once per catalogue version
    (about 0.2-0.3 ms per product: some 30 s for 100k), then query freely (under a few ms
    a question at any size: see `rank`)."""

    def __init__(self, products: Sequence[Product]) -> None:
        self._products: dict[str, dict[str, Product]] = {}
        for product in products:
            self._products.setdefault(product.slug, {})[product.language] = product
        self._entries = {slug: self._entry(slug, rows) for slug, rows in self._products.items()}
        counts: dict[str, int] = {}
        self._postings: dict[str, list[str]] = {}  # "g:bag" -> the slugs it names
        for entry in self._entries.values():
            for feature in entry.features:
                counts[feature] = counts.get(feature, 0) + 1
                self._postings.setdefault(feature, []).append(entry.slug)
        total = max(len(self._entries), 1)
        self._idf = {feature: math.log(1 + total / n) for feature, n in counts.items()}
        self._adjectives = Lexicon(f[2:] for f in counts if f.startswith("s:"))
        self._title_postings: dict[str, list[str]] = {}  # "g:cardigan" -> titles holding it
        for entry in self._entries.values():
            for feature in frozenset().union(*entry.titles):
                if feature[0] in "gp":
                    self._title_postings.setdefault(feature, []).append(entry.slug)

    @staticmethod
    def _entry(slug: str, rows: dict[str, Product]) -> Entry:
        titles = tuple(_title_features(p.title) for p in rows.values())
        features = set().union(*titles)
        for product in rows.values():  # "Borse > Tote": its nouns name it too, a bit less
            features |= {"c:" + f[2:] for f in _title_features(product.category)
                         if f.startswith("g:") and f not in features}
            features |= _materials(product.material)  # "is the bag leather?": yes, it is
        colours: dict[str, dict[str, str]] = {}
        sizes: dict[str, dict[str, str]] = {}
        for language, product in rows.items():
            for colour in product.colours:
                colours.setdefault(colour_concept(colour), {})[language] = colour
            for size in product.sizes:
                sizes.setdefault(size_key(size), {})[language] = size
        shortest = min((len(t) for t in titles if t), default=1)
        words = frozenset(w for p in rows.values() for text in (fold(p.title),)
                          for w in (*text.split(), *phrases(text).split()))
        known = own_words(tuple(text for p in rows.values() for text in (
            p.title, p.category, p.material, *p.colours, *p.sizes)))
        return Entry(slug, frozenset(features), titles, shortest, colours, sizes, words, known)

    def __contains__(self, slug: object) -> bool:
        return slug in self._products

    def __len__(self) -> int:
        return len(self._products)

    def product(self, slug: str, language: str) -> Product | None:
        """The product in the customer's language, else in the other one."""
        rows = self._products.get(slug)
        if not rows:
            return None
        return rows.get(language) or rows.get("it") or next(iter(rows.values()))

    def entry(self, slug: str) -> Entry | None:
        return self._entries.get(slug)

    def colour_spelling(self, slug: str, colour: str, language: str) -> str | None:
        """The feed's spelling of a colour concept (or spelling) for this product."""
        entry = self._entries.get(slug)
        spellings = entry.colours.get(colour_concept(colour)) if entry else None
        if not spellings:
            return None
        return spellings.get(language) or next(iter(spellings.values()))

    def size_spelling(self, slug: str, size: str, language: str) -> str | None:
        entry = self._entries.get(slug)
        spellings = entry.sizes.get(size_key(size)) if entry else None
        if not spellings:
            return None
        return spellings.get(language) or next(iter(spellings.values()))

    # -- naming ------------------------------------------------------------------------
    def question_features(self, tokens: list[str], typos: bool = True) -> set[str]:
        """The question's naming features; with typos=False only words spelled as a
        product's (a typo alone never takes a question away from the page's product)."""
        found: set[str] = set()
        for token in tokens:
            if token in vocab.STOPWORDS or len(token) < 2:
                continue
            exact = _word_features(token)
            if exact and exact[0] in "gpw":
                found.add(exact)
                continue
            if token in _NOT_NAMES:
                continue  # "cammello" is a colour, not a typo of "cappello"
            if not typos:
                if stem(token) in self._adjectives.words:
                    found.add(f"s:{stem(token)}")
                continue
            head = HEAD_LEXICON.find(token)
            proper = PROPER.find(token)
            material = MATERIAL_LEXICON.find(stem(token))
            if head or proper or material:
                found.add(f"g:{HEADS[head]}" if head else f"p:{proper}" if proper
                          else f"w:{MATERIALS[material]}")
                continue
            adjective = self._adjectives.find(stem(token))
            if adjective:
                found.add(f"s:{adjective}")
        return found

    def _named_count(self, feature: str) -> int:
        """How many products a feature names: by title, or (nouns) by category."""
        count = len(self._postings.get(feature, ()))
        if feature[0] == "g":
            count += len(self._postings.get("c:" + feature[2:], ()))
        return count

    def _named_by(self, feature: str) -> list[str]:
        """The products a noun or name names: by title, or (nouns) by category."""
        slugs = self._postings.get(feature, [])
        if feature[0] == "g":
            return slugs + self._postings.get("c:" + feature[2:], [])
        return slugs

    def _generic_idf(self, feature: str) -> float:
        return math.log(1 + max(len(self._entries), 1) / max(self._named_count(feature), 1))

    def too_common(self, features: set[str]) -> bool:
        """Every noun and name of the question is shared by more than COMMON products
        ("borsa" in a catalogue of 100k): alone, they name no product of their own."""
        naming = [f for f in features if f[0] in "gp"]
        return bool(naming) and all(self._named_count(f) > COMMON for f in naming)

    def _score(self, slug: str, features: set[str]) -> tuple[float, float, int]:
        """(strong, weak, hits): nouns, names and words by title at full weight, nouns
        by category at half; materials are weak (they only choose between named ones)."""
        mine = self._entries[slug].features
        strong = weak = 0.0
        hits = 0
        for feature in sorted(features):  # one summing order: equal sets, equal floats
            category = "c:" + feature[2:]
            if feature[0] == "g" and len(self._postings.get(category, ())) >= GENERIC and (
                    feature in mine or category in mine):
                value = self._generic_idf(feature)  # "shoes": in one title, but every shoe's
            elif feature in mine:
                value = self._idf[feature]
            elif feature[0] == "g" and category in mine:
                value = CATEGORY_WEIGHT * self._idf[category]
            else:
                continue
            hits += 1
            if feature[0] == "w":
                weak += value
            else:
                strong += value
        return strong, weak, hits

    def rank(self, features: set[str], keep: str | None = None
             ) -> list[tuple[tuple[float, float, bool], str]]:
        """Named products as ((strong, weak, whole title), slug), best first: the three
        best, `keep` (the page's product) and every product whose whole title the question
        covers. Candidates come from the inverted index of the question's words, skipping
        those shared by more than COMMON products, so a question costs about the same in
        a catalogue of 40 products or of 100k."""
        naming = {f for f in features if f[0] in "gp"}
        candidates: set[str] = set()
        for feature in features:  # "linea7" in "borsa aurora linea7" finds its products
            if self._named_count(feature) <= COMMON:
                candidates.update(self._named_by(feature))
        # only a noun or a name names a product: the other words choose between them
        candidates = {slug for slug in candidates if self.matched(slug, naming)}
        if keep in self._entries and self.matched(keep, naming):
            candidates.add(keep)
        scored = {slug: self._score(slug, features) for slug in candidates}

        def whole(slug: str) -> bool:
            entry = self._entries[slug]
            return scored[slug][2] >= entry.shortest and any(
                title and title <= features for title in entry.titles)

        chosen = set(heapq.nlargest(3, scored, key=lambda s: (scored[s][0], scored[s][1], s)))
        chosen |= {slug for slug in scored if scored[slug][2] >= self._entries[slug].shortest}
        if keep in scored:
            chosen.add(keep)
        return sorted((((scored[s][0], scored[s][1], whole(s)), s) for s in chosen), reverse=True)

    def families(self, slug: str) -> set[str]:
        """The head families of a product ("bags", "shoes"...), for the page rule."""
        return {vocab.FAMILIES_OF_HEADS.get(f[2:], f[2:])
                for f in self._entries[slug].features if f[0] in "gc"}

    def matched(self, slug: str, features: set[str]) -> set[str]:
        """The question's features this product has (a noun by title or category)."""
        mine = self._entries[slug].features
        return {f for f in features if f in mine or (f[0] == "g" and "c:" + f[2:] in mine)}

    def own_features(self, slug: str, other: str, features: set[str]) -> set[str]:
        """The question's features that name `slug` but not `other`."""
        return self.matched(slug, features) - self.matched(other, features)

    def in_a_title(self, feature: str, but: str | None = None) -> bool:
        """Is this noun or name in the title of some product other than `but`? ("cardigan"
        is a product's own noun; "tote" only a category's)."""
        return any(slug != but for slug in self._title_postings.get(feature, ())[:2])


def page_slug(page: str) -> str | None:
    page = (page or "").strip()
    if not page.startswith("product:"):
        return None
    slug = page[len("product:"):].strip()
    return slug[:200] or None
