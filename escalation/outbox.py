"""The sender: takes due rows from the outbox and hands them to SMTP.

Delivery is at-least-once, never exactly-once. A row is claimed (status ``sending``,
committed) before SMTP is spoken to, and marked ``sent`` in a new transaction after the
server accepted it. If the process dies between the server's "250 OK" and that commit,
nobody can know whether the mail left: SMTP has no way to ask a server "did you already
take message X?", and the database and the relay cannot share one transaction. So a row
left in ``sending`` past its lease is sent again, with the SAME Message-ID (stored in
the row), which lets mail clients, MTAs and our own inbound side recognise the copy.
The alternative, never resending, would silently lose mail on every such crash.

No extra column is needed for the lease: while a row is ``sending`` its
``next_attempt_at`` holds the lease's end, so "due" means the same for both states.

A row that cannot become a mail (an address with a line break, a header no mail may
carry, anything that raises while building it) or that the library refuses as malformed
while sending is failed for good at once, alone: retrying cannot repair it, and raising
would stop every mail behind it. Failed rows are listed in the operators' console.
"""

from __future__ import annotations

import logging
import random
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr

from sqlalchemy import or_, select, update

from core import Settings, get_engine, session_scope, utcnow
from core.faults import crash_point
from escalation.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 30.0
# Longer than one batch can take (connect + one send, each bounded by the timeout: a
# dead connection ends the batch), so a live sender never loses its claim.
SENDING_LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=6)
_HEADERS_WE_SET = {"from", "to", "subject", "message-id", "date"}
_ID_HEADERS = {"message-id", "in-reply-to", "references"}


