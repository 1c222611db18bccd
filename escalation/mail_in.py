"""Mail in: the built-in SMTP receiver (aiosmtpd) and an IMAP poller.

Both hand the raw bytes to one callback, ``on_message(raw, source=...)``, which records
the mail (see `escalation.inbound.receive`) and acts on it. Nothing is acknowledged
before the callback returned: the receiver answers 250 only then and a temporary 451
when it raised, so the sending MTA keeps the mail and retries; the poller marks a mail
\\Seen only after the callback returned, so a failure leaves it for the next poll.
Redeliveries are harmless because the callback deduplicates by Message-ID.

The callback only records (the mail and, for an accepted answer, the answer itself, in
one transaction) so the sending server waits for that and nothing more; delivering the
answer and learning from it happen afterwards in a worker (`bot.jobs.services`).

The receiver writes the envelope into the mail as a delivering MTA does: a Return-Path
with the MAIL FROM address (any Return-Path the sender wrote is removed first: only the
receiving side may state the envelope) and a Delivered-To per recipient.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import re
import ssl
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from core import Settings

log = logging.getLogger(__name__)

OnMessage = Callable[..., Any]  # on_message(raw: bytes, source: str) -> anything
IMAP_TIMEOUT_S = 60.0
# A Return-Path header with its folded continuation lines, in the header block.
_RETURN_PATH = re.compile(rb"^return-path[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n",
                          re.IGNORECASE | re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f<>]")


class InboundHandler:
    """aiosmtpd handler: the callback runs in a worker thread (it does blocking database
    and disk work) so the receiver keeps serving other connections meanwhile."""

    def __init__(self, on_message: OnMessage, *, max_bytes: int) -> None:
        self.on_message = on_message
        self.max_bytes = max_bytes

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        if len(content) > self.max_bytes:  # aiosmtpd's own limit normally answers first
            return "552 5.3.4 Message too big"
        # Like a delivering MTA, record the envelope: the sender, checked against the
        # operators, and the recipients: the reply address with its ticket token may
        # appear nowhere else (Bcc, an MX alias that rewrote To).
        trace = f"Return-Path: <{_CONTROL.sub('', envelope.mail_from or '')}>\r\n" + "".join(
            f"Delivered-To: {_CONTROL.sub('', rcpt)}\r\n" for rcpt in envelope.rcpt_tos)
        try:
            await asyncio.to_thread(self.on_message, trace.encode() + _without_return_path(content),
                                    source="smtp")
        except Exception:
            log.exception("inbound mail from %s could not be recorded", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 Message accepted"


def _without_return_path(content: bytes) -> bytes:
    """The mail with any Return-Path the sender supplied removed from its header block."""
    ends = [i + len(sep) // 2 for sep in (b"\r\n\r\n", b"\n\n") if (i := content.find(sep)) >= 0]
    end = min(ends, default=len(content))  # the header block with its last line's break
    return _RETURN_PATH.sub(b"", content[:end]) + content[end:]


def start_receiver(settings: Settings, on_message: OnMessage) -> Controller | None:
    """The SMTP receiver on inbound_smtp_host:inbound_smtp_port, or None when the port is
    0 (disabled). Stop it with ``controller.stop()``."""
    if not settings.inbound_smtp_port:
        return None
    controller = Controller(
        InboundHandler(on_message, max_bytes=settings.max_inbound_bytes),
        hostname=settings.inbound_smtp_host,
        port=settings.inbound_smtp_port,
        data_size_limit=settings.max_inbound_bytes,  # answered with 552 by aiosmtpd
        ident="supportbot inbound",
    )
    controller.start()
    log.info("inbound SMTP receiver on %s:%s", settings.inbound_smtp_host,
             settings.inbound_smtp_port)
    return controller


def poll_imap(settings: Settings, on_message: OnMessage, *,
              connect: Callable[[Settings], imaplib.IMAP4] | None = None) -> int:
    """Hand every unseen mail in the folder to `on_message`; returns how many were handed
    over. Mails whose callback raised stay unseen and come back next poll."""
    if not settings.imap_host:
        return 0
    imap = (connect or _connect)(settings)
    handled = 0
    try:
        imap.login(settings.imap_user, settings.imap_password)
        status, _ = imap.select(_quoted(settings.imap_folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {settings.imap_folder!r}")
        # UIDs, not sequence numbers: they stay valid while other clients expunge.
        _, data = imap.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split():
            # BODY.PEEK[] is RFC822 without the implicit \Seen that plain RFC822 sets.
            status, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched or () if isinstance(item, tuple)), None)
            if status != "OK" or raw is None:
                log.warning("IMAP message %s could not be fetched", uid.decode())
                continue
            try:
                on_message(raw, source="imap")
            except Exception:
                log.exception("IMAP message %s could not be recorded; retried next poll",
                              uid.decode())
                continue
            imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            handled += 1
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return handled


def run_imap_poller(settings: Settings, on_message: OnMessage, stop: threading.Event) -> None:
    """Poll until `stop` is set; does nothing when no IMAP host is configured. A failed
    poll (server down, wrong password) is logged and tried again next interval."""
    if not settings.imap_host:
        return
    while not stop.is_set():
        try:
            poll_imap(settings, on_message)
        except Exception:
            log.exception("IMAP poll of %s failed", settings.imap_host)
        stop.wait(settings.imap_poll_interval_s)


def _connect(settings: Settings) -> imaplib.IMAP4:
    return imaplib.IMAP4_SSL(settings.imap_host, settings.imap_port,
                             ssl_context=ssl.create_default_context(), timeout=IMAP_TIMEOUT_S)


def _quoted(folder: str) -> str:
    """Folder names with spaces ("Posta in arrivo") must be quoted on the wire."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
