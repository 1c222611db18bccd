"""Signed ticket tokens: ``t12-snq4x0-k3m2...``, the ticket id, its issue time and an HMAC.

The token travels in the Reply-To plus-address and in the Message-ID of every operator
mail. An answer is admitted only by a token in a recipient address (the reply went to the
ticket's Reply-To); one found only in In-Reply-To/References merely names the ticket a
refused mail was about (see `escalation.inbound`). It is the secret that lets a reply
into the learning loop, together with the operator's From and envelope sender: a From
header is trivially forged, a token without the key is not. Only operators ever see it,
and each token admits one answer.

Everything is lowercase (base36 time, base32 MAC) because mail systems may case-fold
the local part of an address; 16 base32 characters are 80 bits of MAC, plenty against
guessing and short enough for the 64-character local-part limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

MAC_CHARS = 16
DEFAULT_MAX_AGE = timedelta(days=60)  # an operator may answer an old ticket late
# Tolerated clock difference between replicas; a token "from the future" beyond it is bogus.
CLOCK_SKEW = timedelta(minutes=5)

# A canonical id (no leading zero) so each ticket has exactly one spelling per issue time.
_TOKEN = re.compile(r"(?<![0-9a-z])(t[1-9][0-9]{0,11}-[0-9a-z]{1,10})-([a-z2-7]{16})(?![0-9a-z])")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def sign(ticket_id: int, *, key: bytes | str, now: datetime) -> str:
    """A token for `ticket_id`, issued at `now`."""
    if ticket_id < 1:
        raise ValueError("ticket ids start at 1")
    payload = f"t{ticket_id}-{_base36(int(now.timestamp()))}"
    return f"{payload}-{_mac(payload, key)}"


def verify(token: str, *, key: bytes | str, now: datetime,
           max_age: timedelta = DEFAULT_MAX_AGE) -> int | None:
    """The ticket id, or None when the token is forged, malformed or expired."""
    match = _TOKEN.fullmatch(token.strip().lower())
    if match is None:
        return None
    payload, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(payload, key)):
        return None
    ticket_part, issued_part = payload.split("-")
    issued = datetime.fromtimestamp(int(issued_part, 36), UTC)
    if not now - max_age <= issued <= now + CLOCK_SKEW:
        return None
    return int(ticket_part[1:])


def find_token(text: str) -> str | None:
    """The first token-shaped string in an address, a Message-ID or a References header
    (not yet verified: pass it to `verify`)."""
    match = _TOKEN.search(text.lower())
    return f"{match.group(1)}-{match.group(2)}" if match else None


def reply_address_for(ticket_id: int, reply_address: str, key: bytes | str,
                      now: datetime) -> str:
    """``assistenza@shop.example`` -> ``assistenza+t12-...@shop.example``."""
    address = parseaddr(reply_address)[1] or reply_address
    local, sep, domain = address.rpartition("@")
    if not sep or not local or not domain:
        raise ValueError(f"not an email address: {reply_address!r}")
    return f"{local}+{sign(ticket_id, key=key, now=now)}@{domain}"


def _mac(payload: str, key: bytes | str) -> str:
    raw_key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(raw_key, payload.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:MAC_CHARS]


def _base36(value: int) -> str:
    out = ""
    while True:
        value, digit = divmod(value, 36)
        out = _DIGITS[digit] + out
        if not value:
            return out
