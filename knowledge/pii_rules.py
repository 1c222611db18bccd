"""Recognisers of personal data in Italian and English support text, one per kind.

Each returns spans (start, end, kind) and is deliberately narrow: a scrubbed learned
answer must still read well, so a price, a date, a product or "via email" must survive.
Checksums decide where a number has one (IBAN, cards: python-stdnum and Luhn); phone
numbers come from libphonenumber; the rest are patterns anchored on what makes the data
personal: a codice fiscale's shape, a street type followed by a house number, a postcode
beside a city, a name after a role ("il tecnico", "our courier") or an introduction.
A name standing alone ("Marco Neri ha ordinato") is not caught: that needs a language
model (see privacy.py for why none is shipped).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn


class Found(NamedTuple):
    start: int
    end: int
    kind: str  # email, iban, card, phone, fiscal_code, address, order, person


EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
# Codice fiscale: surname, name, year, month letter, day (+40 for women), place, check.
# Digits may be replaced by letters (omocodia), so each digit slot takes [0-9LMNPQRSTUV].
_D = "[0-9LMNPQRSTUV]"
FISCAL_CODE = re.compile(rf"(?i)\b[A-Z]{{6}}{_D}{{2}}[ABCDEHLMPRST]{_D}{{2}}[A-Z]{_D}{{3}}[A-Z]\b")
ORDER = re.compile(
    r"(?i)\b(?:ordine|order|ordinazione|pratica|reso|return|rma|ticket|tracking|spedizione|"
    r"shipment|fattura|invoice)\s+(?:(?:è|is|was|era)\s+)?(?:n(?:o|r|um)?\.?|numero|number|#|nº)?"
    r"\s*:?\s*"
    r"(#?(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,})")
HASH_NUMBER = re.compile(r"#\s?\d{4,}\b")

_CAP = r"[A-ZÀ-Ý][a-zà-ÿ'’]+"  # a capitalised word
_NAME = rf"{_CAP}(?:[ \t]+{_CAP}){{0,2}}"
# -- addresses --------------------------------------------------------------------------------
_IT_STREET = (r"via|viale|v\.le|corso|c\.so|piazza|p\.za|p\.zza|piazzale|largo|vicolo|vico|"
              r"strada|str\.|contrada|c\.da|località|loc\.|borgo|lungomare|lungarno|salita|"
              r"frazione|fraz\.|calle|galleria|circonvallazione|traversa")
_IT_LINK = r"d[ei]|del|della|dello|delle|degli|dei|dell['’]|d['’]|da|san|santa|santo|sant['’]"
_IT_WORD = rf"(?:[A-ZÀ-Ý][\w'’]*\.?|{_IT_LINK}|[IVX]+)"
# Customers write street names in lower case too; after "via" a few words mean "by"
# ("via mail 2 volte"), so they never start a street name.
_NOT_STREET = r"(?!(?:e-?mail|mail|posta|pec|sms|telefono|whatsapp|chat|web|internet|fax|app)\b)"
_IT_LOWER = (r"(?!(?:corriere|bonifico|aerea|in|a|per|entro|con|tra|fra|e|o|il|la|le|i|"
             r"gli|lo|un|una|circa|ogni|solo|anche|dopo|prima)\b)[a-zà-ÿ][a-zà-ÿ'’]+")
IT_ADDRESS = re.compile(
    rf"(?i:\b(?:{_IT_STREET}))[ \t]+{_NOT_STREET}(?:(?:{_IT_WORD}|{_IT_LOWER})[ \t]+){{0,5}}?"
    rf"(?:{_IT_WORD}|{_IT_LOWER}),?[ \t]*"
    r"(?i:(?:n\.?|n°|nr\.?|num\.?|civico)[ \t]*)?\d{1,4}[A-Za-z]?(?:/[A-Za-z0-9]{1,3})?\b"
    r"(?:,?[ \t]*(?:-[ \t]*)?\d{5}\b)?")  # and the CAP when it follows
_EN_STREET = (r"Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?|Court|Ct\.?|"
              r"Place|Pl\.?|Square|Sq\.?|Terrace|Close|Way|Boulevard|Blvd\.?|Crescent|"
              r"Gardens|Grove|Row|Hill|Parkway|Highway|Mews|Walk")
EN_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Z]?[ \t]+(?:[NSEW][ \t]+)?"
    rf"(?:(?:{_CAP}|\d+(?:st|nd|rd|th)|Fifth|First|Second|Third)"
    rf"[ \t]+){{1,3}}(?:{_EN_STREET})(?![\w])(?:[ \t]+(?:NW|NE|SW|SE|N|S|E|W)\b)?")
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}\b")
# A 5-digit postcode: Italian CAP before a city, or a US ZIP after a state's code.
CAP_CITY = re.compile(rf"\b\d{{5}}(?=[ \t]+{_CAP})")
US_ZIP = re.compile(r"(?<=\b[A-Z]{2}[ \t])\d{5}(?:-\d{4})?\b")
# -- people -----------------------------------------------------------------------------------
_ROLES_IT = (r"tecnic[oa]|corriere|collega|commess[oa]|responsabile|addett[oa]|operatore|"
             r"operatrice|fattorino|marito|moglie|figli[oa]|madre|padre|mamma|papà|"
             r"fratello|sorella|compagn[oa]|vicin[oa]|destinatari[oa]|cugin[oa]|zi[oa]|"
             r"nonn[oa]|amic[oa]|consulente|impiegat[oa]|signor[ae]?|sig\.(?:ra)?|"
             r"dott\.(?:ssa)?|dottor(?:essa)?|avv\.|ing\.|prof\.(?:ssa)?")
_ROLES_EN = (r"technician|courier|driver|colleague|agent|manager|assistant|representative|"
             r"rep|operator|wife|husband|son|daughter|mother|father|brother|sister|"
             r"neighbou?r|partner|recipient|friend|supervisor|engineer|"
             r"mr\.?|mrs\.?|ms\.?|dr\.?")
ROLE_NAME = re.compile(
    rf"(?i:\b(?:{_ROLES_IT}|{_ROLES_EN}))"
    r"(?:[ \t]+(?i:del|della|dello|dei|delle|of|at)[ \t]+[a-zà-ÿ]+)?,?[ \t]+"
    rf"({_NAME})")
NAME_INTRO = re.compile(
    r"(?i:\b(?:mi chiamo|sono|my name is|i am|i'm|this is|gentile|gentilissim[ao]|"
    r"egregi[ao]|caro|cara|dear|hi|hello|ciao|buongiorno|salve|parlato con|spoke (?:with|to)|"
    r"talked to|di nome|tale|a nome di|intestat[oa] a|in the name of|"
    r"signed by|firmato da)"
    r"[ \t]+(?:(?:sig\.?|sig\.ra|signor[ae]?|dott\.?(?:ssa)?|mr\.?|mrs\.?|ms\.?)[ \t]+)?)"
    rf"({_NAME})")
# Capitalised words that follow a role or a greeting without being anybody's name.
NOT_NAMES = frozenset("""
cliente customer team bottega aurora tutti all grazie thanks il la lo le the un una a in
qui here buongiorno sono ho abbiamo we ciao hello ieri oggi domani yesterday today tomorrow
lunedì martedì mercoledì giovedì venerdì sabato domenica monday tuesday wednesday thursday
friday saturday sunday servizio service assistenza support clienti italia italy
""".split())


# "Lucy Morgan here, ..." at the start of a message.
NAME_HERE = re.compile(rf"^[ \t]*({_NAME})[ \t]+(?:here|qui)\b")


def _spans(pattern: re.Pattern, kind: str, group: int = 0) -> Callable[[str], Iterator[Found]]:
    def find(text: str) -> Iterator[Found]:
        for match in pattern.finditer(text):
            yield Found(match.start(group), match.end(group), kind)
    return find


def _checked(pattern: re.Pattern, kind: str, valid: Callable[[str], bool]
             ) -> Callable[[str], Iterator[Found]]:
    def find(text: str) -> Iterator[Found]:
        for match in pattern.finditer(text):
            if valid(match.group(0)):
                yield Found(match.start(), match.end(), kind)
    return find


def _card_ok(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def _names(pattern: re.Pattern) -> Callable[[str], Iterator[Found]]:
    def find(text: str) -> Iterator[Found]:
        for match in pattern.finditer(text):
            words = match.group(1).split()
            while words and words[-1].lower() in NOT_NAMES:
                words.pop()  # "il corriere Mario Oggi" keeps "Oggi"
            if not words or words[0].lower() in NOT_NAMES:
                continue
            start = match.start(1)
            yield Found(start, start + len(" ".join(words)), "person")
    return find


def phones(text: str, region: str) -> Iterator[Found]:
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        yield Found(match.start, match.end, "phone")


RECOGNISERS: tuple[Callable[[str], Iterator[Found]], ...] = (
    _spans(EMAIL, "email"),
    _checked(IBAN, "iban", lambda text: stdnum_iban.is_valid(text)),
    _checked(CARD, "card", _card_ok),
    _spans(FISCAL_CODE, "fiscal_code"),
    _spans(IT_ADDRESS, "address"),
    _spans(EN_ADDRESS, "address"),
    _spans(UK_POSTCODE, "address"),
    _spans(CAP_CITY, "address"),
    _spans(US_ZIP, "address"),
    _spans(ORDER, "order", group=1),
    _spans(HASH_NUMBER, "order"),
    _names(ROLE_NAME),
    _names(NAME_INTRO),
    _names(NAME_HERE),
)
