"""What the receiving mail server says about a mail's sender: its Authentication-Results
(RFC 8601) for SPF, DKIM and DMARC.

Any mail server on the way can add an Authentication-Results header, and so can the
sender. Only the receiving server's verdict counts: the header whose authserv-id is the
configured ``inbound_authserv_id`` (the support mailbox's own server), or, when none is
configured, the topmost header, which the last server on the path, the one delivering to
us, put there. A fail is enough to refuse; a pass is never needed, because the envelope
sender, the From and the ticket token are checked anyway and not every server verifies.
So a header the sender forged can only get the sender's own mail refused.
"""

from __future__ import annotations

import re

# method -> results that mean "this sender is not who it claims to be"
_FAILING = {"spf": {"fail"}, "dmarc": {"fail"}, "dkim": {"fail"}}
_RESULT = re.compile(r"^\s*([a-z0-9_-]+)(?:/[0-9]+)?\s*=\s*([a-z]+)")
_COMMENT = re.compile(r"\([^()]*\)")


def auth_failure(headers: tuple[str, ...], authserv_id: str = "") -> str | None:
    """"spf=fail", "dkim=fail" or "dmarc=fail" when the trusted verdict refuses the
    sender; None when it does not (or there is none)."""
    wanted = authserv_id.strip().lower()
    trusted = [h for h in headers if _authserv(h) == wanted] if wanted else list(headers[:1])
    for header in trusted:
        results = _results(header)
        for method in ("dmarc", "spf"):
            if any(m == method and r in _FAILING[method] for m, r in results):
                return f"{method}=fail"
        dkim = [r for m, r in results if m == "dkim"]
        # Several signatures are common (the domain's and the mail provider's): one that
        # verified is enough; a broken one beside it is not a forgery.
        if dkim and "pass" not in dkim and any(r in _FAILING["dkim"] for r in dkim):
            return "dkim=fail"
    return None


def _parts(header: str) -> list[str]:
    text = header.lower()
    while _COMMENT.search(text):
        text = _COMMENT.sub(" ", text)
    return [part.strip() for part in text.split(";")]


def _authserv(header: str) -> str:
    first = _parts(header)[0].split()
    return first[0] if first else ""


def _results(header: str) -> list[tuple[str, str]]:
    return [(match.group(1), match.group(2)) for part in _parts(header)[1:]
            if (match := _RESULT.match(part))]
