"""Scrubbing personal data from what the knowledge base learns.

An operator's answer to one customer must not teach the bot that customer's email,
phone, order number, IBAN or name. Detected spans become placeholders such as
"[email]", so the learned text still reads naturally. Names are caught where the text
says who someone is ("mi chiamo Anna Rossi", "Gentile sig. Bianchi", "Hi Mark,"):
free-standing names are not detectable without a language model, which we do not ship.
"""

from __future__ import annotations

import re

import phonenumbers

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_ORDER = re.compile(
    r"(?i)\b(ordine|order|ordinazione|pratica|reso|return|rma|ticket|tracking|spedizione|"
    r"shipment|fattura|invoice)(\s+(?:n(?:o|r|um)?\.?|numero|number|#|nº)?\s*:?\s*)"
    r"(#?(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,})")
_HASH_NUMBER = re.compile(r"#\s?\d{4,}\b")
_NAME = r"([A-ZÀ-Ý][a-zà-ÿ']+(?:\s+[A-ZÀ-Ý][a-zà-ÿ']+){0,2})"
_NAME_INTRO = re.compile(
    r"(?i:\b(mi chiamo|sono|my name is|i am|i'm|this is|gentile|gentilissim[ao]|egregi[ao]|"
    r"caro|cara|dear|hi|hello|ciao|buongiorno|salve)(\s+(?:(?i:sig\.?|sig\.ra|signor[ae]?|"
    r"dott\.?(?:ssa)?|mr\.?|mrs\.?|ms\.?)\s+)?))" + _NAME)
_NOT_NAMES = {"Cliente", "Customer", "Team", "Bottega", "Aurora", "Tutti", "All", "Grazie",
              "Thanks", "Il", "La", "The", "Un", "Una", "A", "In", "Qui", "Here", "Buongiorno",
              "Sono", "Ho", "Abbiamo", "We", "Ciao", "Hello"}


def scrub(text: str, region: str = "IT") -> str:
    """The text with personal data replaced by placeholders."""
    text = _EMAIL.sub("[email]", text)
    text = _IBAN.sub(lambda m: "[iban]" if _iban_ok(m.group(0)) else m.group(0), text)
    text = _CARD.sub(lambda m: "[card]" if _luhn_ok(m.group(0)) else m.group(0), text)
    text = _phones(text, region)
    text = _ORDER.sub(lambda m: f"{m.group(1)}{m.group(2)}[number]", text)
    text = _HASH_NUMBER.sub("[number]", text)
    return _NAME_INTRO.sub(_name, text)


def _phones(text: str, region: str) -> str:
    matches = list(phonenumbers.PhoneNumberMatcher(text, region))
    for match in reversed(matches):  # right to left keeps the offsets valid
        text = text[: match.start] + "[phone]" + text[match.end:]
    return text


def _name(match: re.Match) -> str:
    first = match.group(3).split()[0]
    if first in _NOT_NAMES:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}[name]"


def _iban_ok(candidate: str) -> bool:
    iban = candidate.replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def _luhn_ok(candidate: str) -> bool:
    digits = [int(ch) for ch in candidate if ch.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0
