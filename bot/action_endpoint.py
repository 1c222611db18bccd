"""Rasa's action endpoint, hosted by the product's ASGI app instead of a separate
rasa-sdk server: one process holds the warm embedding model and index."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from bot.actions import all_actions
from bot.assistant import Assistant

log = logging.getLogger(__name__)


def action_router(assistant: Assistant) -> APIRouter:
    executor = ActionExecutor()
    for action in all_actions(assistant):
        executor.register_action(action)
    router = APIRouter(tags=["rasa action endpoint"])

    @router.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        try:
            call = await request.json()
        except ValueError:
            return JSONResponse({"error": "Invalid body request"}, status_code=400)
        if not isinstance(call, dict):
            return JSONResponse({"error": "Invalid body request"}, status_code=400)
        sender = (call.get("tracker") or {}).get("sender_id", "?")
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
    async def actions() -> list[dict]:
        return [a.model_dump() for a in executor.list_actions()]

    return router
