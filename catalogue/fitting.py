"""Measurements in product answers: outer size, the inside of a bag, and whether a laptop,
a tablet or an A4 sheet fits in it (the two largest inside measurements against the
object's footprint, the third against its thickness)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from catalogue import vocabulary as vocab
from catalogue import wording
from catalogue.records import Dimensions

if TYPE_CHECKING:
    from catalogue.answers import _Ask

# Things people carry in a bag: "ci sta il cellulare?" asks what fits, and the inside
# measurements answer it (whether the thing fits is the customer's to judge).
CARRIED = frozenset("""
phone phones smartphone iphone cellulare cellulari telefono telefonino smartphone kindle
ebook ereader libro libri book books chiavi keys key occhiali glasses sunglasses trucchi
makeup trousse bottiglia bottle borraccia water acqua passaporto passport caricabatterie
charger powerbank cuffie headphones earphones airpods agenda diary
""".split())

_SCREEN_ROUNDING = 0.35  # inches a screen may exceed a known size and still be that size
_LABELS = {"it": {"length": "lunghezza", "width": "larghezza", "height": "altezza"},
           "en": {"length": "length", "width": "width", "height": "height"}}


def known(dimensions: Dimensions) -> list[tuple[str, float]]:
    return [(name, value) for name, value in (("length", dimensions.length),
                                              ("width", dimensions.width),
                                              ("height", dimensions.height)) if value]


def dimensions(ask: _Ask) -> tuple[str | None, str]:
    product, noun = ask.product, ask.noun
    outer = known(product.outer)
    if not outer:
        return (None, "no_dimensions") if not product.inner.known else _inside(ask)
    measures = wording.measures([v for _, v in outer], ask.language)
    labels = " × ".join(_LABELS[ask.language][name] for name, _ in outer)
    if ask.it:
        return (f"{noun.the(True)} {noun.verb('misura', 'misurano')} {measures} ({labels}).",
                "dimensions")
    return (f"{noun.the(True)} {noun.verb('measures', 'measure')} {measures} ({labels}).",
            "dimensions")


def _inside(ask: _Ask) -> tuple[str | None, str]:
    inner = known(ask.product.inner)
    measures = wording.measures([v for _, v in inner], ask.language)
    labels = " × ".join(_LABELS[ask.language][name] for name, _ in inner)
    if ask.it:
        return (f"Lo scomparto interno {ask.noun.of_the()} misura {measures} ({labels}).",
                "inner_dimensions")
    return f"Inside, {ask.noun.the()} measures {measures} ({labels}).", "inner_dimensions"


def _fits_in(inner: list[float], item: tuple[float, ...]) -> bool:
    room, need = sorted(inner, reverse=True), sorted(item, reverse=True)
    return all(r >= n for r, n in zip(room, need, strict=True))


def _thing(ask: _Ask, inner: list[float]) -> tuple[str, tuple[float, float, float]] | None:
    """The object asked about, in words, with its size (cm)."""
    it, thing, inches = ask.it, ask.question.thing, ask.question.inches
    if thing == "a4":
        return ("un foglio A4 (21 × 29,7 cm)" if it else "an A4 sheet (21 × 29.7 cm)"), vocab.A4
    if thing == "tablet":
        size = wording.measures(list(vocab.TABLET[:2]), ask.language)
        return (f"un tablet da 11 pollici (circa {size})" if it else
                f"an 11-inch tablet (about {size})"), vocab.TABLET
    if thing != "laptop":
        return None
    if inches is None:  # the biggest laptop that fits, if any
        fitting = [n for n, (a, b) in vocab.LAPTOPS.items()
                   if _fits_in(inner, (a, b, vocab.LAPTOP_THICKNESS))]
        inches = float(max(fitting)) if fitting else float(min(vocab.LAPTOPS))
    # The size known at or above the screen asked (13.3 and 17.3 are the 13 and 17 inch
    # laptops), never a smaller one: a 16.5-inch laptop said to fit as a 16-inch one may not.
    # Bigger than any known: the inside measurements answer (the customer judges).
    key = min((n for n in vocab.LAPTOPS if n >= inches - _SCREEN_ROUNDING), default=None)
    if key is None:
        return None
    a, b = vocab.LAPTOPS[key]
    size = wording.measures([a, b], ask.language)
    shown = wording.number(inches, ask.language)
    upto = ask.question.inches is None
    if it:
        words = f"un portatile {'fino a' if upto else 'da'} {shown} pollici (circa {size})"
    else:
        words = f"a laptop up to {shown} inches (about {size})" if upto else \
            f"a {shown}-inch laptop (about {size})"
    return words, (a, b, vocab.LAPTOP_THICKNESS)


def fits(ask: _Ask) -> tuple[str | None, str]:
    if not ask.product.inner.known:
        return None, "no_inner_dimensions"
    inner = [v for _, v in known(ask.product.inner)]
    thing = _thing(ask, inner)
    if thing is None:
        return _inside(ask)
    words, size = thing
    fits = _fits_in(inner, size)
    room = wording.measures(sorted(inner, reverse=True)[:2], ask.language)
    if ask.it:
        return ((f"Sì: lo scomparto interno misura {room}, {words} ci sta." if fits else
                 f"No: lo scomparto interno misura {room}, {words} non ci sta."),
                "fits" if fits else "does_not_fit")
    return ((f"Yes: inside it measures {room}, so {words} fits." if fits else
             f"No: inside it measures {room}, so {words} does not fit."),
            "fits" if fits else "does_not_fit")
