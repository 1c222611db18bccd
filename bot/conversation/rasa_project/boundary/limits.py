"""What a stranger may send to Rasa's public chat channels, checked before NLU sees it.

Plain Python (no Rasa import), so the product's tests check it directly. The Rasa process
reads the limits from environment variables that `supportbot run` sets from its settings.

Over-long messages are refused, not truncated: a truncated question would be answered as if
the customer had asked it, and the cost of the DIET classifier grows with the square of the
words (3,000 words took 0.85 GB), so nothing longer than the product's own question limit
may reach it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

MAX_SENDER_CHARS = 128  # the widget's ids are 32 hex characters
MAX_METADATA_DEPTH = 8  # the widget sends a flat object


class Refused(Exception):
    """The message breaks a limit: `status` for HTTP, `reason` for people and logs."""

    def __init__(self, status: int, reason: str, *, too_long: bool = False):
        super().__init__(reason)
        self.status, self.reason, self.too_long = status, reason, too_long


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


def _env_origins() -> list[str]:
    try:
        origins = json.loads(os.environ.get("SUPPORTBOT_CHAT_ALLOWED_ORIGINS", "[]"))
    except ValueError:
        return []
    return [o for o in origins if isinstance(o, str)] if isinstance(origins, list) else []


@dataclass(frozen=True)
class ChatLimits:
    max_message_chars: int = 1000
    max_metadata_bytes: int = 8192
    max_body_bytes: int = 65536
    allowed_origins: list[str] = field(default_factory=list)  # empty: no browser origin

    @classmethod
    def from_env(cls) -> ChatLimits:
        return cls(max_message_chars=_env_int("SUPPORTBOT_MAX_QUESTION_CHARS", 1000),
                   max_metadata_bytes=_env_int("SUPPORTBOT_CHAT_MAX_METADATA_BYTES", 8192),
                   max_body_bytes=_env_int("SUPPORTBOT_CHAT_MAX_BODY_BYTES", 65536),
                   allowed_origins=_env_origins())

    def origin_allowed(self, origin: str | None) -> bool:
        """Browsers always send Origin on cross-site socket and fetch requests; programs
        need not, and CORS does not concern them."""
        return not origin or "*" in self.allowed_origins or origin in self.allowed_origins

    def sender(self, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Refused(400, "`sender` must be a non-empty string (the conversation id)")
        if len(value) > MAX_SENDER_CHARS or not value.isprintable():
            raise Refused(400, f"`sender` must be at most {MAX_SENDER_CHARS} printable "
                               "characters")
        return value

    def message(self, value: object) -> str:
        if not isinstance(value, str):
            raise Refused(400, "`message` must be a string")
        if len(value.strip()) > self.max_message_chars:
            raise Refused(413, f"the message is longer than {self.max_message_chars} "
                               "characters", too_long=True)
        return value

    def metadata(self, value: object) -> dict:
        """A flat-ish JSON object of bounded size; a JSON string is decoded first (the
        socket.io channel allows one), after its size is checked."""
        if value is None:
            return {}
        if isinstance(value, str):
            if len(value.encode("utf-8", "surrogatepass")) > self.max_metadata_bytes:
                raise Refused(413, self._metadata_too_big())
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise Refused(400, "`metadata` is not valid JSON") from None
        if not isinstance(value, dict):
            raise Refused(400, "`metadata` must be a JSON object")
        if json_depth(value) > MAX_METADATA_DEPTH:
            raise Refused(400, f"`metadata` is nested deeper than {MAX_METADATA_DEPTH} levels")
        if len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")) > \
                self.max_metadata_bytes:
            raise Refused(413, self._metadata_too_big())
        return value

    def _metadata_too_big(self) -> str:
        return f"`metadata` is larger than {self.max_metadata_bytes} bytes"

    def rest_body(self, body: object) -> tuple[str, str, dict]:
        """sender, message and metadata of a REST channel call."""
        if not isinstance(body, dict):
            raise Refused(400, "the body must be a JSON object "
                               '{"sender": ..., "message": ..., "metadata": {...}}')
        return (self.sender(body.get("sender")), self.message(body.get("message")),
                self.metadata(body.get("metadata")))


def json_depth(value: object, *, stop_after: int | None = None) -> int:
    """Nesting depth of decoded JSON, without recursion (hostile input can be deep). With
    `stop_after`, nothing deeper is walked: the answer is then "more than that"."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if stop_after is None or depth <= stop_after:
                stack.extend((child, depth + 1) for child in item)
    return deepest


def too_long_text(limits: ChatLimits, language: object) -> str:
    """What the customer reads on a channel without status codes (socket.io)."""
    if language == "en":
        return (f"Your message is too long (over {limits.max_message_chars} characters): "
                "could you sum it up in a few lines?")
    return (f"Il messaggio è troppo lungo (più di {limits.max_message_chars} caratteri): "
            "puoi riassumerlo in poche righe?")


def refused_text(language: object) -> str:
    if language == "en":
        return "Sorry, I could not read that message. Please try again."
    return "Scusa, non sono riuscito a leggere il messaggio. Riprova, per favore."
