"""A message Rasa could not handle at all gets the polite technical-problem reply.

Rasa takes the conversation's lock and reads its tracker before any policy runs; when the
lock store (Redis) or the tracker store (PostgreSQL) is unreachable, the exception ends the
handling: the REST channel logs it and answers an empty list, socket.io answers nothing, and
the customer waits for a reply that never comes. ActionFailurePolicy cannot help there (no
prediction is made), so the channels wrap Rasa's message handler with `answer_on_failure`.
Redis's client reconnects by itself, so the next message after Redis is back is answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa.core.channels.channel import UserMessage

log = logging.getLogger(__name__)

DOMAIN = Path(__file__).resolve().parent.parent / "domain.yml"
RESPONSE = "utter_technical_problem"


@lru_cache(maxsize=1)
def _variants() -> tuple[str, str]:
    """(English, default) texts of the domain's response: one wording for both paths."""
    variants = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"][RESPONSE]
    english = next(v["text"] for v in variants if v.get("condition"))
    default = next(v["text"] for v in variants if not v.get("condition"))
    return english, default


def technical_problem_text(language: object) -> str:
    english, default = _variants()
    return english if language == "en" else default


def answer_on_failure(
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[UserMessage], Awaitable[Any]]:
    async def handled(message: UserMessage) -> Any:
        try:
            return await on_new_message(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("conversation %s: the message could not be handled (%s: %s); answered "
                      "with %s", message.sender_id, type(exc).__name__,
                      str(exc).splitlines()[0] if str(exc) else "", RESPONSE)
            language = (message.metadata or {}).get("language")
            await message.output_channel.send_text_message(
                message.sender_id, technical_problem_text(language))
            return None
    return handled
