"""What a customer asks about a product, without a language model: which product (the page
the chat was opened on, or one named in the question), which attribute, which colour, size
or laptop.

Precision first: a wrong product answer is the worst outcome, so
- shop-policy words (shipping, returns, payment...) and size advice ("veste regolare?")
  leave the question to the FAQ (None), even on a product page;
- a question that neither names a product nor asks a known attribute is left to the FAQ;
- a product is named only by a product noun ("borsa", "coat") or a line's proper name
  ("Aurora"); material words ("pelle") only choose between products already named;
- the page's product wins unless the question names another one better; when two products
  are named equally well, or the one named is not made in the material asked ("zaini in
  tela" when the backpack is leather), nobody is guessed: the question comes back with slug
  None (the answer path escalates) if it asks a known attribute, else None;
- facts no feed column holds (weight, waterproof, pockets, comparisons, "a smaller
  version") give attribute None: a product named in the text escalates, else the FAQ;
- a part ("la fodera", "the sole") is a material question answered only when the material
  field names that part;
- a question that may mean something else is not answered (escalated when it names a
  product, else left to the FAQ): a word no list knows ("il cappello di paglia", "a shop in
  florence", "la piega resta dopo il lavaggio"; see unknown_words), two colours or sizes
  ("41 or 42"), a number or size the reading leaves unused ("sneakers bianche 46", "sweater
  small"), or cues of two attributes that exclude each other ("when will it go on sale");
  greetings, politeness, chat and grammar words (`function_words`), a typo of the chosen
  product's own name ("borsa auora") and, in a question of what fits, things carried in a
  bag ("ci sta il telefono?": the inside measurements answer) are no such words;
- "quanta lana c'è" asks the composition; "when" with a colour or size asks the restock.
Which product is named, and when nobody is guessed, is `naming`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalogue import cues
from catalogue import vocabulary as vocab
from catalogue.fitting import CARRIED
from catalogue.function_words import HARMLESS
from catalogue.index import (
    HEADS,
    KNOWN_WORDS,
    SIZE_NAMES,
    CatalogueIndex,
    Entry,
    material_of,
    page_slug,
)
from catalogue.mentions import (
    colour_for,
    mentioned_colour,
    mentioned_size,
    several,
    size_for,
    stray_size,
)
from catalogue.naming import resolve
from catalogue.records import Attribute
from catalogue.unknown_words import unknown_words
from catalogue.vocabulary import fold, phrases

__all__ = ["CatalogueIndex", "ProductQuestion", "understand"]
MAX_CHARS = 1000  # longer messages are cut: nobody asks about a scarf in 1000 characters


@dataclass(frozen=True, slots=True)
class ProductQuestion:
    slug: str | None
    attribute: Attribute | None
    colour: str = ""  # the catalogue's spelling; else the customer's words (a colour not made)
    size: str = ""  # idem
    inches: float | None = None  # the laptop's screen, for FITS
    named: bool = False  # the product was named in the text, not only taken from the page
    thing: str = ""  # for FITS: "laptop", "a4", "tablet" or "" (then: the inside size)
    part: str = ""  # for MATERIAL: "lining", "sole"... when asked about a part only


_COPULAS = frozenset({"e", "sono", "is", "are", "s", "fatto", "fatta", "fatti", "fatte", "made",
                      "tutto", "tutta", "all", "really", "davvero", "100%"})
_WHICH = frozenset({"kind", "tipo", "type", "quale", "which", "what", "che"})
_PARTS = {word: part for part, words in vocab.PARTS.items() for word in words}
_QUIET = (vocab.STOPWORDS | vocab.FILLERS | HARMLESS | KNOWN_WORDS | set(HEADS) | set(vocab.PROPER)
          | set(vocab.LETTER_SIZES) | set(vocab.WORD_SIZES) | set(SIZE_NAMES)
          | {w for names in vocab.COLOURS.values() for n in names for w in n.split()}
          | {w for cue in (c for cs in vocab.CUES.values() for c in cs) for w in cue.split()})


def _asks_material(tokens: list[str]) -> bool:
    """"è di lana?", "sono in vera pelle?", "is it cashmere?", "what kind of wool": a
    material word that ends the question after a copula, or follows "what kind"; "la pelle
    si rovina con la pioggia?" is no question about the material."""
    for i, token in enumerate(tokens):
        if not material_of(token):
            continue
        before = set(tokens[max(0, i - 6):i])
        if _COPULAS & before and len(tokens) - i <= 2 or _WHICH & set(tokens[max(0, i - 3):i]):
            return True
    return False


def _leftover(tokens: list[str], entry: Entry | None) -> int:
    """Words no list knows ("il colore cuoio scurisce col tempo?"): a colour alone then
    does not make the question one about availability."""
    words = entry.words if entry else frozenset()
    return sum(1 for t in tokens if t not in _QUIET and t not in words and not material_of(t)
               and not t.replace(".", "").isdigit() and len(t) > 2)


_OTHER = re.compile(r"\b(?:altri|altre|other|another|more)\s+(?:" + "|".join(
    sorted(HEADS, key=len, reverse=True)) + r")\b")  # "avete altri cappotti?"


def _part(tokens: list[str]) -> str:
    return next((_PARTS[t] for t in tokens if t in _PARTS), "")


