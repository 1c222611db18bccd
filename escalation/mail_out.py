"""Composing mail and queueing it in the caller's transaction; `outbox` sends it later.

Writing the outbox row in the transaction that decides to send (open a ticket, fire a
timer, record an answer) means a crash can neither lose the mail nor send one for a
decision that was rolled back. `dedupe_key` makes queueing the same decision twice a
no-op, so timers and inbound replies may safely be processed again.

Operator mails: the frame (headline, labels, the reply instruction) is Italian with
English right below. The shop's operators read Italian first; an English line costs
one line and lets an external or non-Italian colleague act, and there is no per-operator
language setting to pick one. What comes from the customer (question, transcript) stays
verbatim in the ticket's language, and the mail says which language to answer in,
because the reply reaches the customer as written and is learned for that language.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import Settings, as_utc
from escalation.models import OutboxMessage, OutboxStatus, Ticket, TicketStatus
from escalation.picks import coded
from escalation.tokens import reply_address_for, sign
from escalation.transcript import shown_transcript
from knowledge.repository import published_entry

OPERATOR_KINDS = ("escalation", "reminder", "breach")
MAX_TRANSCRIPT_TURNS = 40  # the rest is in the console; a mail must stay readable
MAX_TURN_CHARS = 2000
MAX_CANDIDATE_ANSWER = 600  # of a candidate's answer shown in the mail

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),  # question and transcript are customer input
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,  # block tags take no line of their own in the plain-text mail
    lstrip_blocks=True,
)

_HEADLINES = {
    "escalation": ("Nuova domanda di un cliente: il bot non ha saputo rispondere.",
                   "New customer question the bot could not answer."),
    "reminder": ("Promemoria: la scadenza SLA si avvicina e il ticket è ancora aperto.",
                 "Reminder: the SLA deadline is near and the ticket is still open."),
    "breach": ("SLA superato: il cliente aspetta ancora una risposta.",
               "SLA breached: the customer is still waiting for an answer."),
}
_SUBJECTS = {"escalation": "Nuova domanda / New question", "reminder": "Promemoria / Reminder",
             "breach": "SLA superato / SLA breached"}
_LANGUAGES = {"it": ("italiano", "Italian", "Scrivi in italiano.", "Write in Italian."),
              "en": ("inglese", "English", "Scrivi in inglese.", "Write in English.")}
_OTHER_LANGUAGE = ("altra lingua", "other language", "Scrivi nella lingua del cliente.",
                   "Write in the customer's language.")
_ROLES = {"customer": "cliente/customer", "bot": "bot", "operator": "operatore/operator"}
_CUSTOMER_TEXT = {
    "it": {"greeting": "Gentile cliente,", "intro": "ecco la risposta alla sua domanda:",
           "closing": "Cordiali saluti,"},
    "en": {"greeting": "Hello,", "intro": "here is the answer to your question:",
           "closing": "Kind regards,"},
}


def enqueue_ticket_mail(ticket: Ticket, kind: str, recipients: list[str], *, session: Session,
                        settings: Settings, now: datetime,
                        level: int | None = None) -> OutboxMessage:
    """Queue an operator notification about `ticket` (once per ticket, kind and level)."""
    if kind not in OPERATOR_KINDS:
        raise ValueError(f"unknown operator mail kind {kind!r}")
    if not recipients:
        raise ValueError("an operator mail needs at least one recipient")
    level = ticket.level if level is None else level
    key = settings.resolved_secret_key
    token = sign(ticket.id, key=key, now=now)
    headers = {
        "From": settings.mail_from,
        "Reply-To": reply_address_for(ticket.id, settings.reply_address, key, now),
        "Auto-Submitted": "auto-generated",  # RFC 3834: no vacation replies back to us
        "X-Auto-Response-Suppress": "All",  # the same for Exchange/Outlook
        "X-Supportbot-Ticket": str(ticket.id),
    }
    if first := _first_escalation_id(ticket.id, session):
        # Reminders, breaches and later levels thread under the first mail of the ticket.
        headers["In-Reply-To"] = headers["References"] = first
    context = _operator_context(ticket, kind, settings, session) | {
        "others": _others(ticket, session)}
    return _enqueue(
        session, now=now, dedupe_key=f"ticket:{ticket.id}:{kind}:level{level}", kind=kind,
        ticket_id=ticket.id, to_addrs=list(recipients),
        subject=f"[#T{ticket.id}] {_SUBJECTS[kind]} ({ticket.language.upper()}): "
                f"{_snippet(ticket.question)}",
        text_body=_env.get_template("operator_mail.txt").render(context),
        html_body=_env.get_template("operator_mail.html").render(context),
        headers=headers,
        message_id=f"<t{ticket.id}.{kind}.{level}.{token}@{_domain(settings.reply_address)}>",
    )


def enqueue_customer_answer(ticket: Ticket, answer_text: str, *, session: Session,
                            settings: Settings, now: datetime) -> OutboxMessage | None:
    """Queue the operator's answer to the customer; None when we may not email them."""
    if not ticket.customer_email:
        return None
    lang = "it" if ticket.language == "it" else "en"
    context = {"t": _CUSTOMER_TEXT[lang], "lang": lang, "question": ticket.question,
               "answer": answer_text.strip(), "shop_name": settings.shop_name}
    # A corrected second answer is a new mail; the same answer processed twice is not.
    digest = hashlib.sha256(answer_text.strip().encode()).hexdigest()[:16]
    return _enqueue(
        session, now=now, dedupe_key=f"ticket:{ticket.id}:answer:{digest}", kind="answer",
        ticket_id=ticket.id, to_addrs=[ticket.customer_email],
        subject=f"Re: {_snippet(ticket.question)}",
        text_body=_env.get_template("customer_answer.txt").render(context),
        html_body=_env.get_template("customer_answer.html").render(context),
        # No token here: it is what admits a reply into the learning loop, so customers
        # never see it; their replies reach the plain support mailbox.
        headers={"From": settings.mail_from, "Reply-To": settings.support_email,
                 "X-Supportbot-Ticket": str(ticket.id)},
        message_id=f"<t{ticket.id}.answer.{digest}@{_domain(settings.reply_address)}>",
    )


