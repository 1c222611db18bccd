"""A logged-in shop customer's email, as the shop's backend vouches for it.

The chat's metadata comes from the browser, so a bare `customer_email` proves nothing:
anyone can type any address into a REST call. Only an address signed by the shop's
backend with the secret it shares with the bot (SUPPORTBOT_SHOP_IDENTITY_SECRET) is
taken as the customer's, and then the bot does not ask for an email again.

The shop computes, server side, for the signed-in customer:

    expires = str(unix time + validity)       # optional, but recommended
    message = email + "|" + expires if expires else email
    customer_email_sig = hex(HMAC-SHA256(secret, message.encode("utf-8")))

and passes `customer_email`, `customer_email_expires` (when used) and
`customer_email_sig` in the chat widget's metadata. The signature covers the address
exactly as sent; the bot normalises it only after checking.

Below, the address a customer types in the chat: often inside a sentence ("la mia mail
è mario.rossi@gmail.com grazie"), sometimes mistyped; the form then tells them what is
wrong in their language (`EMAIL_PROBLEMS`), never the validation library's English.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from escalation import EscalationError, valid_email

MAX_SIG_CHARS = 128
MAX_TYPED_EMAIL = 254  # the longest address mail servers accept (RFC 5321 path)
# What the form says about a typed address: each a phrase key (bot/conversation/phrases.py).
EMAIL_PROBLEMS = ("email_no_at", "email_spaces", "email_bad_domain", "email_too_long",
                  "email_bad", "email_two")
_EDGES = "\"'«»“”‘’()<>[]{},;:!?."
# Words that may introduce an address in a sentence ("it is", "la mia mail è", "ecco").
_LEAD_INS = {"is", "it's", "its", "mail", "email", "e-mail", "address", "here", "sure", "yes",
             "ok", "okay", "at", "to", "è", "e'", "é", "ecco", "indirizzo", "certo", "sì", "si",
             "a", "mio", "mia", "use", "usa", "usate", "scrivete", "write", "contact", "me"}


def sign_email(email: str, secret: str, expires: int | None = None) -> str:
    """What the shop's backend computes (here for tests and for the docs' example)."""
    message = f"{email}|{expires}" if expires is not None else email
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verified_email(metadata: Mapping, secret: str, now: datetime) -> str:
    """The normalised address when the metadata carries a valid, unexpired signature of
    it; "" otherwise (no secret configured, unsigned, badly signed, expired, invalid)."""
    if not secret or not isinstance(metadata, Mapping):
        return ""
    email, sig = metadata.get("customer_email"), metadata.get("customer_email_sig")
    expires = metadata.get("customer_email_expires")
    if not isinstance(email, str) or not isinstance(sig, str) or len(sig) > MAX_SIG_CHARS:
        return ""
    if expires is not None:
        if isinstance(expires, str) and expires.isascii() and expires.isdigit() \
                and len(expires) <= 12:
            expires = int(expires)
        if type(expires) is not int or expires < now.timestamp():
            return ""
    if not hmac.compare_digest(sign_email(email, secret, expires), sig.strip().lower()):
        return ""
    try:
        return valid_email(email)
    except EscalationError:
        return ""


def typed_email(text: str) -> tuple[str, str]:
    """The one address in what the customer typed, normalised, and "" as problem; or ""
    and the phrase key of what is wrong. An address inside a sentence is found when the
    word before it can introduce it ("it is x@y.com", "la mia mail è x@y.com grazie");
    "mario rossi@gmail.com" is an address with a space, not "rossi@gmail.com"."""
    words = text[:400].split() if isinstance(text, str) else []
    found = [i for i, word in enumerate(words) if "@" in word]
    if not found:
        return "", "email_no_at"
    addresses = {words[i].strip(_EDGES).casefold() for i in found}
    if len(addresses) > 1:
        return "", "email_two"
    at = found[0]
    address = words[at].strip(_EDGES)
    before = words[at - 1] if at else ""
    after = words[at + 1] if at + 1 < len(words) else ""
    if ((address.startswith("@") and before) or (address.endswith("@") and after)
            or after[:1] == "."
            or (before and not before.endswith((":", ",")) and before.casefold() not in _LEAD_INS)):
        return "", "email_spaces"  # "mario @gmail.com", "mario.rossi@gmail .com"
    if len(address) > MAX_TYPED_EMAIL:
        return "", "email_too_long"
    try:
        return valid_email(address), ""
    except EscalationError as exc:
        return "", _problem(str(exc))


def _problem(message: str) -> str:
    """The phrase key for email-validator's message (its wording, matched loosely)."""
    message = message.casefold()
    if "too long" in message:
        return "email_too_long"
    if "after the @" in message or "domain" in message:
        return "email_bad_domain"
    return "email_bad"
