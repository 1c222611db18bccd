"""Rasa's action endpoint, hosted by the product's ASGI app instead of a separate
rasa-sdk server: one process holds the warm embedding model and index.

It sits on the public app port, so only a caller holding the shared token (Rasa, through
endpoints.yml) may run an action; calls are rate-limited and bodies capped and parsed
defensively before rasa-sdk sees them."""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from bot.conversation.actions import (
    ActionAnswerQuestion,
    ActionDeliverAnswer,
    ActionDetectLanguage,
    ActionHandoff,
    ActionRecordFeedback,
    ActionSessionStart,
    ActionSmallTalk,
    ActionThanks,
)
from bot.conversation.assistant import Assistant
from bot.conversation.boundary import ACTION_TOKEN_HEADER, action_endpoint_token
from bot.conversation.contact_form import (
    ActionAskContactConsent,
    ActionOpenTicket,
    ValidateEscalationForm,
)
from bot.conversation.rasa_project.boundary.limits import json_depth
from core import Settings

log = logging.getLogger(__name__)

# A Rasa call nests about six levels (tracker > events > parse_data > entities > ...).
MAX_DEPTH = 32


def all_actions(assistant: Assistant) -> list[Action]:
    """Every custom action the Rasa project names, served by this endpoint."""
    return [cls(assistant) for cls in (
        ActionSessionStart, ActionDetectLanguage, ActionAnswerQuestion, ActionThanks,
        ActionSmallTalk, ActionHandoff, ActionRecordFeedback, ActionOpenTicket,
        ActionDeliverAnswer, ActionAskContactConsent, ValidateEscalationForm)]


class CallRefused(Exception):
    def __init__(self, status: int, error: str):
        super().__init__(error)
        self.status, self.error = status, error


class Gate:
    """Who may call, how often, and how much: checked before any action runs."""

    def __init__(self, settings: Settings, token: str) -> None:
        self._expected = f"Bearer {token}".encode()
        self._max_bytes = settings.action_endpoint_max_bytes
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self._per_address = parse(settings.action_endpoint_rate_limit)
        self._per_conversation = parse(settings.action_endpoint_conversation_limit)

    def admit(self, request: Request) -> None:
        address = request.client.host if request.client else "unknown"
        if not self._limiter.hit(self._per_address, "action-endpoint", address):
            raise CallRefused(429, "too many calls; slow down")
        presented = request.headers.get(ACTION_TOKEN_HEADER)
        if not presented:
            raise CallRefused(401, "the action endpoint needs Rasa's token")
        if not hmac.compare_digest(presented.encode(), self._expected):
            log.warning("action endpoint: a call from %s with a wrong token", address)
            raise CallRefused(403, "wrong token")

    async def read_call(self, request: Request) -> dict:
        declared = request.headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > self._max_bytes):
            raise CallRefused(413, f"the body is larger than {self._max_bytes} bytes")
        raw = bytearray()
        async for chunk in request.stream():  # a chunked body has no length to trust
            raw += chunk
            if len(raw) > self._max_bytes:
                raise CallRefused(413, f"the body is larger than {self._max_bytes} bytes")
        try:
            call = json.loads(raw)
        except (ValueError, RecursionError):
            raise CallRefused(400, "Invalid body request") from None
        if not isinstance(call, dict) or not isinstance(call.get("next_action"), str) \
                or not isinstance(call.get("tracker"), dict) \
                or not isinstance(call.get("domain", {}), dict):
            raise CallRefused(400, "Invalid body request")
        if json_depth(call, stop_after=MAX_DEPTH) > MAX_DEPTH:
            raise CallRefused(400, f"the body is nested deeper than {MAX_DEPTH} levels")
        # Rasa sends the domain only to the actions that read it (selective domain, see
        # rasa_runtime.write_endpoints); rasa-sdk refuses a call without the key.
        call.setdefault("domain", {})
        return call

    def admit_conversation(self, sender: str) -> None:
        if not self._limiter.hit(self._per_conversation, "action-endpoint", "id", sender):
            raise CallRefused(429, "too many calls for this conversation")


def action_router(assistant: Assistant, *, token: str | None = None) -> APIRouter:
    executor = ActionExecutor()
    for action in all_actions(assistant):
        executor.register_action(action)
    gate = Gate(assistant.settings, token or action_endpoint_token(assistant.settings))
    router = APIRouter(tags=["rasa action endpoint"])

    @router.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        try:
            gate.admit(request)
            call = await gate.read_call(request)
            sender = str(call["tracker"].get("sender_id", "?"))[:128]
            gate.admit_conversation(sender)
        except CallRefused as exc:
            log.warning("action endpoint: refused a call from %s (%d: %s)",
                        request.client.host if request.client else "?", exc.status, exc.error)
            return JSONResponse({"error": exc.error}, status_code=exc.status)
        try:
            result = await executor.run(call)
        except ActionExecutionRejection as exc:  # a form rejected the message: Rasa re-predicts
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 400)
        except ActionNotFoundException as exc:
            log.error("conversation %s: %s", sender, exc.message)
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 404)
        except ActionMissingDomainException as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 449)
        except Exception:
            log.exception("conversation %s: action %s failed", sender, call.get("next_action"))
            return JSONResponse({"error": "action failed"}, status_code=500)
        return JSONResponse(result.model_dump() if result else None)

    @router.get("/webhook/actions")
    async def actions(request: Request) -> JSONResponse:
        try:
            gate.admit(request)
        except CallRefused as exc:
            return JSONResponse({"error": exc.error}, status_code=exc.status)
        return JSONResponse([a.model_dump() for a in executor.list_actions()])

    return router
