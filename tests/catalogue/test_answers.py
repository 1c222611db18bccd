"""Answers built from the catalogue's data: the sentences customers get, honest "the data
does not say" replies, and no sentence that claims what a product's rows do not contain."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from catalogue import wording
from catalogue.answers import answer_question, cannot_say, reply
from catalogue.feeds import read_feed
from catalogue.records import Attribute, Availability, Dimensions, Product, Variant
from catalogue.understanding import CatalogueIndex, ProductQuestion

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 1)
A = Attribute


@pytest.fixture(scope="module")
def products() -> list[Product]:
    return read_feed(ROOT / "data" / "demo_catalogue.csv")


@pytest.fixture(scope="module")
def index(products) -> CatalogueIndex:
    return CatalogueIndex(products)


def say(index, text, page, language="it", today=TODAY):
    return answer_question(text, language, page, index, today)


def test_the_demo_catalogue_matches_the_shop_page(products):
    scarf = next(p for p in products if p.slug == "sciarpa-merino" and p.language == "it")
    assert scarf.title == "Sciarpa in lana merino"
    assert scarf.colours == ("terracotta", "blu notte", "sabbia", "salvia")
    assert {v.price for v in scarf.variants} == {Decimal("49.00")}
    assert scarf.material == "100% lana merino extrafine"
    assert (scarf.outer.length, scarf.outer.width) == (180, 30)
    assert scarf.care.startswith("Lavare a mano")
    slugs = {p.slug for p in products}
    assert len(slugs) >= 40 and {"borsa-aurora", "stivali", "foulard-seta",
                                 "cappotto-aurora-cammello"} <= slugs
    assert all({(s, "it"), (s, "en")} <= {(p.slug, p.language) for p in products} for s in slugs)
    assert not any("petrolio" in c for p in products for c in p.colours)


def test_the_four_most_asked_questions(index):
    laptop = say(index, "la borsa entra un portatile da 15 pollici", "product:borsa-aurora")
    assert laptop.text == ("Sì: lo scomparto interno misura 40 × 30 cm, un portatile da 15 "
                           "pollici (circa 36 × 25 cm) ci sta.")
    teal = say(index, "avete la sciarpa in verde petrolio", "product:sciarpa-merino")
    assert teal.text == ("La Sciarpa in lana merino non è disponibile in verde petrolio: "
                         "la trovi in terracotta, blu notte, sabbia e salvia.")
    camel = say(index, "quando torna disponibile il cappotto aurora color cammello",
                "product:cappotto-aurora-cammello")
    assert camel.text == "Il Cappotto Aurora in cammello tornerà disponibile dal 12 gennaio 2027."
    english = say(index, "is the aurora bag big enough for a 15 inch laptop", "home", "en")
    assert english.text == ("Yes: inside it measures 40 × 30 cm, so a 15-inch laptop "
                            "(about 36 × 25 cm) fits.")


def test_colour_in_stock_and_synonyms(index):
    it = say(index, "c'è in blu notte?", "product:sciarpa-merino")
    assert it.text == "Sì, la Sciarpa in lana merino in blu notte è disponibile."
    en = say(index, "do you have it in navy?", "product:sciarpa-merino", "en")
    assert en.text == "Yes, the Merino wool scarf in night blue is in stock."
    camel = say(index, "When is the camel Aurora coat back in stock?",
                "product:cappotto-aurora-cammello", "en")
    assert camel.text == "The Aurora coat in camel will be back in stock from 12 January 2027."


def test_out_of_stock_with_and_without_a_restock_date(index):
    dated = say(index, "c'è il 38 nero?", "product:stivali")
    assert dated.reason == "restock_date" and "18 dicembre 2026" in dated.text
    undated = say(index, "la borsa nera è disponibile?", "product:borsa-aurora")
    assert undated.text == ("Al momento la Borsa Aurora in nero è esaurita "
                            "e non ho una data di rientro.")
    when = say(index, "quando torna la nera?", "product:borsa-aurora")
    assert when.text is None and when.reason == "no_restock_date"
    assert cannot_say(when, "it") == ("Non ho una data di rientro della Borsa Aurora in nero: "
                                      "passo la domanda a un collega.")


def test_a_restock_date_in_the_past_is_not_given(index):
    late = say(index, "quando torna il cammello?", "product:cappotto-aurora-cammello",
               today=date(2027, 2, 1))
    assert late.text is None and late.reason == "restock_date_past"
    available = say(index, "c'è in cammello?", "product:cappotto-aurora-cammello",
                    today=date(2027, 2, 1))
    assert "2027" not in available.text and "esaurito" in available.text


def test_missing_data_is_said_honestly(index):
    no_inside = say(index, "ci sta un A4?", "product:borsa-tracolla-nina")
    assert no_inside.text is None and no_inside.reason == "no_inner_dimensions"
    assert cannot_say(no_inside, "it") == ("Non ho la misura interna della Borsa a tracolla "
                                           "Nina: passo la domanda a un collega.")
    no_care = say(index, "how do I clean it?", "product:borsa-secchiello", "en")
    assert no_care.text is None and no_care.reason == "no_care"
    assert cannot_say(no_care, "en") == ("I don't have the care instructions of the Lucia "
                                         "bucket bag: I'm passing your question to a colleague.")
    unknown = say(index, "la borsa ha la tracolla regolabile?", "product:borsa-aurora")
    assert unknown.text is None and unknown.reason == "unknown_attribute"


def test_a_removed_product_and_an_ambiguous_one_escalate(index):
    removed = say(index, "taglie?", "product:vestito-rimosso")
    assert removed.text is None and removed.reason == "unknown_product"
    assert cannot_say(removed, "it").startswith("Non trovo più questo prodotto")
    ambiguous = say(index, "quanto costa il cappotto?", "home")
    assert ambiguous.text is None and ambiguous.reason == "ambiguous_product"


def test_prices_in_the_shop_format(index):
    assert say(index, "prezzo?",
               "product:sciarpa-merino").text == "La Sciarpa in lana merino costa 49 €."
    assert say(index, "price?", "product:sciarpa-merino",
               "en").text == "The Merino wool scarf costs €49."
    sale = say(index, "prezzo?", "product:sneakers-pelle")
    assert sale.text == "Le Sneakers in pelle sono in saldo a 99 € invece di 139 €."
    bed = say(index, "quanto costa il matrimoniale?", "product:completo-letto-lino")
    assert "219 €" in bed.text and "149" not in bed.text
    assert wording.price(Decimal("1234.5"), "it") == "1.234,50 €"
    assert wording.price(Decimal("5.90"), "en") == "€5.90"


def test_sizes_colours_and_grammar(index):
    sizes = say(index, "taglie?", "product:stivali")
    assert sizes.text == ("Gli Stivali alti in pelle sono disponibili nei numeri 36, 37, 38, "
                          "39, 40 e 41.")
    not_made = say(index, "gli stivali ci sono in 44?", "product:stivali")
    assert not_made.reason == "size_not_made" and "44" in not_made.text
    colours = say(index, "colori?", "product:foulard-seta")
    assert colours.text == ("Il Foulard in seta è disponibile in blu notte, bordeaux e avorio; "
                            "in senape al momento è esaurito.")
    dress = say(index, "come si lava?", "product:abito-riviera")
    assert dress.text.startswith("Per l'Abito in seta Riviera: lavare a secco")
    backpack = reply(ProductQuestion("zaino-dante", None), index, "it", TODAY)
    assert cannot_say(backpack, "it") == ("Non ho questa informazione sullo Zaino in pelle "
                                          "Dante: passo la domanda a un collega.")


def test_sizes_out_of_stock_agree_in_number():
    out = Availability.OUT_OF_STOCK
    shirt = Product(slug="camicia", language="it", title="Camicia in lino", variants=tuple(
        Variant(sku=size, size=size, price=Decimal("79"), availability=out if size != "M" else
                Availability.IN_STOCK) for size in ("S", "M", "L")))
    shoe = Product(slug="mocassini", language="it", title="Mocassini in pelle",
                   category="Scarpe > Mocassini", variants=tuple(
                       Variant(sku=size, size=size, price=Decimal("149"), availability=out
                               if size != "40" else Availability.IN_STOCK)
                       for size in ("39", "40", "41")))
    index = CatalogueIndex([shirt, shoe])
    sizes = reply(ProductQuestion("camicia", A.SIZES), index, "it", TODAY)
    assert sizes.text == ("La Camicia in lino è disponibile nelle taglie M "
                          "(al momento esaurite: S e L).")
    numbers = reply(ProductQuestion("mocassini", A.SIZES), index, "it", TODAY)
    assert numbers.text.endswith("(al momento esauriti: 39 e 41).")


def test_english_question_on_an_italian_only_product_uses_the_italian_data():
    only_it = Product(slug="stola", language="it", title="Stola in lana", care="Lavare a secco.",
                      variants=(Variant(sku="1", colour="nero", price=Decimal("59")),))
    index = CatalogueIndex([only_it])
    answer = answer_question("how do I wash it?", "en", "product:stola", index, TODAY)
    assert answer.text == "Care for the Stola in lana: lavare a secco."


def _questions_for(product: Product) -> list[ProductQuestion]:
    asks = [ProductQuestion(product.slug, attribute) for attribute in Attribute]
    asks += [ProductQuestion(product.slug, A.FITS, thing="laptop", inches=15.0),
             ProductQuestion(product.slug, A.FITS, thing="a4")]
    for colour in product.colours:
        asks += [ProductQuestion(product.slug, a, colour=colour)
                 for a in (A.AVAILABILITY, A.RESTOCK)]
    for size in product.sizes[:2]:
        asks += [ProductQuestion(product.slug, a, size=size) for a in (A.AVAILABILITY, A.SIZES)]
    return asks


def test_answers_never_claim_data_that_is_absent(products):
    """Every demo product, every attribute, with its data and with the data removed."""
    bare = [replace(p, care="", material="", outer=Dimensions(), inner=Dimensions(),
                    variants=tuple(replace(v, availability=Availability.OUT_OF_STOCK,
                                           restock=None) for v in p.variants))
            for p in products]
    for catalogue in (products, bare):
        index = CatalogueIndex(catalogue)
        for product in catalogue:
            for question in _questions_for(product):
                answer = reply(question, index, product.language, TODAY)
                text, attribute = answer.text, question.attribute
                if text is None:
                    assert answer.reason and cannot_say(answer, product.language)
                    continue
                if attribute is A.CARE:
                    assert product.care and product.care[1:] in text
                if attribute is A.MATERIAL:
                    assert product.material and product.material[1:] in text
                if attribute in (A.FITS,):
                    assert product.inner.known
                if attribute is A.DIMENSIONS:
                    assert product.outer.length or product.inner.known
                if "2026" in text or "2027" in text:
                    dates = {wording.day(v.restock, product.language) for v in product.variants
                             if v.restock}
                    assert any(d in text for d in dates)
                if attribute is A.AVAILABILITY and text.startswith(("Sì", "Yes")):
                    assert any(v.availability is Availability.IN_STOCK for v in product.variants)


def test_a_part_is_answered_only_when_the_material_names_it(index):
    lined = say(index, "i guanti sono foderati?", "product:guanti-pelle")
    assert lined.reason == "material" and "cashmere" in lined.text
    unlined = say(index, "la fodera della borsa aurora di che è?", "home")
    assert unlined.text is None and unlined.reason == "no_part"


def test_a_laptop_size_not_given_gets_the_biggest_that_fits(index):
    answer = say(index, "ci entra un laptop?", "product:zaino-dante")
    assert answer.text == ("Sì: lo scomparto interno misura 40 × 30 cm, un portatile fino a "
                           "17 pollici (circa 40 × 27 cm) ci sta.")
    small = say(index, "will my ipad fit?", "product:pochette-serena", "en")
    assert small.reason == "does_not_fit" and small.text.startswith("No:")


def test_a_laptop_bigger_than_the_sizes_known_is_never_said_to_fit():
    # The laptop's footprint comes from the nearest screen size known: never a smaller one
    # (a 16.5-inch laptop is not a 16-inch one; an 18-inch one has no size here at all).
    bag = Product(slug="borsa", language="it", title="Borsa Vera", inner=Dimensions(40, 27, 5),
                  variants=(Variant(sku="1", price=Decimal("99")),))
    snug = Product(slug="cartella", language="it", title="Cartella Ada",
                   inner=Dimensions(36, 26, 5), variants=(Variant(sku="2", price=Decimal("99")),))
    index = CatalogueIndex([bag, snug])

    def asked(slug: str, inches: float):
        return reply(ProductQuestion(slug, A.FITS, thing="laptop", inches=inches), index, "it",
                     TODAY)

    assert asked("borsa", 17.0).reason == "fits"
    assert asked("borsa", 17.3).reason == "fits"  # a 17.3-inch screen: the 17-inch size
    assert asked("borsa", 18.0).reason != "fits" and "18 pollici" not in (
        asked("borsa", 18.0).text or "")
    assert asked("cartella", 16.0).reason == "fits"
    assert asked("cartella", 16.5).reason == "does_not_fit"
    assert asked("cartella", 15.6).reason == "fits"


def test_restock_of_one_size_names_that_size(index):
    answer = say(index, "when will the sand one be back?", "product:maglione-cashmere", "en")
    assert answer.text == ("The Cashmere crew-neck sweater in sand, size S will be back in "
                           "stock from 5 January 2027.")
    assert wording.day(date(2027, 3, 1), "it") == "1º marzo 2027"


@pytest.mark.parametrize(("text", "page", "language"), [
    ("how much is the aurora wallet", "home", "en"),
    ("how much does it weigh", "product:zaino-dante", "en"),
    ("do you have a shop in florence i can visit", "product:borsa-aurora", "en"),
    ("is there a laptop sleeve inside", "product:zaino-dante", "en"),
    ("la piega resta anche dopo il lavaggio?", "product:gonna-plisse", "it"),
])
def test_questions_with_a_second_reading_get_no_answer_from_the_data(index, text, page, language):
    result = say(index, text, page, language)
    assert result is None or result.text is None


def test_a_named_product_on_another_products_page_is_answered_about_itself(index):
    result = say(index, "card holder in forest green available?", "product:portafoglio-pelle", "en")
    assert result.text is not None and "card holder" in result.text.lower()
    assert "forest green" in result.text and "don't make" not in result.text


def test_a_product_without_sizes_or_measures_is_one_size(index):
    beanie = say(index, "beanie one size?", "product:berretto-cashmere", "en")
    assert beanie.reason == "one_size" and "one size" in beanie.text
    italian = say(index, "il berretto è taglia unica?", "product:berretto-cashmere")
    assert italian.text == "Il Berretto in cashmere è in taglia unica."


def test_a_carried_thing_is_answered_with_the_inside_or_escalated(index):
    inside = say(index, "ci sta il telefono?", "product:borsa-mano-pelle")
    assert inside.reason == "inner_dimensions" and "cm" in inside.text
    unknown = say(index, "does my phone fit in the belt bag", "product:marsupio-pelle", "en")
    assert unknown.text is None and unknown.reason == "no_inner_dimensions"