def _enqueue(session: Session, *, now: datetime, **values) -> OutboxMessage:
    now = now.astimezone(UTC)  # SQLite stores naive text: keep every stored time in UTC
    values |= {"status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": now,
               "created_at": now}
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(
        session.get_bind().dialect.name)
    if insert is not None:
        # ON CONFLICT DO NOTHING instead of a savepoint: no error to recover from, and on
        # PostgreSQL a concurrent insert of the same key waits and then does nothing.
        session.execute(insert(OutboxMessage).values(**values)
                        .on_conflict_do_nothing(index_elements=["dedupe_key"]))
    elif _by_key(session, values["dedupe_key"]) is None:
        session.add(OutboxMessage(**values))
        session.flush()
    row = _by_key(session, values["dedupe_key"])
    assert row is not None
    return row


def _by_key(session: Session, dedupe_key: str) -> OutboxMessage | None:
    return session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
                           ).first()


def _first_escalation_id(ticket_id: int, session: Session) -> str | None:
    return session.scalars(
        select(OutboxMessage.message_id)
        .where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == "escalation")
        .order_by(OutboxMessage.id).limit(1)
    ).first()


def _others(ticket: Ticket, session: Session) -> list[dict]:
    """The customer's other open questions: each is a ticket with its own mail and needs
    its own reply, so the operator is told that this reply answers this question only."""
    rows = session.execute(
        select(Ticket.id, Ticket.question)
        .where(Ticket.conversation_id == ticket.conversation_id, Ticket.id != ticket.id,
               Ticket.status == TicketStatus.OPEN)
        .order_by(Ticket.id).limit(20))
    return [{"id": tid, "question": _snippet(question, 160)} for tid, question in rows]


def _operator_context(ticket: Ticket, kind: str, settings: Settings, session: Session) -> dict:
    name_it, name_en, write_it, write_en = _LANGUAGES.get(ticket.language, _OTHER_LANGUAGE)
    turns = ticket.transcript or []
    # Button clicks as the customer saw them ("Sì"), not as Rasa logged them ("/affirm").
    shown = shown_transcript(turns[-MAX_TRANSCRIPT_TURNS:], session)
    return {
        "ticket": ticket,
        "headline": dict(zip(("it", "en"), _HEADLINES[kind], strict=True)),
        "language_name": {"it": name_it, "en": name_en},
        "write_in": {"it": write_it, "en": write_en},
        "due_local": format_local(ticket.due_at, settings.zone),
        "transcript": [{"role": _ROLES.get(t["role"], t["role"] or "?"),
                        "text": t["text"][:MAX_TURN_CHARS], "clicked": t["clicked"]}
                       for t in shown],
        "omitted": len(turns) - len(shown),
        "considered": _considered(ticket, session),
        "shop_name": settings.shop_name,
    }


def _considered(ticket: Ticket, session: Session) -> list[dict]:
    """The entries the bot considered, each with its code, first question and answer: the
    operator may reply with just the code to send that answer (see `escalation.picks`)."""
    scores = {c.get("entry_id"): c.get("score") for c in ticket.considered or []}
    out = []
    for item in coded(ticket.considered):
        entry = published_entry(item["entry_id"], session=session)
        score = _score(scores.get(item["entry_id"]))
        if entry is None:  # gone or withdrawn: its code is refused
            out.append({"code": "", "key": item["key"], "score": score, "question": "",
                        "answer": ""})
            continue
        out.append({"code": item["code"], "key": entry.key, "score": score,
                    "question": _snippet(entry.questions[0].text if entry.questions else "", 160),
                    "answer": _snippet(entry.answer, MAX_CANDIDATE_ANSWER)})
    return out


def format_local(moment: datetime, zone: ZoneInfo) -> str:
    """`moment` in the shop's time zone (the SLA is promised there), e.g. ``24/11/2026 14:30
    CET``."""
    return as_utc(moment).astimezone(zone).strftime("%d/%m/%Y %H:%M %Z")


def _score(value) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "?"


def _snippet(text: str, limit: int = 80) -> str:
    # Collapsing whitespace also removes CR/LF, which must never reach a header.
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _domain(address: str) -> str:
    return (parseaddr(address)[1] or address).rpartition("@")[2]
