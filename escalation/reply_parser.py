"""An operator's reply mail reduced to what the operator newly wrote. Pure, no database.

mail-parser-reply splits off the quoted history by the headers clients write in Italian
and English ("Il giorno ... ha scritto:", "On ... wrote:", Outlook's "Da:/Inviato:" and
"From:/Sent:"). What it misses is handled here: "-----Messaggio originale-----", mobile
footers, Thunderbird's bottom-posting, format=flowed, and signatures (its own rules cut
at any line that merely starts with "Thanks," and would eat answers). Bad input never
raises: a mail that cannot be read comes back with ``problem="unparseable"``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from bs4 import BeautifulSoup, NavigableString, Tag
from mailparser_reply.parser import EmailMessage as ReplyText

from core.text import drop_controls


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # as sent, e.g. "<abc@host>"; "" when the mail has none
    from_addr: str  # lowercased address only
    to_addrs: tuple[str, ...]  # To, Cc, Delivered-To and X-Original-To, lowercased
    subject: str
    in_reply_to: str
    references: tuple[str, ...]
    date: datetime | None
    text: str  # only what the sender newly wrote
    is_auto_reply: bool
    is_bounce: bool
    has_attachments: bool
    problem: str | None  # None, "unparseable", "empty" or "attachment_only"
    # The topmost Return-Path (the envelope sender, as the receiving side recorded it):
    # None when there is none, "" for the null sender "<>".
    return_path: str | None = None
    auth_results: tuple[str, ...] = ()  # Authentication-Results headers, topmost first


def parse_reply(raw: bytes) -> ParsedMail:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        headers, sender_name = _headers(msg)
        flags = {"is_auto_reply": is_auto_reply(msg), "is_bounce": is_bounce(msg),
                 "has_attachments": any(_is_attachment(part) for part in msg.walk())}
    except Exception:
        return ParsedMail("", "", (), "", "", (), None, "", False, False, False, "unparseable")
    try:
        if _unreadable(msg):
            text, problem = "", "unparseable"
        else:
            text = new_text(drop_controls(_body_text(msg)), sender_name=sender_name)
            problem = ("empty" if not text
                       else "attachment_only" if only_points_to_attachment(text) else None)
    except Exception:
        text, problem = "", "unparseable"
    return ParsedMail(**headers, text=text, **flags, problem=problem)


# -- headers ----------------------------------------------------------------------------

def _headers(msg: EmailMessage) -> tuple[dict, str]:
    def raw(*names: str) -> list[str]:
        # No control character survives a header: PostgreSQL refuses NUL in text, and
        # nothing of ours wants the others.
        return [drop_controls(str(value), keep_lines=False, replacement=" ") for name in names
                for value in msg.get_all(name, [])]

    recipients = [a.lower() for _, a in getaddresses(raw("To", "Cc", "Delivered-To",
                                                        "X-Original-To")) if a]
    message_ids = re.findall(r"<[^<>\s]+>", " ".join(raw("Message-ID")))
    senders = getaddresses(raw("From")) or [("", "")]
    date = getattr(msg["Date"], "datetime", None) if "Date" in msg else None
    paths = raw("Return-Path")
    return {
        "message_id": message_ids[0] if message_ids else " ".join(raw("Message-ID")).strip(),
        "from_addr": senders[0][1].lower(), "to_addrs": tuple(dict.fromkeys(recipients)),
        "subject": " ".join(" ".join(raw("Subject")).split()),
        "in_reply_to": " ".join(raw("In-Reply-To")).strip(),
        "references": tuple(re.findall(r"<[^<>\s]+>", " ".join(raw("References")))),
        "date": date,
        "return_path": _envelope_address(paths[0]) if paths else None,
        "auth_results": tuple(" ".join(value.split()) for value in raw("Authentication-Results")),
    }, senders[0][0]


def _envelope_address(value: str) -> str:
    """``<Op@Shop.example>`` -> ``op@shop.example``; ``<>`` -> ""."""
    inner = value.strip()
    if inner.startswith("<") and ">" in inner:
        inner = inner[1:inner.index(">")]
    return inner.strip().lower()


_AUTO_SUBJECT = re.compile(
    r"^\s*(?:(?:re|r|aw|fw|fwd|i)\s*:\s*)*(?:out of (?:the )?office|automatic reply|"
    r"auto[- ]?reply|autoreply|risposta automatica|fuori (?:sede|ufficio)|assente|assenza)\b",
    re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undelivered mail returned to sender|mail delivery failed|delivery status notification"
    r"|undeliverable:|returned mail:|non recapitabile|mancato recapito", re.IGNORECASE)


def is_auto_reply(msg: EmailMessage) -> bool:
    """RFC 3834 headers first, then what vacation responders that ignore it set."""
    def header(name: str) -> str:
        return str(msg.get(name, "")).split(";")[0].strip().lower()

    return (any(header(name) not in ("", "no")
                for name in ("Auto-Submitted", "X-Autoreply", "X-Autorespond"))
            or header("Precedence") in ("bulk", "junk", "list", "auto_reply")
            or bool(_AUTO_SUBJECT.match(str(msg.get("Subject", "")))))


def is_bounce(msg: EmailMessage) -> bool:
    sender = getaddresses([str(msg.get("From", ""))])[0][1].lower()
    return (any(part.get_content_type() == "message/delivery-status" for part in msg.walk())
            or (msg.get_content_type() == "multipart/report"
                and str(msg.get_param("report-type", "")).lower() == "delivery-status")
            or sender.partition("@")[0] in ("mailer-daemon", "postmaster")
            or bool(_BOUNCE_SUBJECT.search(str(msg.get("Subject", "")))))


def _is_attachment(part: EmailMessage) -> bool:
    disposition = part.get_content_disposition()
    return not part.is_multipart() and (disposition == "attachment" or (
        disposition is None and bool(part.get_filename())))


def _unreadable(msg: EmailMessage) -> bool:
    """A multipart whose parts cannot be found, or bytes that were never a mail."""
    fatal = ("NoBoundaryInMultipartDefect", "StartBoundaryNotFoundDefect")
    return (any(type(defect).__name__ in fatal for part in msg.walk() for defect in part.defects)
            or not any(msg.get(name) for name in ("From", "Message-ID", "Subject", "Date")))


# -- body -------------------------------------------------------------------------------

def _body_text(msg: EmailMessage) -> str:
    if (part := msg.get_body(preferencelist=("plain", "html"))) is None:
        return ""
    text = _decode(part)
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    if (part.get_param("format", "") or "").lower() == "flowed":
        return unflow(text, delsp=(part.get_param("delsp", "") or "").lower() == "yes")
    return text


def _decode(part: EmailMessage) -> str:
    """Any charset and transfer encoding; an unknown charset decodes as UTF-8 with
    replacement characters instead of raising (the stdlib's get_content raises)."""
    payload = part.get_payload(decode=True) or b""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def unflow(text: str, *, delsp: bool = False) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next one
    (Thunderbird and Apple Mail wrap this way; without it answers keep mid-sentence breaks)."""
    out: list[str] = []
    joining = False  # the previous line was flowed
    for line in text.replace("\r\n", "\n").split("\n"):
        quoted = len(line) - len(line.lstrip(">"))
        body = line[quoted:].removeprefix(" ") if quoted or line.startswith(" ") else line
        if joining and out:
            out[-1] += body
        else:
            out.append(">" * quoted + (" " if quoted else "") + body)
        joining = body.endswith(" ") and body != "-- "
        if joining and delsp:
            out[-1] = out[-1][:-1]
    return "\n".join(out)


_QUOTE_CONTAINERS = (".gmail_quote", ".gmail_quote_container", ".yahoo_quoted",
                     ".moz-cite-prefix", "blockquote[type=cite]", ".protonmail_quote",
                     "#mail-editor-reference-message-container")
# Outlook puts no container around the quoted mail: everything after these markers is it.
_OUTLOOK_MARKERS = ("#appendonsend", "#divRplyFwdMsg", "div[style*='border-top:solid #E1E1E1']",
                    "div[style*='border-top: solid #E1E1E1']")
_BLOCKS = {"div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
           "pre", "address", "section", "article", "header", "footer", "center"}


def html_to_text(html: str) -> str:
    """HTML mail as a person reads it: blocks on their own lines, links keep their address,
    the quoted history that mail clients wrap in known containers dropped."""
    soup = BeautifulSoup(html, "html.parser")
    for marker in soup.select(", ".join(_OUTLOOK_MARKERS))[:1]:
        for tag in [marker, *marker.find_next_siblings()]:
            tag.decompose()
    for tag in soup.select(", ".join(("script, style, head, title", *_QUOTE_CONTAINERS))):
        tag.decompose()
    out: list[str] = []
    _render(soup, out)
    return "".join(out)


def _render(node: Tag, out: list[str]) -> None:
    for child in node.children:
        if type(child) is NavigableString:  # text, not a comment or the doctype
            out.append(re.sub(r"[ \t\r\n]+", " ", str(child)))
        if not isinstance(child, Tag) or "display:none" in child.get("style", "").replace(" ", ""):
            continue
        name = child.name
        if name == "br":
            out.append("\n")
        elif name == "blockquote":
            inner: list[str] = []
            _render(child, inner)
            _ensure_breaks(out, 1)
            out.append("\n".join("> " + line for line in "".join(inner).strip("\n").split("\n")))
            _ensure_breaks(out, 1)
        else:
            breaks = 2 if name == "p" else 1 if name in _BLOCKS else 0
            _ensure_breaks(out, breaks)
            if name == "li":
                out.append("1. " if child.parent and child.parent.name == "ol" else "- ")
            _render(child, out)
            href = child.get("href", "") if name == "a" else ""
            if href.startswith(("http://", "https://")) and href != child.get_text().strip():
                out.append(f" ({href})")
            _ensure_breaks(out, breaks)


def _ensure_breaks(out: list[str], count: int) -> None:
    """Like a browser's innerText: a block ends the line once, however deeply nested."""
    tail = "".join(out[-4:])
    if count and out:
        out.append("\n" * max(0, count - (len(tail) - len(tail.rstrip("\n")))))


# -- the new text ------------------------------------------------------------------------

_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:messaggio originale|original message|messaggio inoltrato|"
    r"forwarded message)\s*-{2,}\s*$"
    r"|^[_-]{20,}\s*\n\s*(?:\*?(?:da|from|de|von|inviato|sent)\s*:)",
    re.IGNORECASE | re.MULTILINE)
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:scarica outlook per|get outlook for|inviato da(?: il mio)? (?:iphone|ipad|android)"
    r"|sent from my \w+|inviato dal mio \w+)\b.*$", re.IGNORECASE | re.MULTILINE)
