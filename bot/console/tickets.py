"""What the queue and the ticket page show: tickets read from the database, the SLA
state of each (colour and countdown) and, in Italian, what happened to an answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from bot.console.errors import BadFilter
from bot.console.web import aware
from core import LANGUAGES
from core.text import drop_controls
from escalation import DeliveryChannel, EscalationError, TicketStatus, close_unanswered
from escalation.queries import (
    STALE_AFTER,
    HeldReply,
    SiblingTicket,
    TicketDetail,
    TicketFilter,
    TicketRow,
    held_replies,
    queue_tickets,
    sibling_tickets,
    status_counts,
    ticket_detail,
    warning_times,
)
from escalation.transcript import shown_transcript
from knowledge.queries import EntryRow, entry_rows

URGENT_WITHIN = timedelta(hours=1)  # amber below this, whatever the policy's warning says
QUEUE_LIMIT = 300

ROLES = {"customer": "Cliente", "bot": "Bot", "operator": "Operatore", "user": "Cliente"}
EVENTS = {
    "opened": "Aperto", "notified": "Notificato agli operatori", "reminded": "Promemoria SLA",
    "breached": "SLA violato", "escalated": "Passato al livello successivo",
    "customer_followup": "Il cliente ha aggiunto una domanda", "answered": "Risposto",
    "delivered": "Consegnato al cliente", "undeliverable": "Non consegnabile",
    "learned": "Appreso nella knowledge base", "not_learned": "Non appreso",
    "closed": "Chiuso", "reply_quarantined": "Risposta email in quarantena",
    "timer_failed": "Errore del timer SLA",
    "contact_added": "Il cliente ha lasciato un'email", "pushed_to_chat": "Inviato nella chat",
    "closed_unanswered": "Chiuso senza risposta",
}
CATEGORIES = {"pre_purchase": "prima dell'acquisto", "post_purchase": "dopo l'acquisto",
              "general": "generale"}


@dataclass(frozen=True)
class SlaState:
    colour: str  # green, amber, red
    label: str  # "tra 2 h 05 min", "scaduta da 12 min"
    due_at: datetime
    warn_at: datetime | None
    breached: bool


def span(delta: timedelta) -> str:
    """The same wording as static/console.js, which keeps it ticking."""
    seconds = int(abs(delta.total_seconds()))
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        return f"{days} g {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def sla_state(ticket: TicketRow, warn_at: datetime | None, now: datetime) -> SlaState:
    due, warn_at = aware(ticket.due_at), aware(warn_at)
    left = due - now
    if ticket.breached or left <= timedelta(0):
        colour = "red"  # a breach stays red even when the next level has a fresh deadline
    elif left < URGENT_WITHIN or (warn_at is not None and warn_at <= now):
        colour = "amber"
    else:
        colour = "green"
    label = f"tra {span(left)}" if left > timedelta(0) else f"scaduta da {span(left)}"
    return SlaState(colour, label, due, warn_at, ticket.breached)


# -- the queue: filters ------------------------------------------------------------------
MAX_SEARCH = 200
FILTERS = ("status", "level", "language", "breached", "q")
YES_NO = {"yes": True, "no": False}


@dataclass(frozen=True)
class QueueFilter(TicketFilter):
    """What the operator asked the queue for, already checked (see `parse_filter`), and
    how the page links to it."""

    @property
    def narrowed(self) -> bool:
        return (self.level, self.language, self.breached, self.q) != (None, "", None, "")

    def query(self, **changes: str) -> str:
        """This filter as a query string with `changes`: the status tabs keep the rest."""
        values = {"status": self.status, "level": "" if self.level is None else str(self.level + 1),
                  "language": self.language, "q": self.q,
                  "breached": {True: "yes", False: "no"}.get(self.breached, "")} | changes
        return urlencode({k: v for k, v in values.items() if v})


def parse_filter(params: list[tuple[str, str]], levels: int) -> QueueFilter:
    """The queue's query parameters, strictly: an unknown name, a repeated one or a value
    the form cannot send is refused with a message that says what is allowed, so a wrong
    link never silently shows the wrong tickets. Empty values mean "any"."""
    seen: dict[str, str] = {}
    for name, value in params:
        if name not in FILTERS:
            raise BadFilter(f"Il parametro «{name[:40]}» non esiste: la coda si filtra per "
                            "status, level, language, breached e q.")
        if name in seen:
            raise BadFilter(f"Il parametro «{name}» compare più volte.")
        seen[name] = value.strip()
    status = seen.get("status") or TicketStatus.OPEN
    if status not in {s.value for s in TicketStatus}:
        raise BadFilter(f"Stato «{status[:40]}» sconosciuto: usa open, answered o closed.")
    language = seen.get("language", "")
    if language and language not in LANGUAGES:
        raise BadFilter(f"Lingua «{language[:40]}» sconosciuta: usa {', '.join(LANGUAGES)}.")
    breached = seen.get("breached", "")
    if breached and breached not in YES_NO:
        raise BadFilter(f"Valore «{breached[:40]}» non valido per breached: usa yes o no.")
    q = drop_controls(seen.get("q", ""))
    if len(q) > MAX_SEARCH:
        raise BadFilter(f"Il testo da cercare è troppo lungo: al massimo {MAX_SEARCH} caratteri.")
    return QueueFilter(TicketStatus(status), _level(seen.get("level", ""), levels), language,
                       YES_NO.get(breached), q)


def _level(text: str, levels: int) -> int | None:
    """A level as the page shows it (1 is the first), stored from 0."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= levels):
        raise BadFilter(f"Livello «{text[:40]}» sconosciuto: usa un numero da 1 a {levels}.")
    return int(text) - 1


