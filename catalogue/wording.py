"""Small pieces of Italian and English the product answers are made of: articles that
agree with the product's noun ("la Sciarpa", "gli Stivali", "l'Abito"), prices in the
shop's format ("49 €" / "€49"), dates ("12 gennaio 2027" / "12 January 2027"), lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from catalogue.vocabulary import fold

MONTHS_IT = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
             "settembre", "ottobre", "novembre", "dicembre")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")

# Italian nouns whose gender or number the ending does not tell (first word of a title).
_GENDER = {
    "foulard": "m", "shopper": "m", "trench": "m", "cardigan": "m", "dolcevita": "m",
    "pochette": "f", "sneakers": "fp", "stivali": "mp", "stivaletti": "mp", "mocassini": "mp",
    "sandali": "mp", "pantaloni": "mp", "guanti": "mp", "ballerine": "fp", "stringate": "fp",
    "borsone": "m", "portachiavi": "m", "portacarte": "m", "portafoglio": "m",
    "completo": "m", "abito": "m", "zaino": "m", "marsupio": "m", "berretto": "m",
    "cappello": "m", "cappotto": "m", "maglione": "m",
}
_ENGLISH_PLURAL = ("boots", "loafers", "sneakers", "flats", "sandals", "shoes", "trousers",
                   "gloves", "jeans", "oxfords")
_VOWELS = "aeiouh"
_IMPURE = ("s", "z", "gn", "ps", "x", "y")  # "lo zaino", "lo shopper"


@dataclass(frozen=True, slots=True)
class Noun:
    """A product title as the subject of an Italian or English sentence."""

    title: str
    language: str
    feminine: bool = False
    plural: bool = False

    @classmethod
    def of(cls, title: str, language: str) -> Noun:
        words = fold(title).split()
        if not words:
            return cls(title, language)
        if language != "it":
            return cls(title, language, plural=any(w in _ENGLISH_PLURAL for w in words[-2:]))
        first = words[0]
        code = _GENDER.get(first)
        if code is None:
            code = {"a": "f", "e": "fp", "i": "mp"}.get(first[-1], "m")
        return cls(title, language, feminine=code.startswith("f"), plural=code.endswith("p"))

    def _article(self) -> str:
        first = fold(self.title)[:2]
        impure = (first[:1] == "s" and first[1:2] not in _VOWELS) or first.startswith(_IMPURE[1:])
        vowel = first[:1] in _VOWELS
        if self.plural:
            return "le" if self.feminine else ("gli" if vowel or impure else "i")
        if vowel:
            return "l'"
        return "la" if self.feminine else ("lo" if impure else "il")

    def the(self, capital: bool = False) -> str:
        """"la Sciarpa in lana merino" / "the Merino wool scarf"."""
        if self.language != "it":
            text = f"the {self.title}"
        else:
            article = self._article()
            text = f"{article}{self.title}" if article.endswith("'") else f"{article} {self.title}"
        return text[:1].upper() + text[1:] if capital else text

    def of_the(self) -> str:
        """"della Borsa Aurora", "degli Stivali" / "the Aurora bag"'s owner form: "of the..."."""
        if self.language != "it":
            return f"of the {self.title}"
        return _join_preposition("di", self._article(), self.title)

    def on_the(self) -> str:
        if self.language != "it":
            return f"about the {self.title}"
        return _join_preposition("su", self._article(), self.title)

    def agree(self, masculine_singular: str) -> str:
        """Agree an adjective ending in -o: "esaurito" -> "esaurita", "esauriti"..."""
        if self.language != "it" or not masculine_singular.endswith("o"):
            return masculine_singular
        stem = masculine_singular[:-1]
        return stem + ("e" if self.feminine else "i") if self.plural else stem + (
            "a" if self.feminine else "o")

    def verb(self, singular: str, plural: str) -> str:
        return plural if self.plural else singular


