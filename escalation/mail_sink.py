"""The local SMTP sink `supportbot run` starts when no real relay is configured.

It accepts every message and files it in a Maildir (``var_dir/mail/sink``): the demo's
operator mail lands there and the console shows it. A Maildir, not a table, because it
is what a real mailbox looks like: any mail client or `mutt -f` can open it, and the
sink stays independent of the database.
"""

from __future__ import annotations

import mailbox
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from core import Settings

# mailbox.Maildir names files "<seconds>.M<microseconds>P<pid>Q<counter>.<host>".
_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)")


@dataclass(frozen=True)
class StoredMail:
    key: str  # the Maildir key, for `read_message`
    subject: str
    from_addr: str
    to: str
    date: datetime | None
    message_id: str


def sink_dir(settings: Settings) -> Path:
    return settings.var_dir / "mail" / "sink"


class MaildirHandler:
    """aiosmtpd handler: every message goes into the Maildir, nothing is relayed."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)  # Maildir creates only the last level
        self.maildir = mailbox.Maildir(path, create=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Like a delivering MTA, record the envelope: Bcc recipients appear nowhere else.
        # Writing a small file inline is quicker than a thread hop for a local demo sink.
        rcpts = ", ".join(envelope.rcpt_tos)
        trace = f"Return-Path: <{envelope.mail_from}>\nX-Envelope-To: {rcpts}\n"
        # Maildir files use local line ends; SMTP's CRLF would end up as stray CRs.
        raw = _as_bytes(envelope.content).replace(b"\r\n", b"\n")
        self.maildir.add(trace.encode() + raw)
        return "250 Message accepted for delivery"


def start_sink(settings: Settings) -> Controller:
    """Listen on smtp_host:smtp_port in a background thread; call `.stop()` to end it."""
    controller = Controller(MaildirHandler(sink_dir(settings)), hostname=settings.smtp_host,
                            port=settings.smtp_port)
    controller.start()
    return controller


def list_messages(settings: Settings, *, limit: int = 50) -> list[StoredMail]:
    """The newest `limit` messages in the sink, newest first."""
    box = _open(settings)
    if box is None:
        return []
    # Sort by the delivery time in the file name: no need to open every file.
    keys = sorted(box.keys(), key=_delivery_order, reverse=True)[:limit]
    out = []
    for key in keys:
        try:
            headers = BytesHeaderParser(policy=policy.default).parsebytes(box.get_bytes(key))
        except KeyError:  # deleted since listing
            continue
        out.append(StoredMail(key=key, subject=str(headers["Subject"] or ""),
                              from_addr=str(headers["From"] or ""), to=str(headers["To"] or ""),
                              date=_date(headers["Date"]),
                              message_id=str(headers["Message-ID"] or "")))
    return out


def read_message(settings: Settings, key: str) -> EmailMessage | None:
    """One stored message, parsed (None when there is no such key)."""
    box = _open(settings)
    if box is None:
        return None
    try:
        raw = box.get_bytes(key)
    except KeyError:  # keys are looked up in the Maildir's own table: no path tricks
        return None
    return BytesParser(policy=policy.default).parsebytes(raw)


def _open(settings: Settings) -> mailbox.Maildir | None:
    path = sink_dir(settings)
    if not all((path / sub).is_dir() for sub in ("new", "cur", "tmp")):
        return None  # no sink has run here yet
    return mailbox.Maildir(path, create=False)


def _delivery_order(key: str) -> tuple[int, int, str]:
    match = _KEY_TIME.match(key)
    return (int(match[1]), int(match[2]), key) if match else (0, 0, key)


def _date(value) -> datetime | None:
    try:
        moment = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _as_bytes(content: bytes | str | None) -> bytes:
    if isinstance(content, bytes):
        return content
    return (content or "").encode("utf-8", "surrogateescape")