class _SendPolicy(EmailPolicy):
    """Keeps Message-ID, In-Reply-To and References on one line. Folding them is legal,
    but threading code in the wild (and Python's parser, which keeps the fold's space)
    copes best with the unfolded form; ours are short ASCII, far below the 998 limit."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _ID_HEADERS:
            return f"{name}: {str(value).strip()}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


SEND_POLICY = _SendPolicy()


# A bare address as SMTP takes it: no display name, no spaces, no control characters,
# nothing that could end a command line or open a second header.
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\\\"@\x00-\x1f\x7f]{1,64}@"
                      r"[^\s<>()\[\],;:\\\"@\x00-\x1f\x7f]{1,255}")
_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")  # RFC 5322 field names
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is folding whitespace, allowed


class Unsendable(ValueError):
    """The row can never become a mail; it fails for good, alone."""


@dataclass(frozen=True)
class _Mail:
    id: int
    attempts: int
    envelope_to: list[str]
    message: EmailMessage


def valid_address(address: object) -> bool:
    """True for a bare mail address fit for an SMTP envelope and a To header."""
    return (isinstance(address, str) and len(address) <= 320
            and _ADDRESS.fullmatch(address) is not None)


def send_due(url: str, settings: Settings, *, now: datetime | None = None,
             limit: int = 50) -> int:
    """Send what is due; returns how many mails the server accepted."""
    now = (now or utcnow()).astimezone(UTC)  # SQLite compares stored UTC text
    mails = _buildable(url, _claim(url, now=now, limit=limit), now=now)
    if not mails:
        return 0
    sent = 0
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        for mail in mails:
            _mark_failed(url, mail, exc, settings=settings, now=now)
        return 0
    with smtp:
        for index, mail in enumerate(mails):
            try:
                crash_point("before_send")
                refused = smtp.send_message(mail.message, from_addr=_address(settings.mail_from),
                                            to_addrs=mail.envelope_to)
            except (OSError, smtplib.SMTPServerDisconnected) as exc:
                # The connection is gone: give the rest of the batch back now rather
                # than waiting out a timeout for each of them.
                for rest in mails[index:]:
                    _mark_failed(url, rest, exc, settings=settings, now=now)
                break
            except smtplib.SMTPException as exc:
                _mark_failed(url, mail, exc, settings=settings, now=now)
                continue
            except Exception as exc:  # refused as malformed by the library: never sendable
                _mark_unsendable(url, mail.id, mail.attempts, exc, now=now)
                _reset(smtp)
                continue
            crash_point("after_send")
            _mark_sent(url, mail, refused=refused, now=now)
            sent += 1
    return sent


def run_sender(url: str, settings: Settings, stop: threading.Event, *,
               interval_s: float = 2.0, limit: int = 50) -> None:
    """Send until `stop` is set; a full batch goes straight on to the next one."""
    while not stop.is_set():
        try:
            full = send_due(url, settings, limit=limit) >= limit
        except Exception:  # the loop must outlive a database or SMTP hiccup
            log.exception("outbox sender failed; retrying")
            full = False
        if not full:
            stop.wait(interval_s)


def _due(now: datetime):
    return (or_(OutboxMessage.status == OutboxStatus.PENDING,
                 OutboxMessage.status == OutboxStatus.SENDING)
            & (OutboxMessage.next_attempt_at <= now))


def _claim(url: str, *, now: datetime, limit: int) -> list[OutboxMessage]:
    with session_scope(url) as session:
        query = (select(OutboxMessage.id).where(_due(now))
                 .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
        if get_engine(url).dialect.name == "postgresql":
            # Concurrent senders skip each other's rows instead of queueing behind them.
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        if not ids:
            return []
        # The condition is checked again in the UPDATE: on SQLite (no row locks) another
        # sender may have claimed a row since the SELECT, and then it is not ours.
        claimed = session.scalars(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), _due(now))
            .values(status=OutboxStatus.SENDING, next_attempt_at=now + SENDING_LEASE)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        ).all()
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                                    .order_by(OutboxMessage.id)))


def _buildable(url: str, rows: list[OutboxMessage], *, now: datetime) -> list[_Mail]:
    """The claimed rows as mails; a row that cannot be built is failed here, alone."""
    mails = []
    for row in rows:
        try:
            mails.append(_Mail(row.id, row.attempts, _recipients(row), _build(row)))
        except Exception as exc:  # whatever the row holds, the rest of the batch goes on
            _mark_unsendable(url, row.id, row.attempts, exc, now=now)
    return mails


def _recipients(row: OutboxMessage) -> list[str]:
    to = row.to_addrs
    if not isinstance(to, list) or not to:
        raise Unsendable("the mail has no recipient")
    if bad := [address for address in to if not valid_address(address)]:
        raise Unsendable(f"not a valid address: {', '.join(repr(a)[:120] for a in bad)}")
    return list(to)


def _build(row: OutboxMessage) -> EmailMessage:
    for name, value in (row.headers or {}).items():
        if not _HEADER_NAME.fullmatch(str(name)) or not isinstance(value, str):
            raise Unsendable(f"not a valid header: {str(name)[:80]!r}")
        if _CONTROL.search(value):
            raise Unsendable(f"header {name} holds a line break or a control character")
    if _CONTROL.search(row.subject or ""):
        raise Unsendable("the subject holds a line break or a control character")
    message = EmailMessage(policy=SEND_POLICY)
    message["From"] = row.headers.get("From", "")
    message["To"] = ", ".join(row.to_addrs)
    message["Subject"] = row.subject
    # Stable across resends (the Date of composing), like the Message-ID.
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    message["Date"] = format_datetime(created)
    message["Message-ID"] = row.message_id
    for name, value in row.headers.items():
        if name.lower() not in _HEADERS_WE_SET:
            message[name] = value
    message.set_content(row.text_body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    return message


def _connect(settings: Settings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S)
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _mark_sent(url: str, mail: _Mail, *, refused: dict, now: datetime) -> None:
    # Refused recipients among accepted ones are not retried (it would resend to the
    # others); they are recorded for the console.
    error = "; ".join(f"{rcpt}: {code} {msg!r}" for rcpt, (code, msg) in refused.items())
    with session_scope(url) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == mail.id).values(
            status=OutboxStatus.SENT, sent_at=now, attempts=mail.attempts + 1, last_error=error))


def _mark_failed(url: str, mail: _Mail, exc: BaseException, *, settings: Settings,
                 now: datetime) -> None:
    attempts = mail.attempts + 1
    give_up = attempts >= settings.outbox_max_attempts or _permanent(exc)
    values: dict = {"attempts": attempts, "last_error": f"{type(exc).__name__}: {exc}"[:2000]}
    if give_up:
        values["status"] = OutboxStatus.FAILED
        log.error("outbox message %s failed for good: %s", mail.id, values["last_error"])
    else:
        values |= {"status": OutboxStatus.PENDING,
                   "next_attempt_at": now + backoff(mail.attempts, settings)}
    with session_scope(url) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == mail.id).values(**values))


def _mark_unsendable(url: str, row_id: int, attempts: int, exc: BaseException, *,
                     now: datetime) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    log.error("outbox message %s can never be sent, failed for good: %s", row_id, error)
    with session_scope(url) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(
            status=OutboxStatus.FAILED, attempts=attempts + 1, last_error=error,
            next_attempt_at=now))


def _reset(smtp: smtplib.SMTP) -> None:
    """After a refused message, start the next one from a clean SMTP state."""
    try:
        smtp.rset()
    except (OSError, smtplib.SMTPException):
        pass  # a dead connection shows itself on the next send


def backoff(previous_attempts: int, settings: Settings) -> timedelta:
    """base * 2**attempts, stretched by up to 25% so a relay coming back after an outage
    is not hit by every queued mail in the same second."""
    base = settings.outbox_retry_base_s * 2 ** min(previous_attempts, 30)
    return min(timedelta(seconds=base * random.uniform(1.0, 1.25)), MAX_BACKOFF)


def _permanent(exc: BaseException) -> bool:
    """A 5xx answer about this message (not the connection) will not change on retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


def _address(value: str) -> str:
    return parseaddr(value)[1] or value
