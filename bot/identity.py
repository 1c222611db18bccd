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
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from escalation import EscalationError, valid_email

MAX_SIG_CHARS = 128


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