_ATTRIBUTION = re.compile(r"(?:ha scritto|wrote)\s*:\s*$", re.IGNORECASE)
# A line that is only a sign-off, near the end: it and what follows (name, role) go.
_SIGNOFF = re.compile(
    r"^(?:un saluto|saluti|cordiali saluti|distinti saluti|un cordiale saluto|a presto|"
    r"buona giornata|buona serata|grazie(?: mille)?|grazie e saluti|best regards|kind regards|"
    r"regards|best|thanks|thank you|many thanks|cheers|all the best)\s*[,.!]?$", re.IGNORECASE)
MAX_SIGNATURE_LINES = 8


def new_text(body: str, *, sender_name: str = "") -> str:
    """What the sender wrote above (or, bottom-posting, below) the quoted history."""
    text = body.replace("\r\n", "\n").replace("\xa0", " ")
    text = re.sub("[\u200b\u200c\u200d\ufeff]", "", text)
    for pattern in (_SEPARATOR, _MOBILE_FOOTER):
        text = text[:match.start()] if (match := pattern.search(text)) else text
    # A fresh list each time: the library appends to it.
    message = ReplyText(text, languages=["it", "en"], keep_hyphen_lists=True).read()
    first = message.replies[0]
    if not first.headers:
        result = first.content
    elif _ATTRIBUTION.search(first.headers):  # Thunderbird's default: answer below the quote
        rest = message.text.split(first.headers, 1)[-1]
        result = "\n".join(line for line in rest.split("\n") if not line.startswith(">"))
    else:
        result = ""
    return _without_signature(_tidy(result), sender_name).strip()


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.split("\n")))


