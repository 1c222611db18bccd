"""A received email, recorded and judged: is it an operator's answer to a ticket?

`receive` records every mail (an `InboundMessage` row, the raw bytes on disk) before
anything acts on it, and decides: accepted, quarantined (a person should look),
ignored (auto-replies, bounces) or duplicate (the same Message-ID seen before, so a
redelivery changes nothing). It neither delivers nor learns: the caller acts on
"accepted" in the same transaction's aftermath.

The ticket token in the reply address (or in the Message-ID the reply points to) is
what authenticates an answer, together with the operator's address: a From header is
trivially forged, the token's HMAC is not. The ``[#T12]`` subject tag only tells
which ticket a refused mail was about, so the operator sees it there.
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import Settings
from escalation import tokens
from escalation.models import InboundMessage, Ticket, TicketEvent, TicketStatus
from escalation.reply_parser import ParsedMail, parse_reply

log = logging.getLogger(__name__)

MAX_MESSAGE_ID = 300  # the column's size; longer ids are hashed
MAX_HEADER_BYTES = 256 * 1024  # of an oversized mail only this much is read, for its headers
_SUBJECT_TAG = re.compile(r"\[#T(\d{1,12})\]", re.IGNORECASE)


@dataclass(frozen=True)
class InboundResult:
    inbound_id: int
    status: str  # accepted, quarantined, duplicate, ignored
    reason: str  # why quarantined or ignored; for a duplicate, the first delivery's status
    ticket_id: int | None
    answer_text: str
    operator: str  # the answering operator's address, when accepted


@dataclass(frozen=True)
class _Verdict:
    status: str
    reason: str = ""
    ticket_id: int | None = None


def receive(raw: bytes, *, source: str, session: Session, settings: Settings,
            now: datetime) -> InboundResult:
    """Record one received mail and judge it. Flushes; the caller's transaction commits."""
    too_large = len(raw) > settings.max_inbound_bytes
    # An oversized mail is judged on its headers alone: its body is never parsed.
    mail = parse_reply(_header_block(raw) if too_large else raw)
    message_id = _dedupe_key(mail.message_id, raw)
    if (existing := _recorded(message_id, session)) is not None:
        return _duplicate(existing)
    row = InboundMessage(message_id=message_id, source=source[:16], received_at=now,
                         from_addr=mail.from_addr[:320], subject=mail.subject[:998],
                         size=len(raw), status="received")
    try:
        with session.begin_nested():  # a concurrent delivery of the same mail loses here
            session.add(row)
            session.flush()
    except IntegrityError:
        return _duplicate(_recorded(message_id, session))
    if not too_large:
        row.raw_path = str(_store(raw, settings.var_dir / "mail" / "inbound" / f"{row.id}.eml"))
    verdict = _judge(mail, too_large=too_large, session=session, settings=settings, now=now)
    answer = mail.text if verdict.status == "accepted" else ""
    row.status, row.reason, row.ticket_id = verdict.status, verdict.reason, verdict.ticket_id
    row.answer_text = answer
    if verdict.status != "accepted" and verdict.ticket_id is not None:
        session.add(TicketEvent(ticket_id=verdict.ticket_id, kind="reply_quarantined", at=now,
                                detail={"reason": verdict.reason, "status": verdict.status,
                                        "inbound_id": row.id, "from": mail.from_addr,
                                        "subject": mail.subject[:200]}))
    session.flush()
    if verdict.status != "accepted":
        log.info("inbound mail %s from %s %s: %s", row.id, mail.from_addr or "?",
                 verdict.status, verdict.reason)
    operator = mail.from_addr if verdict.status == "accepted" else ""
    return InboundResult(row.id, verdict.status, verdict.reason, verdict.ticket_id, answer,
                         operator)


def _judge(mail: ParsedMail, *, too_large: bool, session: Session, settings: Settings,
           now: datetime) -> _Verdict:
    ticket_id, refusal = _match_ticket(mail, session=session, settings=settings, now=now)
    # Whatever is refused is still shown on the ticket it names, if that ticket exists.
    shown_on = ticket_id if ticket_id is not None and session.get(Ticket, ticket_id) else None
    if too_large:
        return _Verdict("quarantined", "too_large", shown_on)
    if mail.problem == "unparseable":
        return _Verdict("quarantined", "unparseable", shown_on)
    # Before the sender check: bounces come from MAILER-DAEMON, and an operator's own
    # out-of-office is not an answer either.
    if mail.is_bounce:
        return _Verdict("ignored", "bounce", shown_on)
    if mail.is_auto_reply:
        return _Verdict("ignored", "auto_reply", shown_on)
    if mail.from_addr not in _operators(settings):
        return _Verdict("quarantined", "unauthorised_sender", shown_on)
    if refusal:
        return _Verdict("quarantined", refusal, shown_on)
    if mail.problem:  # empty, attachment_only
        return _Verdict("quarantined", mail.problem, shown_on)
    return _Verdict("accepted", "", ticket_id)


def _match_ticket(mail: ParsedMail, *, session: Session, settings: Settings,
                  now: datetime) -> tuple[int | None, str]:
    """(ticket id, "") for a valid token naming an open ticket; else (the ticket the
    mail seems to be about, or None; why it cannot be accepted)."""
    found = [tokens.find_token(text) for text in (*mail.to_addrs, mail.in_reply_to,
                                                  *mail.references)]
    candidates = list(dict.fromkeys(token for token in found if token))
    tag = _SUBJECT_TAG.search(mail.subject)
    hint = int(tag.group(1)) if tag else None
    if not candidates:
        return hint, "no_token"
    key = settings.resolved_secret_key
    # Any valid token will do: a reminder's Message-ID carries a fresher one than the
    # escalation's Reply-To, and each is checked against the key all the same.
    verified = next((ticket_id for token in candidates
                     if (ticket_id := tokens.verify(token, key=key, now=now)) is not None), None)
    if verified is None:
        unverified = re.match(r"t(\d+)-", candidates[0])
        return hint or (int(unverified.group(1)) if unverified else None), "bad_token"
    ticket = session.get(Ticket, verified)
    if ticket is None:
        return None, "unknown_ticket"
    if ticket.status != TicketStatus.OPEN.value or ticket.answer:
        return verified, "ticket_closed"
    return verified, ""


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


def _recorded(message_id: str, session: Session) -> InboundMessage | None:
    return session.scalars(
        select(InboundMessage).where(InboundMessage.message_id == message_id)).first()


def _duplicate(existing: InboundMessage) -> InboundResult:
    return InboundResult(existing.id, "duplicate", existing.status, existing.ticket_id, "", "")


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