@dataclass(frozen=True)
class QueueRow:
    ticket: TicketRow
    sla: SlaState | None  # open tickets only
    stale: bool  # open and overdue for more than STALE_AFTER: listed below the others


def queue(f: QueueFilter, now: datetime, *, session: Session
          ) -> tuple[list[QueueRow], dict[str, int]]:
    """The tickets the filter selects, in the queue's order, and the count of each status
    under the same filter (for the tabs)."""
    is_open = f.status == TicketStatus.OPEN
    tickets = queue_tickets(f, now, limit=QUEUE_LIMIT, session=session)
    counts = status_counts(f, now, session=session)
    warns = warning_times([t.id for t in tickets], session=session) if is_open else {}
    rows = [QueueRow(t, sla_state(t, warns.get((t.id, t.level)), now) if is_open else None,
                     is_open and aware(t.due_at) < now - STALE_AFTER) for t in tickets]
    return rows, {status.value: n for status, n in counts.items()}


@dataclass(frozen=True)
class TicketView:
    ticket: TicketDetail
    sla: SlaState | None
    considered: list[dict]  # the bot's candidates, with the entry's current state
    replies: list[HeldReply]  # emails about this ticket that were not accepted
    outcome: list[str]
    # The customer's other questions in the same conversation: each is a ticket of its own
    # with its own answer, so none is closed by an answer to another.
    siblings: list[SiblingTicket] = field(default_factory=list)
    # The conversation as the customer saw it: a click reads "Sì", not "/affirm" (the same
    # rendering as the escalation mail's).
    transcript: list[dict] = field(default_factory=list)


def ticket_view(ticket_id: int, now: datetime, *, session: Session) -> TicketView | None:
    """The ticket and the entries the bot considered, as stored now (an answer may have
    been written since the session last saw them, in the escalation services' own one)."""
    ticket = ticket_detail(ticket_id, session=session)
    if ticket is None:
        return None
    sla = None
    if ticket.status == TicketStatus.OPEN:
        warns = warning_times([ticket.id], session=session)
        sla = sla_state(ticket, warns.get((ticket.id, ticket.level)), now)
    weighed = [c for c in ticket.considered if str(c.get("entry_id", "")).isdigit()]
    ids = [int(c["entry_id"]) for c in weighed]
    ids += [ticket.learned_entry_id] if ticket.learned_entry_id else []
    entries = entry_rows(ids, session=session)
    considered = [_candidate(c, entries.get(int(c["entry_id"]))) for c in weighed]
    replies = held_replies(ticket_id, session=session)
    learned = entries.get(ticket.learned_entry_id) if ticket.learned_entry_id else None
    outcome = outcome_lines(ticket, learned.key if learned else "")
    siblings = sibling_tickets(ticket.conversation_id, excluding=ticket.id, session=session)
    transcript = shown_transcript(list(ticket.transcript), session)
    return TicketView(ticket, sla, considered, replies, outcome, siblings, transcript)


def _candidate(considered: dict, entry: EntryRow | None) -> dict:
    """The entry as it is now: it may have changed since the ticket."""
    if entry is None:
        return {**considered, "status": "eliminata", "question": ""}
    question = entry.questions[0].text if entry.questions else ""
    return {**considered, "status": entry.status.value, "question": question, "key": entry.key,
            "answer": entry.answer}


def outcome_lines(ticket: TicketDetail, entry_key: str) -> list[str]:
    """What became of the answer, from what the ticket recorded (the same whether it came
    by email or from the console, and after a restart)."""
    if ticket.status == TicketStatus.OPEN:
        return []
    closed = next((e.detail for e in ticket.events if e.kind == "closed_unanswered"), None)
    if closed is not None:
        return [f"Chiuso senza risposta da {closed.get('by', '?')}: {closed.get('reason', '')}"]
    lines = [{
        DeliveryChannel.CHAT: "Consegnata nella chat del cliente.",
        DeliveryChannel.EMAIL: "Inviata al cliente per email.",
        DeliveryChannel.NONE: "Non consegnata: la chat è chiusa e il cliente non ha lasciato "
                              "un'email.",
    }.get(ticket.delivery_channel, "Consegna in corso.")]
    learned = next((e.detail for e in reversed(ticket.events) if e.kind == "learned"), None)
    skipped = next((e.detail for e in reversed(ticket.events) if e.kind == "not_learned"), None)
    if learned is not None and learned.get("note_id") is not None:  # a product ticket
        lines.append(f"Appresa come nota del prodotto {learned.get('product', '?')}"
                     + (", in attesa di approvazione." if learned.get("status") == "draft"
                        else ": risponde solo a domande su questo prodotto."))
    elif learned is not None:
        key = entry_key or f"#{learned.get('entry_id')}"
        if learned.get("as_variant"):
            lines.append(f"Aggiunta come nuova formulazione della voce {key}.")
        elif learned.get("status") == "draft":
            lines.append(f"Salvata come bozza {key}, in attesa di approvazione.")
        else:
            lines.append(f"Pubblicata nella knowledge base come nuova voce {key}.")
    elif skipped is not None:
        lines.append(f"Non appresa: {skipped.get('reason', '')}")
    else:
        lines.append("Apprendimento in corso.")
    return lines


def close_question(ticket_id: int, operator: str, reason: str, *, session: Session) -> str:
    """Close an open question without an answer; "" when done, else what to tell the
    operator (nothing of a refused close is kept). With one ticket per question, a
    duplicate is closed here, never silently."""
    if not reason.strip():
        return "Scrivi perché chiudi la domanda senza risposta (per esempio: doppione del #12)."
    try:
        close_unanswered(ticket_id, operator, reason, session=session)
    except EscalationError:
        session.rollback()
        return ("Il ticket non è più aperto: nel frattempo ha ricevuto una risposta "
                "o è stato chiuso.")
    return ""
