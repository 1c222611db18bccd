"""A received email, recorded and judged: is it an operator's answer to a ticket?

`receive` records every mail (an `InboundMessage` row, the raw bytes on disk), judges
it (accepted, quarantined so a person looks, ignored for auto-replies and bounces, or
duplicate: the same Message-ID seen before) and, when accepted, records the answer on
the ticket, all in the caller's one transaction. So a crash either keeps the mail with
its answer or neither, and the sending server's retry then finds nothing and is
processed afresh: an accepted answer is never lost and never recorded twice. Delivery
and learning happen later, in a worker (`escalation.answers.finish_answer`).

Who may answer. A From header is trivially forged; all of these must hold:
- the From address is an operator's;
- the envelope sender (the topmost Return-Path: the receiver writes it from MAIL FROM,
  the IMAP mailbox's server from its own envelope) is an operator's;
- the receiving server's Authentication-Results do not report an SPF, DKIM or DMARC
  fail (see `escalation.mail_auth`);
- a valid ticket token is in a recipient address (To, Cc, Delivered-To,
  X-Original-To), i.e. the mail was sent to the ticket's reply address;
- that token has not admitted an answer before (each token answers once).

A token found only in In-Reply-To or References is not enough (reason
``token_not_in_address``). Those headers are copied into every later message of a
thread, by every client of everyone the thread reaches, so they spread far beyond the
operators; a genuine reply is addressed to the Reply-To that carries the token, and
every client answering to Reply-To puts it in To. The ``[#T12]`` subject tag only tells
which ticket a refused mail was about, so the operator sees the refusal there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import Settings
from core.faults import crash_point
from escalation import tokens
from escalation.answers import apply_answer
from escalation.mail_auth import auth_failure
from escalation.models import InboundMessage, InboundStatus, Ticket, TicketEvent, TicketStatus
from escalation.picks import read_pick
from escalation.reply_parser import ParsedMail, parse_reply
from escalation.tickets import EscalationError
from knowledge.repository import published_entry

log = logging.getLogger(__name__)

MAX_MESSAGE_ID = 300  # the column's size; longer ids are hashed
MAX_HEADER_BYTES = 256 * 1024  # of an oversized mail only this much is read, for its headers
_SUBJECT_TAG = re.compile(r"\[#T(\d{1,12})\]", re.IGNORECASE)


@dataclass(frozen=True)
class InboundResult:
    inbound_id: int
    status: InboundStatus  # accepted, quarantined, duplicate, ignored
    reason: str  # why quarantined or ignored; for a duplicate, the first delivery's status
    ticket_id: int | None
    answer_text: str
    operator: str  # the answering operator's address, when accepted


@dataclass(frozen=True)
class _Verdict:
    status: InboundStatus
    reason: str = ""
    ticket_id: int | None = None
    token: str = ""  # the token that admits an accepted answer


def receive(raw: bytes, *, source: str, session: Session, settings: Settings,
            now: datetime) -> InboundResult:
    """Record one received mail, judge it and record an accepted answer on its ticket.
    Flushes; the caller's transaction commits (all of it or nothing)."""
    too_large = len(raw) > settings.max_inbound_bytes
    # An oversized mail is judged on its headers alone: its body is never parsed.
    mail = parse_reply(_header_block(raw) if too_large else raw)
    message_id = _dedupe_key(mail.message_id, raw)
    existing = _recorded(message_id, session, lock=True)
    if existing is not None and existing.status != InboundStatus.RECEIVED:
        return _duplicate(existing)
    # A row still "received" was left by a version that committed the mail before its
    # answer: this redelivery finishes it instead of being dropped as a duplicate.
    row = existing or _insert(
        session, message_id=message_id, source=source[:16], received_at=now,
        from_addr=mail.from_addr[:320], envelope_from=(mail.return_path or "")[:320],
        subject=mail.subject[:998], size=len(raw))
    if row is None:  # a concurrent delivery of the same mail recorded it first
        return _duplicate(_recorded(message_id, session))
    if not too_large:
        row.raw_path = str(_store(raw, settings.var_dir / "mail" / "inbound" / f"{row.id}.eml"))
    verdict = _judge(mail, too_large=too_large, session=session, settings=settings, now=now)
    crash_point("after_inbound_recorded")
    if verdict.status == InboundStatus.ACCEPTED:
        verdict = _record_answer(row, mail, verdict, session=session, now=now, source=source,
                                 shop_name=settings.shop_name)
    row.status, row.reason, row.ticket_id = verdict.status, verdict.reason, verdict.ticket_id
    if verdict.status != InboundStatus.ACCEPTED and verdict.ticket_id is not None:
        session.add(TicketEvent(ticket_id=verdict.ticket_id, kind="reply_quarantined", at=now,
                                detail={"reason": verdict.reason, "status": verdict.status,
                                        "inbound_id": row.id, "from": mail.from_addr,
                                        "envelope_from": mail.return_path or "",
                                        "subject": mail.subject[:200]}))
    session.flush()
    if verdict.status != InboundStatus.ACCEPTED:
        log.info("inbound mail %s from %s %s: %s", row.id, mail.from_addr or "?",
                 verdict.status, verdict.reason)
    operator = mail.from_addr if verdict.status == InboundStatus.ACCEPTED else ""
    return InboundResult(row.id, verdict.status, verdict.reason, verdict.ticket_id,
                         row.answer_text, operator)


