"""An operator answers with an answer the knowledge base already has.

Many escalated questions are ones the FAQ does answer, asked in words the bot was not sure
of. The escalation mail and the console list the entries the bot considered, each with its
answer and a one-letter code; an operator who replies with just that code (quoted history
and signature allowed) sends that entry's answer to the customer, and the question is
learned as a new way of asking that entry, never as a duplicate entry.

The rule for anything else, so a reply is never misread:
- a code alone (``B``, ``b.``, ``[B]``, ``Risposta B``) picks that entry;
- a code with any other text is an ordinary answer: the new text wins, as written;
- two codes (``A o B``, ``A, C``) are ambiguous, and a code no candidate has (``D``, or any
  code where the bot considered nothing) is unknown: either is quarantined with a note, the
  ticket stays open, and the operator replies again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.answer_text import answer_body

CODES = "ABC"
_ONE = re.compile(r"^(?:risposta|answer|codice|code)?\s*[\[(#]?\s*([a-z])\s*[\])]?[.!]?$",
                  re.IGNORECASE)
_MANY = re.compile(r"^[\[(#]?[a-z][\])]?(?:\s*(?:,|/|;|\bo\b|\bor\b|\be\b|\band\b|\s)\s*"
                   r"[\[(#]?[a-z][\])]?)+[.!]?$", re.IGNORECASE)


@dataclass(frozen=True)
class Pick:
    kind: str  # "text" (an ordinary answer), "pick", "unknown_code", "ambiguous_code"
    entry_id: int | None = None
    code: str = ""


def coded(considered: list[dict] | None) -> list[dict]:
    """The considered entries that get a code, in the order shown: {code, entry_id, key}."""
    items = [c for c in considered or [] if isinstance(c.get("entry_id"), int)]
    return [{"code": code, "entry_id": c["entry_id"], "key": c.get("key") or ""}
            for code, c in zip(CODES, items, strict=False)]


def read_pick(reply: str, considered: list[dict] | None, *, names: tuple[str, ...] = ()) -> Pick:
    """What an operator's reply means (see the module's rule). `names`: the shop's and the
    operator's names, whose signature lines are not text."""
    body = " ".join(answer_body(reply or "", names=names).split())
    if len(body) > 40:
        return Pick("text")
    one = _ONE.match(body)
    if one is None:
        return Pick("ambiguous_code") if _MANY.match(body) and _all_codes(body) else Pick("text")
    code = one.group(1).upper()
    chosen = next((c for c in coded(considered) if c["code"] == code), None)
    if chosen is None:
        return Pick("unknown_code", code=code)
    return Pick("pick", chosen["entry_id"], code)


def _all_codes(body: str) -> bool:
    """Every word of `body` is a one-letter code or a joining word: "A o B", not "a casa"."""
    words = re.findall(r"[a-z]+", body.lower())
    letters = [w for w in words if len(w) == 1 and w not in ("e", "o")]
    return len(letters) + sum(w in ("o", "e", "or", "and") for w in words) == len(words) \
        and len(letters) >= 2
