"""A logged conversation as the customer saw it, for the people who read it.

Rasa logs a button click as its payload (`/affirm`, `/feedback_helpful{"entry_id": "3"}`),
and that is what reaches the ticket's transcript. An operator reading "/affirm" has to
guess what was on the button; this module turns each payload back into what the customer
clicked, in Italian (the operators' language: the console is Italian, and the escalation
mail's frame is Italian first). The operator console's ticket page and the escalation
mail both call `shown_transcript`, so the two never tell the story differently.

Titles that depend on the knowledge base (a clarify choice, the answer a 👍 was about)
are read from it when the transcript is shown: the entry's first question, which is the
question the customer recognised on the button or had just seen answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from knowledge.queries import first_questions

# intent, then optional JSON entities; anything else a customer typed stays as typed
_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]{1,40})(?P<entities>\{.{0,300}\})?\s*$", re.DOTALL)
# Buttons whose title does not depend on the knowledge base. The customer saw them in
# the conversation's language; the operator reads them in Italian.
CLICKED = {
    "affirm": "Sì",
    "deny": "No",
    "ask_human": "Voglio parlare con una persona",
    "greet": "Ciao",
    "goodbye": "Arrivederci",
    "thanks": "Grazie",
}
_ABOUT_ENTRY = {
    "feedback_helpful": "👍 Risposta utile",
    "feedback_unhelpful": "👎 Risposta non utile",
    "choose_entry": "Ha scelto",
}
MAX_TITLE = 200


@dataclass(frozen=True)
class Shown:
    """One customer message as it looked: `clicked` when it was a button."""

    text: str
    clicked: bool = False


def _parsed(text: str) -> tuple[str, int | None] | None:
    """(intent, entry id) of a payload we know; None for text the customer typed."""
    match = _PAYLOAD.match(text.strip())
    if match is None or match["intent"] not in CLICKED.keys() | _ABOUT_ENTRY.keys():
        return None
    entry_id = None
    if match["entities"]:
        try:
            entities = json.loads(match["entities"])
        except ValueError:
            return None
        raw = entities.get("entry_id") if isinstance(entities, dict) else None
        raw = str(raw) if isinstance(raw, int | str) else ""
        entry_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    return match["intent"], entry_id


def shown(text: str, titles: Mapping[int, str]) -> Shown:
    """What the customer saw for one logged message: the button's meaning for a payload
    (with the question it was about, from `titles`), the text itself otherwise."""
    parsed = _parsed(text)
    if parsed is None:
        return Shown(text)
    intent, entry_id = parsed
    if intent in CLICKED:
        return Shown(CLICKED[intent], clicked=True)
    title = titles.get(entry_id) if entry_id is not None else None
    label = _ABOUT_ENTRY[intent]
    if intent == "choose_entry":
        return Shown(f"{label} «{title}»" if title else f"{label} una delle risposte proposte",
                     clicked=True)
    return Shown(f"{label}: «{title}»" if title else label, clicked=True)


def entry_ids(texts: Iterable[str]) -> set[int]:
    """The knowledge-base entries the payloads among `texts` are about."""
    ids = set()
    for text in texts:
        parsed = _parsed(text) if isinstance(text, str) else None
        if parsed and parsed[1] is not None:
            ids.add(parsed[1])
    return ids


def entry_titles(ids: Iterable[int], session: Session) -> dict[int, str]:
    """Each entry's first question, the one the buttons and answers stood for."""
    return {entry_id: text[:MAX_TITLE]
            for entry_id, text in first_questions(ids, session=session).items()}


def shown_transcript(turns: list[dict], session: Session) -> list[dict]:
    """A ticket's stored turns ({"role", "text"}) with each customer message as the
    customer saw it: {"role", "text", "clicked"}. Bot turns are shown as they were."""
    turns = [t for t in turns if isinstance(t, dict)]
    customer = [str(t.get("text", "")) for t in turns if t.get("role") in ("customer", "user")]
    titles = entry_titles(entry_ids(customer), session)
    out = []
    for turn in turns:
        role, text = turn.get("role", ""), str(turn.get("text", ""))
        seen = shown(text, titles) if role in ("customer", "user") else Shown(text)
        out.append({"role": role, "text": seen.text, "clicked": seen.clicked})
    return out
