"""Answers to product questions built from the catalogue's data, in the customer's language,
short and concrete; and, where the data does not say, no answer (text None) with a reason
code and an honest sentence (`cannot_say`) so the question goes to a person.

Every sentence states only what the product's rows contain: a colour the shop does not
make is named as not made (the feed lists all colours), an out-of-stock item without a
restock date gets no date, a bag without inside measurements gets no "it fits". The one
outside fact is the typical size of a laptop by screen (vocabulary.LAPTOPS), always said
as approximate ("circa 36 × 25 cm").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from catalogue import vocabulary as vocab
from catalogue import wording
from catalogue.fitting import dimensions, fits, known
from catalogue.records import Attribute, Availability, Product, Variant
from catalogue.understanding import CatalogueIndex, ProductQuestion, understand
from catalogue.wording import Noun


@dataclass(frozen=True, slots=True)
class ProductReply:
    question: ProductQuestion
    text: str | None  # None: the data does not say; `cannot_say` words it
    reason: str  # what was answered ("in_stock", "restock_date"...) or why not ("no_care"...)
    title: str = ""  # the product's title in the reply's language, when the product is known


def _it(language: str) -> bool:
    return language == "it"


def _in_stock(variant: Variant) -> bool:
    return variant.availability is Availability.IN_STOCK


def _select(product: Product, colour: str, size: str) -> list[Variant]:
    return [v for v in product.variants
            if (not colour or v.colour == colour) and (not size or v.size == size)]


def _size_word(product: Product, language: str) -> str:
    shoes = product.category.casefold().startswith(("scarpe", "shoes"))
    return ("numero" if shoes else "taglia") if _it(language) else "size"


def _which(product: Product, colour: str, size: str, language: str) -> str:
    """" in blu notte, taglia 42" / " in night blue, size 42"."""
    parts = f" in {colour}" if colour else ""
    if size:
        parts += f"{',' if colour else ''} {_size_word(product, language)} {size}"
    return parts


def reply(question: ProductQuestion, index: CatalogueIndex, language: str, today: date
          ) -> ProductReply:
    """The answer to `question` from the catalogue, in `language` ("it" or "en")."""
    language = "it" if language == "it" else "en"
    if question.slug is None:
        return ProductReply(question, None, "ambiguous_product" if question.named else "no_product")
    product = index.product(question.slug, language)
    if product is None:
        return ProductReply(question, None, "unknown_product")
    noun = Noun.of(product.title, product.language if product.language == language else language)
    if question.attribute is None:
        return ProductReply(question, None, "unknown_attribute", product.title)
    colour, size = question.colour, question.size
    if colour:
        colour = index.colour_spelling(question.slug, colour, product.language) or colour
    if size:
        size = index.size_spelling(question.slug, size, product.language) or size
    handler = _HANDLERS[question.attribute]
    text, reason = handler(_Ask(question, product, noun, colour, size, language, today))
    return ProductReply(question, text, reason, product.title)


@dataclass(frozen=True, slots=True)
class _Ask:
    question: ProductQuestion
    product: Product
    noun: Noun
    colour: str  # in the product row's spelling when the product is made in it
    size: str
    language: str
    today: date

    @property
    def it(self) -> bool:
        return self.language == "it"

    def subject(self) -> str:
        return self.noun.the(capital=True) + _which(self.product, self.colour, self.size,
                                                    self.language)


def _not_made(ask: _Ask) -> tuple[str | None, str] | None:
    """The product is not made in the colour or size asked: say so and list what there is."""
    product, noun = ask.product, ask.noun
    if ask.colour and ask.colour not in product.colours:
        if not product.colours:
            return None, "no_colours"
        offered = [c for c in product.colours if any(_in_stock(v) for v in _select(product, c, ""))]
        offered = offered or list(product.colours)
        if ask.it:
            pronoun = ("le" if noun.feminine else "li") if noun.plural else (
                "la" if noun.feminine else "lo")
            return (f"{noun.the(True)} non {noun.verb('è', 'sono')} "
                    f"{noun.verb('disponibile', 'disponibili')} in {ask.colour}: {pronoun} trovi "
                    f"in {wording.listing(offered, 'it')}.", "colour_not_made")
        return (f"We don't make {noun.the()} in {ask.colour}: "
                f"{noun.verb('it comes', 'they come')} in {wording.listing(offered, 'en')}.",
                "colour_not_made")
    if ask.size and ask.size not in product.sizes:
        if not product.sizes:
            return None, "no_sizes"
        word = _size_word(product, ask.language)
        sizes = wording.listing(list(product.sizes), ask.language)
        if ask.it:
            plural = "numeri" if word == "numero" else "taglie"
            return (f"{noun.the(True)} non {noun.verb('è', 'sono')} "
                    f"{noun.verb('disponibile', 'disponibili')} "
                    f"{'nel' if word == 'numero' else 'nella'} "
                    f"{word} {ask.size}: {'i' if word == 'numero' else 'le'} {plural} "
                    f"sono {sizes}.",
                    "size_not_made")
        return (f"{noun.the(True)} {noun.verb('is', 'are')} not made in size {ask.size}: "
                f"the sizes are {sizes}.", "size_not_made")
    return None


def _what_is_left(ask: _Ask, chosen: list[Variant], available: list[Variant]) -> str:
    """" in nero e cuoio" / " nelle taglie 40 e 42": what can be bought, when the question
    left it open and not everything is in stock (or there is a choice to make)."""
    product, it = ask.product, ask.it
    if not ask.colour and len(product.colours) > 1:
        colours = [c for c in product.colours if any(v.colour == c for v in available)]
        return f" in {wording.listing(colours, ask.language)}"
    if not ask.size and product.sizes and len(available) < len(chosen):
        sizes = wording.listing([s for s in product.sizes if any(v.size == s for v in available)],
                                ask.language)
        if it:
            in_sizes = "nei numeri" if _size_word(product, "it") == "numero" else "nelle taglie"
            return f" {in_sizes} {sizes}"
        return f" in sizes {sizes}"
    return ""


def _restock_date(variants: list[Variant], today: date) -> date | None:
    """The earliest future restock date, when every variant that is out has one."""
    out = [v for v in variants if not _in_stock(v)]
    if not out or any(v.restock is None or v.restock < today for v in out):
        return None
    return min(v.restock for v in out if v.restock)


def _availability(ask: _Ask) -> tuple[str | None, str]:
    if (missing := _not_made(ask)) is not None:
        return missing
    product, noun, it = ask.product, ask.noun, ask.it
    chosen = _select(product, ask.colour, ask.size)
    if not chosen:  # a colour and a size that exist, but not together
        return None, "no_such_variant"
    available = [v for v in chosen if _in_stock(v)]
    if available:
        extra = _what_is_left(ask, chosen, available)
        subject = ask.subject()[0].lower() + ask.subject()[1:]
        if it:
            return (f"Sì, {subject} {noun.verb('è disponibile', 'sono disponibili')}{extra}.",
                    "in_stock")
        return f"Yes, {subject} {noun.verb('is', 'are')} in stock{extra}.", "in_stock"
    when = _restock_date(chosen, ask.today)
    if it:
        text = (f"Al momento {ask.subject()[0].lower()}{ask.subject()[1:]} "
                f"{noun.verb('è', 'sono')} {noun.agree('esaurito')}")
        if when:
            return (f"{text}: {noun.verb('tornerà disponibile', 'torneranno disponibili')} "
                    f"dal {wording.day(when, 'it')}.", "restock_date")
        return f"{text} e non ho una data di rientro.", "out_of_stock"
    text = f"{ask.subject()} {noun.verb('is', 'are')} out of stock at the moment"
    if when:
        return (f"{text}: {noun.verb('it will', 'they will')} be back from "
                f"{wording.day(when, 'en')}.", "restock_date")
    return f"{text}, and I don't have a restock date.", "out_of_stock"


def _restock(ask: _Ask) -> tuple[str | None, str]:
    if (missing := _not_made(ask)) is not None:
        return missing
    product, noun = ask.product, ask.noun
    chosen = _select(product, ask.colour, ask.size)
    out = [v for v in chosen if not _in_stock(v)]
    if not chosen:
        return None, "no_such_variant"
    if not out:
        if ask.it:
            return (f"{ask.subject()} {noun.verb('è', 'sono')} già "
                    f"{noun.verb('disponibile', 'disponibili')}.", "in_stock")
        return f"{ask.subject()} {noun.verb('is', 'are')} already in stock.", "in_stock"
    if ask.size or len(out) == len(chosen):
        groups = {(ask.colour, ask.size): out}
    else:  # which colours (and sizes) are out, and when each returns
        groups = {}
        for v in out:
            whole_colour = all(not _in_stock(w) for w in _select(product, v.colour, ""))
            key = (v.colour, "" if whole_colour else v.size)
            groups.setdefault(key, []).append(v)
    sentences = []
    for (colour, size), variants in list(groups.items())[:4]:
        when = _restock_date(variants, ask.today)
        if when is None:
            past = any(v.restock and v.restock < ask.today for v in variants)
            return None, "restock_date_past" if past else "no_restock_date"
        which = noun.the(True) + _which(product, colour, size, ask.language)
        if ask.it:
            sentences.append(f"{which} "
                             f"{noun.verb('tornerà disponibile', 'torneranno disponibili')} "
                             f"dal {wording.day(when, 'it')}.")
        else:
            sentences.append(f"{which} will be back in stock from {wording.day(when, 'en')}.")
    return " ".join(sentences), "restock_date"


def _colours(ask: _Ask) -> tuple[str | None, str]:
    product, noun = ask.product, ask.noun
    if not product.colours:
        return None, "no_colours"
    chosen = _select(product, "", ask.size)
    in_stock = {v.colour for v in chosen if _in_stock(v)}
    available = [c for c in product.colours if c in in_stock]
    out = [c for c in product.colours if c not in in_stock and any(v.colour == c for v in chosen)]
    where = _which(product, "", ask.size, ask.language)
    if ask.it:
        text = (f"{noun.the(True)}{where} {noun.verb('è disponibile', 'sono disponibili')} in "
                f"{wording.listing(available, 'it')}." if available else
                f"{noun.the(True)}{where} al momento {noun.verb('è', 'sono')} "
                f"{noun.agree('esaurito')}.")
        if available and out:
            text = text[:-1] + (f"; in {wording.listing(out, 'it')} al momento "
                                f"{noun.verb('è', 'sono')} {noun.agree('esaurito')}.")
        return text, "colours"
    text = (f"{noun.the(True)}{where} {noun.verb('is', 'are')} available in "
            f"{wording.listing(available, 'en')}." if available else
            f"{noun.the(True)}{where} {noun.verb('is', 'are')} out of stock at the moment.")
    if available and out:
        text = text[:-1] + (f"; {wording.listing(out, 'en')} {'is' if len(out) == 1 else 'are'} "
                            "out of stock at the moment.")
    return text, "colours"


def _sizes(ask: _Ask) -> tuple[str | None, str]:
    product, noun = ask.product, ask.noun
    if not product.sizes:
        dims = known(product.outer)
        if not dims:  # no size column in the feed: one size, of unknown measures
            if ask.it:
                return f"{noun.the(True)} {noun.verb('è', 'sono')} in taglia unica.", "one_size"
            return f"{noun.the(True)} {noun.verb('comes', 'come')} in one size.", "one_size"
        measures = wording.measures([v for _, v in dims], ask.language)
        if ask.it:
            return (f"{noun.the(True)} non ha taglie: {noun.verb('misura', 'misurano')} "
                    f"{measures}.", "one_size")
        return f"{noun.the(True)} {noun.verb('comes', 'come')} in one size: {measures}.", "one_size"
    if ask.colour and ask.colour not in product.colours:
        return _not_made(ask) or (None, "no_colours")
    chosen = _select(product, ask.colour, "")
    in_stock = {v.size for v in chosen if _in_stock(v)}
    available = [s for s in product.sizes if s in in_stock]
    out = [s for s in product.sizes if s not in in_stock and any(v.size == s for v in chosen)]
    where = f" in {ask.colour}" if ask.colour else ""
    word = _size_word(product, ask.language)
    if ask.it:
        plural = "nei numeri" if word == "numero" else "nelle taglie"
        if not available:
            return (f"{noun.the(True)}{where} al momento {noun.verb('è', 'sono')} "
                    f"{noun.agree('esaurito')}.", "sizes")
        text = (f"{noun.the(True)}{where} {noun.verb('è disponibile', 'sono disponibili')} "
                f"{plural} {wording.listing(available, 'it')}")
        if out:
            ending = ("a" if word == "taglia" else "o") if len(out) == 1 else (
                "e" if word == "taglia" else "i")  # "esaurita: S", "esaurite: S e L"
            text += f" (al momento esaurit{ending}: {wording.listing(out, 'it')})"
        return text + ".", "sizes"
    if not available:
        return (f"{noun.the(True)}{where} {noun.verb('is', 'are')} out of stock at the moment.",
                "sizes")
    text = (f"{noun.the(True)}{where} {noun.verb('is', 'are')} available in sizes "
            f"{wording.listing(available, 'en')}")
    if out:
        text += f" (out of stock at the moment: {wording.listing(out, 'en')})"
    return text + ".", "sizes"


def _price(ask: _Ask) -> tuple[str | None, str]:
    if (missing := _not_made(ask)) is not None:
        return missing
    product, noun, language = ask.product, ask.noun, ask.language
    chosen = _select(product, ask.colour, ask.size) or list(product.variants)
    offers = list(dict.fromkeys((v.price, v.sale_price) for v in chosen))
    if not offers or any(p <= 0 for p, _ in offers):
        return None, "no_price"
    def amount(offer: tuple) -> str:
        regular, sale = offer
        if sale is not None and 0 < sale < regular:
            cut = f"{wording.price(sale, language, product.currency)}"
            was = wording.price(regular, language, product.currency)
            return f"{cut} invece di {was}" if ask.it else f"{cut} instead of {was}"
        return wording.price(regular, language, product.currency)
    on_sale = any(s is not None and 0 < s < p for p, s in offers)
    if len(offers) == 1:
        if ask.it:
            verb = (noun.verb("è in saldo a", "sono in saldo a") if on_sale
                    else noun.verb("costa", "costano"))
        else:
            verb = (noun.verb("is on sale at", "are on sale at") if on_sale
                    else noun.verb("costs", "cost"))
        return f"{ask.subject()} {verb} {amount(offers[0])}.", "price"
    by_size = {}
    for v in chosen:
        by_size.setdefault(amount((v.price, v.sale_price)), []).append(v.size or v.colour)
    if len(by_size) > 6:
        return None, "too_many_prices"
    parts = [f"{value} ({wording.listing(list(dict.fromkeys(who)), language)})"
             for value, who in by_size.items()]
    verb = noun.verb("costa", "costano") if ask.it else noun.verb("costs", "cost")
    return f"{ask.subject()} {verb} {wording.listing(parts, language)}.", "price"


def _material(ask: _Ask) -> tuple[str | None, str]:
    material = ask.product.material.strip()
    if not material:
        return None, "no_material"
    part = ask.question.part
    if part and not set(vocab.PARTS[part]) & set(vocab.fold(material).split()):
        return None, "no_part"  # "la fodera?": the field says nothing of a lining
    if ask.it:
        return f"Composizione {ask.noun.of_the()}: {material}.", "material"
    lowered = material[:1].lower() + material[1:] if not material[:2].isupper() else material
    return f"{ask.noun.the(True)} {ask.noun.verb('is', 'are')} made of {lowered}.", "material"


def _care(ask: _Ask) -> tuple[str | None, str]:
    care = ask.product.care.strip()
    if not care:
        return None, "no_care"
    care = care[:1].lower() + care[1:]
    return (f"Per {ask.noun.the()}: {care}" if ask.it
            else f"Care for {ask.noun.the()}: {care}"), "care"


_HANDLERS = {
    Attribute.AVAILABILITY: _availability, Attribute.RESTOCK: _restock,
    Attribute.COLOURS: _colours, Attribute.SIZES: _sizes, Attribute.PRICE: _price,
    Attribute.MATERIAL: _material, Attribute.CARE: _care, Attribute.DIMENSIONS: dimensions,
    Attribute.FITS: fits,
}


# -- when the data does not say ---------------------------------------------------------------
def cannot_say(reply: ProductReply, language: str) -> str:
    """The honest sentence for a reply without text: what is missing, and that a person
    takes over ("Non ho la misura interna della Borsa Aurora: passo la domanda a un collega.")."""
    language = "it" if language == "it" else "en"
    templates = wording.CANNOT_SAY[language]
    template = templates.get(reply.reason, templates["unknown_attribute"])
    if reply.title:
        noun = Noun.of(reply.title, language)
        of, on = noun.of_the(), noun.on_the()
    else:
        of = on = "di questo prodotto" if language == "it" else "of this product"
        on = "su questo prodotto" if language == "it" else "about this product"
    which = ""
    if reply.question.colour:
        which = f" in {reply.question.colour}"
    if reply.question.size:
        size_word = "taglia" if language == "it" else "size"
        which += f"{',' if which else ''} {size_word} {reply.question.size}"
    text = template.format(of=of, on=on, which=which)
    return text + wording.HANDOVER[language]


def answer_question(text: str, language: str, page: str, index: CatalogueIndex, today: date
                    ) -> ProductReply | None:
    """Understand and answer; None when the question is not about a product (the FAQ's)."""
    question = understand(text, language, page, index)
    if question is None:
        return None
    return reply(question, index, language, today)
