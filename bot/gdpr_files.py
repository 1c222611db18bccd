"""The customer's mail on disk, for GDPR erasure: raw inbound messages (`var/mail/inbound`,
one .eml per received mail) and the local sink's Maildir (`var/mail/sink`), where every
mail the product sent lands when no real relay is configured.

A file goes when the database links it to the customer (its inbound row, or the Message-ID
of one of their outbox rows) or when it mentions one of their addresses: headers are
plain text, bodies may be quoted-printable or base64, so both the raw bytes and the
decoded text are searched. Mail already delivered to a real mailbox is outside the
product: the operators delete it there.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path

INBOUND = Path("mail") / "inbound"
SINK = Path("mail") / "sink"
MAX_SCAN_BYTES = 50 * 1024 * 1024  # the receiver refuses bigger mail; never read more


@dataclass(frozen=True)
class MailTraces:
    """What points to the customer's mail: addresses, Message-IDs, recorded raw files."""
    emails: frozenset[str]
    message_ids: frozenset[str]
    raw_paths: frozenset[str]


def erase_mail_files(var_dir: Path, traces: MailTraces) -> dict[str, int]:
    return {"inbound_files_deleted": _erase_inbound(var_dir / INBOUND, traces),
            "sink_mails_deleted": _erase_sink(var_dir / SINK, traces)}


def _erase_inbound(folder: Path, traces: MailTraces) -> int:
    if not folder.is_dir():
        return 0
    linked = {Path(p).name for p in traces.raw_paths if p}
    deleted = 0
    for path in sorted(folder.iterdir()):
        # Only the receiver's own files, by name: a path stored in the DB is never trusted.
        if not path.is_file() or path.suffix not in (".eml", ".tmp"):
            continue
        if path.name in linked or _mentions(_read(path), traces.emails):
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def _erase_sink(folder: Path, traces: MailTraces) -> int:
    if not all((folder / sub).is_dir() for sub in ("new", "cur", "tmp")):
        return 0
    box = mailbox.Maildir(folder, create=False)
    deleted = 0
    for key in list(box.keys()):
        try:
            raw = box.get_bytes(key)
        except KeyError:  # gone since listing
            continue
        message = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        if (str(message.get("Message-ID", "")).strip() in traces.message_ids
                or _mentions(raw, traces.emails)):
            box.discard(key)
            deleted += 1
    return deleted


def _read(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAX_SCAN_BYTES)


def _mentions(raw: bytes, emails: Iterable[str]) -> bool:
    emails = [e.lower() for e in emails if e]
    if not emails:
        return False
    lowered = raw.lower()
    if any(email.encode() in lowered for email in emails):
        return True
    return any(email in text for text in _decoded(raw) for email in emails)


def _decoded(raw: bytes) -> Iterable[str]:
    """The text of every part, decoded from quoted-printable or base64, lower case."""
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            try:
                yield payload.decode(part.get_content_charset() or "utf-8", "replace").lower()
            except LookupError:  # a charset Python does not know
                yield payload.decode("utf-8", "replace").lower()