def _insert(session: Session, **values) -> InboundMessage | None:
    """The new row, or None when the Message-ID is recorded already. ON CONFLICT DO
    NOTHING, not a savepoint: on SQLite a savepoint opened outside a transaction commits
    when released, which would commit the mail before its answer is recorded."""
    values |= {"status": InboundStatus.RECEIVED, "reason": "", "raw_path": "", "answer_text": ""}
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(
        session.get_bind().dialect.name)
    if insert is None:  # another database: the unique index still refuses a second row
        row = InboundMessage(**values)
        session.add(row)
        session.flush()
        return row
    new_id = session.scalar(insert(InboundMessage).values(**values)
                            .on_conflict_do_nothing(index_elements=["message_id"])
                            .returning(InboundMessage.id))
    return None if new_id is None else session.get(InboundMessage, new_id)


def _record_answer(row: InboundMessage, mail: ParsedMail, verdict: _Verdict, *,
                   session: Session, now: datetime, source: str, shop_name: str) -> _Verdict:
    digest = hashlib.sha256(verdict.token.encode()).hexdigest()
    if session.scalar(select(InboundMessage.id).where(InboundMessage.answer_token == digest)):
        return _Verdict(InboundStatus.QUARANTINED, "token_used", verdict.ticket_id)
    answer, picked = mail.text, None
    pick = read_pick(mail.text, session.get(Ticket, verdict.ticket_id).considered,
                     names=(shop_name, mail.from_addr.partition("@")[0]))
    if pick.kind in ("unknown_code", "ambiguous_code"):
        return _Verdict(InboundStatus.QUARANTINED, pick.kind, verdict.ticket_id)
    if pick.kind == "pick":
        entry = published_entry(pick.entry_id, session=session)
        if entry is None:  # deleted or unpublished since the mail was sent
            return _Verdict(InboundStatus.QUARANTINED, "unknown_code", verdict.ticket_id)
        answer, picked = entry.answer, entry.id
    try:
        apply_answer(verdict.ticket_id, answer, mail.from_addr, via=source, session=session,
                     now=now, picked_entry_id=picked)
    except EscalationError:  # another answer was recorded first (a race, or a concurrent mail)
        return _Verdict(InboundStatus.QUARANTINED, "ticket_closed", verdict.ticket_id)
    row.answer_text, row.answer_token = answer, digest
    return verdict


