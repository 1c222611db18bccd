"""Reading feeds: the formats shops export, and every way a feed can be wrong."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from catalogue import limits
from catalogue.errors import FeedError
from catalogue.feeds import read_feed
from catalogue.records import Availability, Dimensions
from catalogue.values import parse_length, parse_price, plain_text

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "id,item_group_id,title,price,availability,color,size,availability_date,product_length\n"


def write(tmp_path: Path, text: str, name: str = "feed.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problems(path: Path, **options) -> list[str]:
    with pytest.raises(FeedError) as caught:
        read_feed(path, **options)
    assert "nothing imported" in str(caught.value)
    return caught.value.problems


def test_rows_sharing_item_group_id_become_one_product_with_variants_in_feed_order(tmp_path):
    path = write(tmp_path, HEADER
                 + "B-2,borsa,Borsa Aurora,49 EUR,in stock,rosso,,,\n"
                 + "S-1,,Sciarpa,20 EUR,in stock,,,,\n"
                 + "B-1,borsa,Borsa Aurora (nero),59 EUR,out of stock,nero,,2026-12-15,38 cm\n")
    borsa, sciarpa = read_feed(path, language="it")
    assert borsa.slug == "borsa" and borsa.language == "it"
    assert [v.sku for v in borsa.variants] == ["B-2", "B-1"]  # feed order, not sorted
    assert borsa.title == "Borsa Aurora"  # the first row's
    assert borsa.outer == Dimensions(38.0, None, None)  # the first row that has it
    assert borsa.colours == ("rosso", "nero")
    assert borsa.variants[1].restock == date(2026, 12, 15)
    assert borsa.variants[1].availability is Availability.OUT_OF_STOCK
    assert sciarpa.slug == "S-1" and len(sciarpa.variants) == 1  # no group: the id


def test_merchant_rss_xml(tmp_path):
    tote, scarf = read_feed(FIXTURES / "merchant_rss.xml")
    assert tote.language == "it"  # channel <language>it-IT</language>
    assert tote.slug == "borsa-tote-aurora" and tote.title == "Borsa tote Aurora in pelle"
    assert tote.link.endswith("/p/borsa-tote-aurora")
    assert tote.category == "Borse > Tote" and tote.material == "pelle"
    assert tote.description == ("Tote in pelle conciata al vegetale & fodera in cotone.\n\n"
                                'Entra un portatile da 15".')
    assert tote.outer == Dimensions(42.0, 14.0, 33.0)
    assert tote.inner == Dimensions(40.0, 12.0, 31.0) and tote.inner.known
    black, camel = tote.variants
    assert black.price == Decimal("189.00") and black.sale_price is None
    assert camel.sale_price == Decimal("149.00")
    assert camel.restock == date(2026, 12, 15)
    assert scarf.care == "Lavare a mano in acqua fredda."
    assert scarf.variants[0].availability is Availability.PREORDER
    # the nested <g:shipping><g:price> did not overwrite the item's price
    assert scarf.variants[0].price == Decimal("59.00")


def test_merchant_atom_xml():
    (coat,) = read_feed(FIXTURES / "merchant_atom.xml")
    assert coat.language == "en" and coat.slug == "cappotto-aurora"
    assert [v.sku for v in coat.variants] == ["COAT-AUR-M", "COAT-AUR-L"]  # g:id, not Atom's id
    assert coat.sizes == ("M", "L") and coat.description == "A double-faced wool coat."
    assert coat.link == "https://bottega-aurora.example/en/p/cappotto-aurora"
    assert coat.variants[1].availability is Availability.BACKORDER


def test_merchant_tsv_with_language_argument():
    scarf, gloves = read_feed(FIXTURES / "merchant.tsv", language="it")
    assert scarf.slug == "sciarpa-merino" and scarf.colours == ("verde petrolio", "grigio")
    assert scarf.description == "Morbida sciarpa & calda"
    assert scarf.outer.length == 180.0
    assert scarf.variants[1].sale_price == Decimal("49.00")
    assert gloves.variants[0].price == Decimal("1234.56") and gloves.sizes == ("8",)


def test_semicolon_csv_with_bom_two_languages_and_html():
    it, en = read_feed(FIXTURES / "shop_semicolon.csv")
    assert ((it.slug, it.language, en.slug, en.language)
            == ("zaino-citta", "it", "zaino-citta", "en"))
    assert it.description == "Zaino in tela cerata.\n\nTasca imbottita per il portatile."
    assert it.inner == Dimensions(40.64, 28.0, None)  # 16 in; 28 from the second row
    assert it.variants[0].price == Decimal("79.90") and en.variants[0].price == Decimal("79.90")


def test_the_same_id_in_two_languages_is_two_translations(tmp_path):
    path = write(tmp_path, "id,title,price,availability,language\n"
                 "X1,Borsa,10 EUR,in stock,it\nX1,Bag,10 EUR,in stock,en\n")
    assert [(p.slug, p.language) for p in read_feed(path)] == [("X1", "it"), ("X1", "en")]


@pytest.mark.parametrize(("text", "amount", "currency"), [
    ("49.00 EUR", "49.00", "EUR"), ("49,00 EUR", "49.00", "EUR"), ("EUR 49", "49.00", "EUR"),
    ("€ 49", "49.00", "EUR"), ("1.234,56 EUR", "1234.56", "EUR"),
    ("1,234.56 EUR", "1234.56", "EUR"), ("49.90EUR", "49.90", "EUR"), ("usd 12.5", "12.50", "USD"),
    ("£1,299", "1299.00", "GBP"), ("1 234,50 €", "1234.50", "EUR"), ("49", "49.00", "EUR"),
])
def test_prices_in_the_formats_shops_export(text, amount, currency):
    assert parse_price(text) == (Decimal(amount), currency)


@pytest.mark.parametrize("text", ["abc", "-5 EUR", "12,34,5 EUR", "4.9.9,00 EUR", "EUR", "49.9999",
                                  "1e5 EUR", "99999999999 EUR"])
def test_unparseable_prices_are_refused(text):
    with pytest.raises(ValueError):
        parse_price(text)


def test_a_bad_price_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, HEADER + "A,,A,10 EUR,in stock,,,,\nB,,B,ten euros,in stock,,,,\n")
    assert problems(path, language="en") == [
        "line 3: price 'ten euros' is not an amount such as '49.00 EUR' or '€ 49,00'"]


@pytest.mark.parametrize(("text", "cm"), [("38 cm", 38.0), ("38", 38.0), ("380 mm", 38.0),
                                          ("15 in", 38.1), ('15"', 38.1), ("38,5cm", 38.5),
                                          ("0.5 m", 50.0)])
def test_lengths_with_units_become_centimetres(text, cm):
    assert parse_length(text) == cm


def test_html_becomes_plain_text():
    html = ("<div><h2>Borsa</h2><p>Pelle &amp; cotone&nbsp;bio</p><script>alert(1)</script>"
            "<ul><li>tasca</li><li>zip</li></ul>riga<br>due</div>")
    assert plain_text(html) == "Borsa\n\nPelle & cotone bio\n\n- tasca\n- zip\nriga\ndue"
    assert plain_text("5 < 10 & plain") == "5 < 10 & plain"


def test_missing_required_columns_are_named(tmp_path):
    path = write(tmp_path, "id,name,cost\nA,B,C\n")
    (problem,) = problems(path, language="it")
    assert "title, price, availability" in problem and problem.startswith("line 1:")


def test_duplicate_ids_name_both_lines(tmp_path):
    path = write(tmp_path, HEADER + "A,,A,1 EUR,in stock,,,,\nB,,B,1 EUR,in stock,,,,\n"
                 "A,,A again,1 EUR,in stock,,,,\n")
    assert problems(path, language="it") == ["line 4: id 'A' is already on line 2"]


def test_every_problem_is_listed_not_only_the_first(tmp_path):
    path = write(tmp_path, HEADER
                 + "A,,A,1 EUR,available,,,,\n"  # unknown availability
                 + "B,,B,1 EUR,out of stock,,,15/12/2026,\n"  # bad date
                 + "C,,C,1 EUR,in stock,,,,tall\n"  # bad length
                 + "D,,,1 EUR,in stock,,,,\n")  # empty title
    found = problems(path, language="it")
    assert len(found) == 4
    assert found[0].startswith("line 2: availability 'available' is not one of: in stock")
    assert found[1] == "line 3: date '15/12/2026' is not a date such as 2026-12-15"
    assert found[2].startswith("line 4: length 'tall'")
    assert found[3] == "line 5: title is missing or empty"


def test_text_not_in_the_encoding_names_its_line_and_the_fix(tmp_path):
    text = HEADER + "A,,Borsa,1 EUR,in stock,,,,\nB,,Perché,1 EUR,in stock,,,,\n"
    path = write(tmp_path, text, encoding="cp1252")
    assert problems(path, language="it") == [
        "not UTF-8 at line 3; re-export as UTF-8 or pass --encoding cp1252"]
    assert read_feed(path, language="it", encoding="cp1252")[1].title == "Perché"


def test_an_unknown_encoding_is_a_feed_error(tmp_path):
    path = write(tmp_path, HEADER)
    assert "unknown encoding" in problems(path, encoding="klingon")[0]


def test_a_multiline_quoted_description_keeps_line_numbers_right(tmp_path):
    path = write(tmp_path, "id,title,price,availability,description\n"
                 'A,A,1 EUR,in stock,"one\ntwo\nthree"\nB,B,x,in stock,\n')
    assert problems(path, language="it")[0].startswith("line 5: price 'x'")


def test_no_language_anywhere_is_an_error(tmp_path):
    path = write(tmp_path, HEADER + "A,,A,1 EUR,in stock,,,,\n")
    assert problems(path) == ["line 2: no language: add a `language` column or pass --language "
                              "it|en"]


def test_a_too_large_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)
    path = write(tmp_path, HEADER + "A,,A,1 EUR,in stock,,,,\n" * 5)
    assert "the limit is 100" in problems(path, language="it")[0]


def test_too_many_rows_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 3)
    rows = "".join(f"A{i},,A,1 EUR,in stock,,,,\n" for i in range(4))
    assert problems(write(tmp_path, HEADER + rows), language="it") == [
        "more than 3 rows: split the feed"]
    items = "".join(f"<item><g:id>A{i}</g:id></item>" for i in range(4))
    xml = write(tmp_path, f'<rss xmlns:g="http://base.google.com/ns/1.0"><channel>{items}'
                "</channel></rss>", "feed.xml")
    assert "more than 3 items" in problems(xml, language="it")[0]


def test_a_hopeless_file_stops_at_the_problem_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_PROBLEMS", 5)
    rows = "".join(f"A{i},,A,free,in stock,,,,\n" for i in range(20))
    found = problems(write(tmp_path, HEADER + rows), language="it")
    assert len(found) == 6 and found[-1].startswith("stopped after 5 problems")


def test_field_length_caps(tmp_path):
    path = write(tmp_path, HEADER + f"A,,{'x' * (limits.TITLE + 1)},1 EUR,in stock,,,,\n")
    assert problems(path,
                    language="it") == [f"line 2: title is longer than {limits.TITLE} characters"]


def test_a_field_beyond_the_csv_limit_and_nul_characters(tmp_path):
    huge = write(tmp_path, HEADER + "A,,A,1 EUR,in stock,,,,\n" + f"B,,{'x' * 200_000},1 EUR\n")
    assert problems(huge, language="it")[0].startswith("line 3: field larger than field limit")
    nul = write(tmp_path, HEADER + "A,,A\0,1 EUR,in stock,,,,\n")
    assert problems(nul, language="it") == ["line 2: title contains a NUL character"]


def test_a_row_with_more_cells_than_the_header(tmp_path):
    path = write(tmp_path, "id,title,price,availability\nA,A,1 EUR,in stock,extra\n")
    assert problems(path, language="it") == ["line 2: 5 cells but the header names 4"]


def test_prices_of_one_product_share_a_currency(tmp_path):
    path = write(tmp_path, HEADER + "A,g,A,1 EUR,in stock,,,,\nB,g,A,1 USD,in stock,,,,\n")
    assert ("price in USD, but line 2 of the same product is in EUR"
            in problems(path, language="it")[0])


def test_xml_with_a_dtd_is_refused_before_any_entity_is_expanded(tmp_path):
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{"&lol" + (str(i - 1) if i > 1 else "") + ";" * 1}'
                      f'{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 9}">'
                      for i in range(1, 10))
            + ']>\n<rss><channel><item><title>&lol9;</title></item></channel></rss>')
    (problem,) = problems(write(tmp_path, bomb, "bomb.xml"), language="it")
    assert "line 2" in problem and "DTD" in problem


def test_xml_external_entities_are_refused(tmp_path):
    xxe = ('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
           "<rss><channel><item><title>&x;</title></item></channel></rss>")
    assert "DTD" in problems(write(tmp_path, xxe, "xxe.xml"), language="it")[0]


def test_malformed_xml_names_its_line(tmp_path):
    path = write(tmp_path, "<rss>\n<channel>\n<item><id>1</item>\n</channel></rss>", "bad.xml")
    assert problems(path, language="it")[0] == "line 3: invalid XML (mismatched tag)"


def test_xml_not_in_its_declared_encoding(tmp_path):
    g = 'xmlns:g="http://base.google.com/ns/1.0"'
    path = write(tmp_path, f'<?xml version="1.0" encoding="UTF-8"?>\n<rss {g}><channel>\n'
                 "<item><g:id>1</g:id><g:title>Perché</g:title><g:price>1 EUR</g:price>"
                 "<g:availability>in stock</g:availability></item></channel></rss>",
                 "cp.xml", encoding="cp1252")
    (problem,) = problems(path, language="it")
    assert problem.startswith("line 3: invalid XML") and "--encoding cp1252" in problem
    assert read_feed(path, language="it", encoding="cp1252")[0].title == "Perché"


def test_other_names_for_columns(tmp_path):
    path = write(tmp_path, "ID,Title,Price,Availability,Colour,Content Language\n"
                 "A,Sciarpa,9 EUR,In Stock,verde,it\n")
    (scarf,) = read_feed(path)
    assert (scarf.language, scarf.colours) == ("it", ("verde",))


def test_xml_items_are_numbered_in_problems(tmp_path):
    g = 'xmlns:g="http://base.google.com/ns/1.0"'
    path = write(tmp_path, f"<rss {g}><channel>\n"
                 "<item><g:id>1</g:id><g:title>A</g:title><g:price>1 EUR</g:price>"
                 "<g:availability>in stock</g:availability></item>\n"
                 "<item><g:id>2</g:id><g:title>B</g:title>"
                 "<g:availability>in stock</g:availability></item>\n</channel></rss>", "f.xml")
    assert problems(path, language="it") == ["item 2 (line 3): price is missing or empty"]


def test_an_xml_file_that_is_not_a_feed(tmp_path):
    assert "no <item> or <entry>" in problems(write(tmp_path, "<html></html>", "x.xml"))[0]


def test_an_empty_file_and_a_header_only_file(tmp_path):
    assert "empty" in problems(write(tmp_path, ""), language="it")[0]
    assert "no products" in problems(write(tmp_path, HEADER), language="it")[0]
