"""The reply parser on mails as real clients write them (fixtures in mail/)."""

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.reply_parser import (
    html_to_text,
    new_text,
    only_points_to_attachment,
    parse_reply,
    unflow,
)

MAIL = Path(__file__).parent / "mail"
REPLY_TO = "assistenza+t12-toy710-cll2wltt6jc3rjju@bottega-aurora.example"
ESCALATION_ID = "<t12.escalation.0.t12-toy710-cll2wltt6jc3rjju@bottega-aurora.example>"

EXPECTED = {
    "gmail_it.eml": (
        "Buongiorno,\n\nsì, il pagamento in 3 rate è disponibile con PayPal e con Klarna per gli "
        "ordini da 60 € in su. Si sceglie al momento del checkout, senza costi aggiuntivi."),
    "gmail_en.eml": (
        "Hi,\n\nyes: orders placed before 2 pm on a working day leave the same day, and\n"
        "delivery to the UK takes 3-5 working days with DHL."),
    "outlook_it.eml": (
        "Buongiorno,\n\nla garanzia sulle borse in pelle è di 24 mesi dalla consegna. Per aprire "
        "una pratica basta scrivere a “assistenza@bottega-aurora.example” con il numero "
        "d’ordine e una foto del difetto."),
    "outlook_it_messaggio_originale.eml": (
        "Salve,\n\ni resi sono gratuiti entro 30 giorni: il cliente trova l'etichetta prepagata "
        "nella sua area personale, sezione \"I miei ordini\"."),
    "outlook_en.eml": (
        "Hello,\n\nthe Aurora tote is made of vegetable-tanned Italian leather; the lining is "
        "100% cotton."),
    "outlook_ios_base64.eml": (
        "Sì, il ritiro in negozio a Firenze è gratuito: l'ordine è pronto in 24 ore e resta in "
        "negozio per 10 giorni."),
    "thunderbird_it.eml": (
        "Buongiorno,\n\nsì, spediamo in Svizzera con DHL Express in 2-4 giorni lavorativi. I dazi "
        "e l'IVA svizzera sono a carico del destinatario e vengono riscossi dal corriere alla "
        "consegna."),
    "html_only.eml": (
        "Buonasera,\n\nil buono regalo vale 12 mesi dall'acquisto e si può usare anche per più "
        "ordini, fino a esaurimento del credito."),
    "unknown_charset.eml": "La caffettiera \ufffd compatibile con l'induzione.",
    "vedi_allegato.eml": "Buongiorno,\n\nvedi allegato.",
    "empty_reply.eml": "",
    "ooo_it.eml": ("Sono fuori ufficio fino al 30 novembre, con accesso limitato alla posta.\n"
                   "Per urgenze scrivete a assistenza@bottega-aurora.example."),
    "ooo_en.eml": "I am out of the office until 30 November with limited access to email.",
}


def read(name: str) -> bytes:
    return (MAIL / name).read_bytes()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_new_text_of_each_client_is_extracted_exactly(name):
    assert parse_reply(read(name)).text == EXPECTED[name]


@pytest.mark.parametrize("name", ["gmail_it.eml", "gmail_en.eml", "outlook_it.eml",
                                  "outlook_it_messaggio_originale.eml", "outlook_en.eml",
                                  "outlook_ios_base64.eml", "thunderbird_it.eml",
                                  "html_only.eml", "unknown_charset.eml"])
def test_real_answers_have_no_problem_and_no_flags(name):
    mail = parse_reply(read(name))
    assert (mail.problem, mail.is_auto_reply, mail.is_bounce) == (None, False, False)
    assert not mail.has_attachments


def test_headers_are_read():
    mail = parse_reply(read("gmail_it.eml"))
    assert mail.message_id == ("<CAJ3kq8Zb0nR9xqTgV+4f2mWQd1HcY0pYx7=uQn8kQm1s4eV3aA"
                               "@mail.gmail.com>")
    assert mail.from_addr == "operatore@bottega-aurora.example"
    assert mail.to_addrs == (REPLY_TO,)
    assert mail.subject == "Re: [#T12] Nuova domanda dal sito: pagamento in 3 rate"
    assert mail.in_reply_to == ESCALATION_ID and mail.references == (ESCALATION_ID,)
    assert mail.date == datetime(2026, 11, 23, 9, 32, 7, tzinfo=UTC)
    # Outlook capitalises as the address book does; comparisons need one spelling.
    assert parse_reply(read("outlook_it.eml")).from_addr == "operatore@bottega-aurora.example"


def test_problems_and_flags_of_the_other_fixtures():
    assert parse_reply(read("empty_reply.eml")).problem == "empty"
    allegato = parse_reply(read("vedi_allegato.eml"))
    assert allegato.problem == "attachment_only" and allegato.has_attachments
    broken = parse_reply(read("broken_mime.eml"))
    assert broken.problem == "unparseable" and broken.text == ""
    assert broken.from_addr == "operatore@bottega-aurora.example"  # headers still read
    for name in ("ooo_it.eml", "ooo_en.eml"):
        assert parse_reply(read(name)).is_auto_reply
    bounce = parse_reply(read("bounce.eml"))
    assert bounce.is_bounce and bounce.from_addr == "mailer-daemon@mx1.bottega-aurora.example"