def _judge(mail: ParsedMail, *, too_large: bool, session: Session, settings: Settings,
           now: datetime) -> _Verdict:
    ticket_id, refusal, token = _match_ticket(mail, session=session, settings=settings, now=now)
    # Whatever is refused is still shown on the ticket it names, if that ticket exists.
    shown_on = ticket_id if ticket_id is not None and session.get(Ticket, ticket_id) else None
    if too_large:
        return _Verdict(InboundStatus.QUARANTINED, "too_large", shown_on)
    if mail.problem == "unparseable":
        return _Verdict(InboundStatus.QUARANTINED, "unparseable", shown_on)
    # Before the sender check: bounces come from MAILER-DAEMON, and an operator's own
    # out-of-office is not an answer either.
    if mail.is_bounce:
        return _Verdict(InboundStatus.IGNORED, "bounce", shown_on)
    if mail.is_auto_reply:
        return _Verdict(InboundStatus.IGNORED, "auto_reply", shown_on)
    if sender := _sender_refusal(mail, settings):
        return _Verdict(InboundStatus.QUARANTINED, sender, shown_on)
    if refusal:
        return _Verdict(InboundStatus.QUARANTINED, refusal, shown_on)
    if mail.problem:  # empty, attachment_only
        return _Verdict(InboundStatus.QUARANTINED, mail.problem, shown_on)
    return _Verdict(InboundStatus.ACCEPTED, "", ticket_id, token)


def _sender_refusal(mail: ParsedMail, settings: Settings) -> str:
    operators = _operators(settings)
    if mail.from_addr not in operators:
        return "unauthorised_sender"
    if not mail.return_path:
        return "no_envelope_sender"
    if mail.return_path not in operators:
        return "envelope_mismatch"
    if failed := auth_failure(mail.auth_results, settings.inbound_authserv_id):
        return f"auth_failed:{failed}"[:64]
    return ""


def _match_ticket(mail: ParsedMail, *, session: Session, settings: Settings,
                  now: datetime) -> tuple[int | None, str, str]:
    """(ticket id, "", token) for a valid token in a recipient address naming an open
    ticket; else (the ticket the mail seems to be about, or None; why it cannot be
    accepted; "")."""
    in_address = _tokens(mail.to_addrs)
    in_thread = _tokens((mail.in_reply_to, *mail.references))
    tag = _SUBJECT_TAG.search(mail.subject)
    hint = int(tag.group(1)) if tag else None
    key = settings.resolved_secret_key
    if not in_address:
        if not in_thread:
            return hint, "no_token", ""
        # Told apart from a forged token: the operator sees the mail was about a ticket.
        threaded = next((ticket_id for t in in_thread
                         if (ticket_id := tokens.verify(t, key=key, now=now)) is not None), None)
        if threaded is None:
            return hint or _unverified_id(in_thread), "bad_token", ""
        return threaded, "token_not_in_address", ""
    # Any valid token will do: a reminder's Reply-To carries a fresher one than the
    # escalation's, and each is checked against the key all the same.
    token, verified = next(((t, ticket_id) for t in in_address
                            if (ticket_id := tokens.verify(t, key=key, now=now)) is not None),
                           ("", None))
    if verified is None:
        return hint or _unverified_id(in_address), "bad_token", ""
    ticket = session.get(Ticket, verified)
    if ticket is None:
        return None, "unknown_ticket", ""
    if ticket.status != TicketStatus.OPEN or ticket.answer:
        return verified, "ticket_closed", ""
    return verified, "", token


def _tokens(texts) -> list[str]:
    return list(dict.fromkeys(token for text in texts if (token := tokens.find_token(text))))


def _unverified_id(candidates: list[str]) -> int | None:
    match = re.match(r"t(\d+)-", candidates[0]) if candidates else None
    return int(match.group(1)) if match else None


def _operators(settings: Settings) -> set[str]:
    return {(parseaddr(entry)[1] or entry).strip().lower() for entry in settings.operators}


def _header_block(raw: bytes) -> bytes:
    head = raw[:MAX_HEADER_BYTES]
    for separator in (b"\r\n\r\n", b"\n\n"):
        if (end := head.find(separator)) >= 0:
            return head[:end] + separator
    return head


def _dedupe_key(message_id: str, raw: bytes) -> str:
    """The Message-ID; a mail without one is known by its bytes."""
    if not message_id:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(message_id) > MAX_MESSAGE_ID:
        return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    return message_id


def _recorded(message_id: str, session: Session, *, lock: bool = False
              ) -> InboundMessage | None:
    query = select(InboundMessage).where(InboundMessage.message_id == message_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def _duplicate(existing: InboundMessage) -> InboundResult:
    return InboundResult(existing.id, InboundStatus.DUPLICATE, existing.status,
                         existing.ticket_id, "", "")


def _store(raw: bytes, path: Path) -> Path:
    """Written and synced before the row commits, so a recorded mail is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path.resolve()