def _without_signature(text: str, sender_name: str) -> str:
    lines = text.rstrip().split("\n")
    while lines and (lines[-1].startswith(">") or not lines[-1].strip()):
        lines.pop()  # a quote block left at the end, with no attribution line above it
    names = {sender_name.strip().lower(), *sender_name.lower().split()[:1]} - {""}
    # RFC 3676's "-- " at any distance; a sign-off line only near the end.
    lines = lines[:next((i for i, line in enumerate(lines) if line.strip() in ("--", "__")), None)]
    lines = lines[:next((i for i in range(max(1, len(lines) - MAX_SIGNATURE_LINES), len(lines))
                         if _SIGNOFF.match(lines[i].strip())), None)]
    # A bare first name under the answer, as most people sign: the customer gets the
    # shop's own sign-off, and the knowledge base should not learn a person's name.
    while lines and not lines[-1].strip():
        lines.pop()
    while len(lines) > 2 and not lines[-2].strip() and lines[-1].strip(" ,.").lower() in names:
        lines = lines[:-2]
    return "\n".join(lines)


_ATTACHMENT_PHRASES = re.compile(
    r"\b(?:(?:please\s+)?(?:vedi|vedere|trovi|trova|trovate|ecco|see|find|check)\s+)?"
    r"(?:(?:in|l'|il file|the)\s*)?(?:allegat[oaie]|attached(?:\s+file)?|attachment)\b",
    re.IGNORECASE)
_COURTESY = re.compile(
    r"\b(?:buongiorno|buonasera|salve|ciao|gentile cliente|grazie|cordiali saluti|saluti|"
    r"un saluto|hi|hello|dear|thanks|thank you|best regards|kind regards|regards|best|cheers)\b",
    re.IGNORECASE)
MAX_OTHER_WORDS = 8  # what may remain besides phrases and courtesies: "la scheda", a name


def only_points_to_attachment(text: str) -> bool:
    """True for "vedi allegato" / "see attachment" answers: nothing the customer or the
    knowledge base could use is in the text itself."""
    if not _ATTACHMENT_PHRASES.search(text):
        return False
    rest = _COURTESY.sub(" ", _ATTACHMENT_PHRASES.sub(" ", text))
    return len(re.findall(r"\w+", rest)) <= MAX_OTHER_WORDS