def mail(body: str = "Sì, certo.", *, subject: str = "Re: [#T12] Domanda",
         sender: str = "operatore@bottega-aurora.example", charset: str = "utf-8",
         **headers: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, REPLY_TO, subject
    message["Message-ID"] = "<m1@example.com>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, charset=charset)
    return bytes(message)


@pytest.mark.parametrize("subject", [
    "Fuori sede: Re: [#T12] Domanda", "Assente fino al 30 novembre", "Risposta automatica: x",
    "Automatic reply: [#T12] Domanda", "Out of Office: [#T12] Domanda", "R: Fuori ufficio",
])
def test_auto_replies_are_recognised_by_subject(subject):
    assert parse_reply(mail(subject=subject)).is_auto_reply


@pytest.mark.parametrize("header", [
    {"Auto_Submitted": "auto-replied"}, {"Auto_Submitted": "auto-generated; owner-email=x@y"},
    {"X_Autoreply": "yes"}, {"X_Autorespond": "Vacation"}, {"Precedence": "bulk"},
    {"Precedence": "junk"}, {"Precedence": "list"}, {"Precedence": "auto_reply"},
])
def test_auto_replies_are_recognised_by_header(header):
    assert parse_reply(mail(**header)).is_auto_reply


@pytest.mark.parametrize("fields", [
    {"Auto_Submitted": "no"}, {"subject": "Re: [#T12] Il cliente è assente?"}, {},
])
def test_ordinary_replies_are_not_auto_replies(fields):
    assert not parse_reply(mail(**fields)).is_auto_reply


@pytest.mark.parametrize("fields", [
    {"sender": "Mail Delivery System <Mailer-Daemon@mx.example.net>",
     "subject": "Mail delivery failed: returning message to sender"},
    {"sender": "postmaster@example.net", "subject": "Delivery report"},
    {"subject": "Undeliverable: [#T12] Domanda"},
])
def test_bounces_are_recognised_without_a_delivery_report(fields):
    assert parse_reply(mail(**fields)).is_bounce


def test_an_unknown_charset_label_over_utf8_bytes_still_reads_well():
    raw = mail("Caffè e tè.").replace(b'charset="utf-8"', b"charset=x-unknown")
    assert b"x-unknown" in raw
    assert parse_reply(raw).text == "Caffè e tè."


def test_lists_and_sentences_starting_with_thanks_are_kept():
    body = ("Hi Emma,\n\nThanks, your order ships tomorrow. You can pay with:\n- PayPal\n"
            "- Klarna\n\nBest regards,\nSophie Marchetti\nBottega Aurora\n\n"
            "On Mon, 23 Nov 2026 at 10:15, Bottega Aurora <a@b.example> wrote:\n> Question?\n")
    assert new_text(body, sender_name="Sophie Marchetti") == (
        "Hi Emma,\n\nThanks, your order ships tomorrow. You can pay with:\n- PayPal\n- Klarna")


def test_a_quote_without_an_attribution_line_is_dropped():
    assert new_text("Sì, entro 24 ore.\n\n> Quanto tempo ci vuole?\n> Grazie\n") == (
        "Sì, entro 24 ore.")


@pytest.mark.parametrize(("text", "expected"), [
    ("Buongiorno,\n\nvedi allegato.\n\nMarco", True),
    ("In allegato la scheda.", True),
    ("Please find attached the size chart.\n\nThanks,\nSophie", True),
    ("See attachment", True),
    ("In allegato trovi la scheda tecnica del prodotto richiesto.", True),
    (("L'etichetta di reso è allegata alla mail di conferma dell'ordine; se non la trova, "
      "la scarichi dall'area personale."), False),
    ("Sì, la borsa è disponibile anche in blu.", False),
])
def test_answers_that_only_point_to_an_attachment(text, expected):
    assert only_points_to_attachment(text) is expected


def test_html_keeps_links_lists_and_paragraphs_and_drops_outlook_history():
    html = ("<p>Ecco i <a href='https://shop.example/resi'>moduli</a>:</p><ul><li>reso</li>"
            "<li>cambio</li></ul><div>Ciao<br>Marco</div><div id='appendonsend'></div><hr>"
            "<div id='divRplyFwdMsg'><b>Da:</b> x</div><div>Domanda originale</div>")
    assert html_to_text(html).strip() == (
        "Ecco i moduli (https://shop.example/resi):\n\n- reso\n- cambio\nCiao\nMarco")


def test_format_flowed_lines_are_joined():
    assert unflow("Una riga \nspezzata.\n> citata \n> pure\n-- \nFirma") == (
        "Una riga spezzata.\n> citata pure\n-- \nFirma")
    assert unflow("Zusammen \ngeschrieben", delsp=True) == "Zusammengeschrieben"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw):
    assert parse_reply(raw).problem in (None, "unparseable", "empty", "attachment_only")


@pytest.mark.parametrize("name", sorted(p.name for p in MAIL.glob("*.eml")))
def test_truncated_mail_never_raises(name):
    raw = read(name)
    for cut in range(0, len(raw), max(1, len(raw) // 40)):
        parse_reply(raw[:cut])