def understand(text: str, language: str, page: str, index: CatalogueIndex
               ) -> ProductQuestion | None:
    """The product question in `text`, asked on `page` ("product:<slug>", "cart"...);
    None when it is not a question about a product attribute (leave it to the FAQ)."""
    folded = phrases(fold((text or "")[:MAX_CHARS]))
    tokens = folded.split()
    padded = f" {folded} "
    if not tokens or cues.has_cue("policy", tokens, padded) or any(
            cues.has_cue(name, tokens, padded, fuzzy=False) for name in ("fit_advice", "future")):
        return None
    slug_on_page = page_slug(page)
    features = index.question_features(tokens)
    named = resolve(index, features, slug_on_page if slug_on_page in index else None,
                    index.question_features(tokens, typos=False))
    slug = named.slug if named.named else slug_on_page
    entry = index.entry(slug) if slug else None
    colour = colour_for(index, slug, mentioned_colour(folded, tokens, entry), language)
    size = size_for(index, slug, mentioned_size(folded, tokens, entry), language)
    thing, inches = cues.thing(tokens, padded)
    attribute = cues.attribute(tokens, padded, has_sizes=bool(entry and entry.sizes),
                               colour=colour, size=size, fits_object=thing,
                               material_word=_asks_material(tokens) and not named.ambiguous)
    attribute, part = _refine(attribute, tokens, padded, entry)
    if _how_much_material(tokens) and attribute in (None, Attribute.AVAILABILITY,
                                                    Attribute.PRICE):
        attribute = Attribute.MATERIAL  # "quanta lana c'è", "how much cashmere is in it"
    if named.ambiguous or (entry and _other_material(features, entry, attribute)):
        # two products named equally well, or one not made in the material asked: no guess
        return ProductQuestion(slug=None, attribute=attribute, colour=colour, size=size,
                               named=True) if attribute else None
    if slug is None or (attribute is None and not named.named):
        return None
    if _second_reading(folded, tokens, entry, attribute, size, inches, index):
        # escalated as a question about a product named in the text; else the FAQ's, as
        # any page question without a known attribute
        return ProductQuestion(slug=slug, attribute=None, named=True) if named.named else None
    fits = attribute is Attribute.FITS
    return ProductQuestion(slug=slug, attribute=attribute, colour=colour, size=size,
                           inches=inches if fits else None, named=named.named,
                           thing=thing if fits else "", part=part)


def _second_reading(folded: str, tokens: list[str], entry: Entry | None,
                    attribute: Attribute | None, size: str, inches: float | None,
                    index: CatalogueIndex) -> bool:
    """May the question mean something the reading misses? A word no list knows (a
    product not sold, a condition the data cannot check), two colours or sizes, or a
    number or size the reading leaves unused. Not unknown: a typo the matcher read as
    this product's own name or noun ("borsa auora"), and, in a question of what fits, the
    things people carry in a bag (the answer then gives the inside measurements)."""
    unknown = [w for w in unknown_words(folded, entry.known if entry else frozenset())
               if not (attribute is Attribute.FITS and w in CARRIED)
               and not _names_it(index, entry, w)]
    return bool(unknown) or (
        attribute is not Attribute.COLOURS and several(folded, tokens, entry)) or (
        stray_size(folded, tokens, size, inches, entry))


def _names_it(index: CatalogueIndex, entry: Entry | None, word: str) -> bool:
    """Is `word` a typo of a noun, name or material of the product chosen ("auora" of the
    Aurora bag, "cashmir" of a cashmere scarf)?"""
    if entry is None or len(word) < 5:
        return False
    features = index.question_features([word])
    return bool(features) and index.matched(entry.slug, features) == features


_HOW_MUCH = frozenset({"quanto", "quanta", "much"})
_SHARE = frozenset({"percentuale", "percentage"})
_PRICE_WORDS = frozenset({"costa", "costano", "costo", "cost", "costs", "price", "prezzo",
                          "prezzi", "euro", "eur", "viene", "vengono", "pay", "pagare"})


def _how_much_material(tokens: list[str]) -> bool:
    """"quanta lana c'è", "percentuale di cashmere", "how much cashmere is in it": the
    share of a material, which the composition answers; not "how much leather bag" nor
    "quanto costa cashmere" (a price)."""
    if _PRICE_WORDS & set(tokens):
        return False
    for i, token in enumerate(tokens):
        if i == 0 or not material_of(token) or tokens[i + 1:i + 2] and tokens[i + 1] in HEADS:
            continue
        if tokens[i - 1] in _HOW_MUCH or i > 1 and tokens[i - 1] in ("di", "of") and (
                tokens[i - 2] in _SHARE):
            return True
    return False


def _refine(attribute: Attribute | None, tokens: list[str], padded: str,
            entry: Entry | None) -> tuple[Attribute | None, str]:
    """What no feed column says becomes "unknown" (None); a part ("la fodera") is a
    material question about that part; a colour alone among unknown words asks nothing."""
    words = entry.words if entry else frozenset()
    own = [t for t in tokens if t not in words]  # "Borsa a tracolla Nina": its own words
    own_padded = f" {' '.join(own)} "
    if cues.has_cue("beyond", own, own_padded, fuzzy=False) or _OTHER.search(own_padded):
        return None, ""
    if cues.has_cue("unknown", own, own_padded, fuzzy=False):
        return None, ""
    part = _part(own)
    if part:
        asks_part = attribute in (None, Attribute.MATERIAL, Attribute.AVAILABILITY)
        return (Attribute.MATERIAL, part) if asks_part else (None, "")
    if (attribute is Attribute.AVAILABILITY and not cues.has_cue("availability", tokens, padded)
            and _leftover(tokens, entry) > 1):
        return None, ""
    return attribute, ""


def _other_material(features: set[str], entry: Entry, attribute: Attribute | None) -> bool:
    """"avete zaini in tela?" when the backpack is leather, "can the canvas tote go in the
    washing machine" when the tote is leather: not that product (its care may differ)."""
    if attribute in (None, Attribute.MATERIAL):
        return False
    return any(f[0] == "w" and f not in entry.features for f in features)