_PREPOSITIONS = {
    ("di", "il"): "del", ("di", "lo"): "dello", ("di", "la"): "della", ("di", "l'"): "dell'",
    ("di", "i"): "dei", ("di", "gli"): "degli", ("di", "le"): "delle",
    ("su", "il"): "sul", ("su", "lo"): "sullo", ("su", "la"): "sulla", ("su", "l'"): "sull'",
    ("su", "i"): "sui", ("su", "gli"): "sugli", ("su", "le"): "sulle",
}


def _join_preposition(preposition: str, article: str, title: str) -> str:
    joined = _PREPOSITIONS[(preposition, article)]
    return f"{joined}{title}" if joined.endswith("'") else f"{joined} {title}"


def price(amount: Decimal, language: str, currency: str = "EUR") -> str:
    """49 € / €49; 5,90 € / €5.90; other currencies by code after the amount."""
    whole = amount == amount.to_integral_value()
    number = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    if language == "it":
        number = number.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if currency != "EUR":
        return f"{number} {currency}"
    return f"{number} €" if language == "it" else f"€{number}"


def day(value: date, language: str) -> str:
    if language == "it":  # "1º marzo", "12 gennaio"
        ordinal = "º" if value.day == 1 else ""
        return f"{value.day}{ordinal} {MONTHS_IT[value.month - 1]} {value.year}"
    return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"


def listing(items: list[str] | tuple[str, ...], language: str) -> str:
    """"a, b e c" / "a, b and c"."""
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    conjunction = " e " if language == "it" else " and "
    return ", ".join(items[:-1]) + conjunction + items[-1]


def number(value: float, language: str) -> str:
    text = f"{value:g}"
    return text.replace(".", ",") if language == "it" else text


def measures(values: list[float], language: str) -> str:
    """"40 × 30 cm"."""
    return " × ".join(number(v, language) for v in values) + " cm"


# Why a product answer has no text, in words; {of}/{on} take "della Borsa Aurora" /
# "sulla Borsa Aurora", {which} " in nero, taglia 38".
CANNOT_SAY = {
    "it": {
        "no_inner_dimensions": "Non ho la misura interna {of}",
        "no_dimensions": "Non ho le misure {of}",
        "no_care": "Non ho le istruzioni di lavaggio e cura {of}",
        "no_material": "Non ho la composizione {of}",
        "no_part": "Non ho questo dettaglio {of}",
        "no_price": "Non ho il prezzo {of}",
        "too_many_prices": "Il prezzo {of} cambia da una variante all'altra",
        "no_colours": "Non ho i colori {of}",
        "no_sizes": "Non ho le taglie {of}",
        "no_such_variant": "Non trovo la variante che cerchi {of}",
        "no_restock_date": "Non ho una data di rientro {of}{which}",
        "restock_date_past": "Non ho una data di rientro aggiornata {of}{which}",
        "unknown_attribute": "Non ho questa informazione {on}",
        "unknown_product": "Non trovo più questo prodotto nel catalogo",
        "ambiguous_product": "Non sono sicuro di quale prodotto intendi",
        "no_product": "Non so di quale prodotto parli",
    },
    "en": {
        "no_inner_dimensions": "I don't have the inside measurements {of}",
        "no_dimensions": "I don't have the measurements {of}",
        "no_care": "I don't have the care instructions {of}",
        "no_material": "I don't have the composition {of}",
        "no_part": "I don't have that detail {of}",
        "no_price": "I don't have the price {of}",
        "too_many_prices": "The price {of} changes from one variant to another",
        "no_colours": "I don't have the colours {of}",
        "no_sizes": "I don't have the sizes {of}",
        "no_such_variant": "I can't find the variant you're looking for {of}",
        "no_restock_date": "I don't have a restock date {of}{which}",
        "restock_date_past": "I don't have an up-to-date restock date {of}{which}",
        "unknown_attribute": "I don't have that information {on}",
        "unknown_product": "I can't find this product in the catalogue any more",
        "ambiguous_product": "I'm not sure which product you mean",
        "no_product": "I'm not sure which product you're asking about",
    },
}
HANDOVER = {"it": ": passo la domanda a un collega.",
            "en": ": I'm passing your question to a colleague."}
