"""An operator's emailed answer made fit to be the bot's answer: no control characters,
no greeting, no signature block, a capital letter first.

The customer who asked may read the operator's whole mail, signature included: that
is a personal reply. The knowledge base answers strangers in the bot's voice, so the
person's sign-off, name, role, company and phone never go in it.

No maintained library does this for Italian and English: mail-parser-reply (already used
to cut quoted history) knows one Italian sign-off and cuts English mail at any line that
starts with "Thanks," or "- ", which eats answers and lists. So this is a rule set, kept
deliberately narrow: only the tail of the answer is looked at, a sign-off must stand on
its own line, and a line is signature only when it looks like one (a name, a role or
company, a phone, an address, a mobile footer), never because of where it is alone.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls but newline and tab; bidi embeddings, overrides and isolates; marks
# and zero-width characters that make text render or compare differently from how it reads.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029\x85]")

GREETING_WORDS = (r"ciao|salve|buongiorno|buon giorno|buonasera|buona sera|gentile|gentilissim[ao]|"
                  r"egregi[ao]|car[oa]|hi|hello|hey|dear|good (?:morning|afternoon|evening)")
# A line that is only a greeting: the word and at most three more ("Gentile signora Rossi,").
_GREETING_LINE = re.compile(rf"^\s*(?:{GREETING_WORDS})(?:\s+[^\s,!:.?]+){{0,3}}\s*[,!.:]?\s*$",
                            re.IGNORECASE)
# "Buongiorno, certo: ..." on one line: the greeting and whom it names go.
_GREETING_LEAD = re.compile(rf"^\s*(?:{GREETING_WORDS})\b[^,!:\n]{{0,40}}[,!:]\s+",
                            re.IGNORECASE)

SIGN_OFFS = (
    # Italian
    r"(?:un |tanti |molti |i miei )?(?:cari |cordiali |distinti |migliori )?"
    r"salut(?:o|i)(?: cordiali)?",
    r"(?:un )?(?:caro|cordiale|affettuoso) saluto", r"cordialmente", r"distintamente",
    r"a presto", r"a disposizione", r"buona (?:giornata|serata|continuazione|domenica)",
    r"grazie(?: mille| ancora| di nuovo)?"
    r"(?: e (?:buona (?:giornata|serata)|(?:cordiali )?saluti))?",
    r"un abbraccio", r"ciao",
    # English
    r"(?:best|kind|warm|warmest|many|with) (?:regards|wishes)", r"regards", r"best", r"cheers",
    r"(?:many )?thanks(?: again| a lot)?", r"thank you(?: again)?", r"all the best",
    r"(?:yours )?(?:sincerely|faithfully|truly)", r"talk soon", r"take care",
    r"have a (?:nice|great|good) (?:day|weekend)",
)
# The whole line is the sign-off, perhaps with the name after a comma ("Un saluto, Marta").
_SIGN_OFF = re.compile(
    rf"^\s*(?i:{'|'.join(SIGN_OFFS)})\s*[,.!]*\s*"
    r"(?:[A-ZÀ-Ý][\w'’.-]*(?:\s+[A-ZÀ-Ý][\w'’.-]*){0,2})?"
    r"\s*[,.!]*\s*$")  # the name after it is capitalised: "Grazie per la pazienza" is text
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:inviato|sent|spedito|scritto)\s+(?:da|dal|dalla|from|via|with|using)\b.{0,60}$"
    r"|^\s*(?:scarica|get|download)\s+outlook\s+(?:per|for)\b.*$", re.IGNORECASE)
_SEPARATOR = re.compile(r"^\s*(?:--|__|—|-- ?|_{3,}|-{3,})\s*$")
_PHONE = re.compile(
    r"^\s*(?:(?:tel|phone|telefono|cell|cellulare|mobile|mob|fax|whatsapp|t|m|p)\b\.?\s*:?\s*)?"
    r"(?:\[phone\]|\+?[\d][\d ()./-]{6,}\d)\s*(?:[|/·,].*)?$", re.IGNORECASE)
_CONTACT = re.compile(
    r"^\s*(?:e-?mail|mail|web|sito|website|skype|linkedin|tel|phone|telefono|cell|mobile|fax)"
    r"\b\.?\s*:", re.IGNORECASE)
# A bare link or address: signature under a sign-off, but may end an answer ("scrivete a:").
_LINK = re.compile(r"^\s*(?:www\.\S+|https?://\S+|\[email\]|[\w.+-]+@[\w-]+\.[\w.-]+)\s*$",
                   re.IGNORECASE)
_ROLE = re.compile(
    r"servizio clienti|assistenza clienti|customer (?:service|care|support|success)|"
    r"support team|team (?:assistenza|supporto)|ufficio\b|responsabile|manager|operatore|"
    r"operator|sales|vendite|amministrazione|reparto|department|s\.r\.l|s\.p\.a|srl\b|spa\b|"
    r"\bltd\b|\binc\b|p\.\s?iva|partita iva|vat\b", re.IGNORECASE)
_ADDRESS = re.compile(r"^\s*(?:via|viale|piazza|corso|largo|"
                      r"\d+\s+\w+\s+(?:street|road|st\.?|rd\.?))"
                      r"\b.*\d", re.IGNORECASE)
_COMPANY_END = re.compile(r"(?:s\.r\.l|s\.p\.a|s\.a\.s|s\.n\.c|ltd|inc|co|corp)\.$", re.IGNORECASE)
_NAME = re.compile(r"^\s*[A-ZÀ-Ý][\w'’.-]*(?:\s+[A-ZÀ-Ý][\w'’.-]*){0,3}\s*$")
SIGNATURE_LINES = 10  # a signature longer than this is not one: the text is kept


def clean_text(text: str) -> str:
    """Line breaks made "\\n", invisible and control characters removed (tab kept),
    Unicode composed (NFC) so equal-looking texts compare equal."""
    text = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", text))
    return _INVISIBLE.sub("", text)


def answer_body(text: str, *, names: tuple[str, ...] = ()) -> str:
    """The reusable part of an emailed answer: no greeting, no signature block, starting
    with a capital letter. `names` are the shop's and the operator's names, which on a
    line of their own near the end are signature too."""
    lines = [line.rstrip() for line in clean_text(text).strip().split("\n")]
    if lines and _GREETING_LINE.match(lines[0]):
        lines = lines[1:]
    lines = _without_signature(lines, names)
    body = "\n".join(lines).strip()
    body = _GREETING_LEAD.sub("", body, count=1) if _GREETING_LEAD.match(body) else body
    return _capitalised(body.strip())


def _without_signature(lines: list[str], names: tuple[str, ...]) -> list[str]:
    # A separator or a mobile footer ends the answer wherever it is; a name right above
    # it is the signature's too.
    stripped = False
    for index, line in enumerate(lines):
        if index and (_SEPARATOR.match(line) or _MOBILE_FOOTER.match(line)):
            lines, stripped = _trimmed(lines[:index]), True
            break
    wanted = {name.strip().lower() for name in names if name.strip()}
    first_tail = max(0, len(lines) - SIGNATURE_LINES)
    for index in range(first_tail, len(lines)):
        if _SIGN_OFF.match(lines[index]) and all(
                _signature_line(line, wanted) for line in lines[index + 1:]):
            return _trimmed(lines[:index])
    # No sign-off: trailing lines that are signature on their own (role, phone), and a
    # name right above such a line.
    while len(lines) > 1 and _signature_line(lines[-1], wanted, bare=True, after=stripped):
        lines, stripped = _trimmed(lines[:-1]), True
    return _trimmed(lines)


def _signature_line(line: str, names: set[str], *, bare: bool = False,
                    after: bool = False) -> bool:
    """True for a line a signature holds. `bare`: no sign-off above it, so a blank line,
    a link or a lone name is not enough (it may end the answer) unless `after` a line
    that was signature."""
    text = line.strip()
    lower = text.lower()
    if not text:
        return not bare
    if lower.strip(" ,.") in names or _PHONE.match(text) or _CONTACT.match(text):
        return True
    if _ADDRESS.match(text) or _MOBILE_FOOTER.match(text) or (not bare and _LINK.match(text)):
        return True
    if len(text.split()) > 8 or text.endswith(("?", ":", ";")):
        return False
    sentence = text.endswith(".") and not _COMPANY_END.search(text)
    if _ROLE.search(text) or any(name in lower for name in names):
        return not (bare and sentence)
    return (not bare or after) and bool(_NAME.match(text.replace("|", " ").replace(" - ", " ")))


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _capitalised(text: str) -> str:
    """"certo: ..." -> "Certo: ..."; text starting with a digit or symbol is left alone."""
    for index, char in enumerate(text):
        if char.isalpha():
            return text[:index] + char.upper() + text[index + 1:] if char.islower() else text
        if not char.isspace() and char not in "\"'«“(":
            return text
    return text
