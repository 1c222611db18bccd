"""Rasa's REST and socket.io channels with the limits of `boundary.limits` applied before a
message reaches NLU. credentials.yml names them by module path; they keep the built-in
channels' names ("rest", "socketio"), so URLs, analytics and `output_channel=latest` are
unchanged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint
from sanic.exceptions import SanicException
from sanic.request import Request

from boundary.faults import answer_on_failure
from boundary.limits import ChatLimits, Refused, refused_text, too_long_text
from boundary.socketio_queue import share_emits

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class GuardedRestInput(RestInput):
    """POST /webhooks/rest/webhook {sender, message, metadata}: a body that is not such an
    object gets 400, an over-long message or metadata 413; nothing of it reaches NLU."""

    def __init__(self, limits: ChatLimits | None = None) -> None:
        self.limits = limits or ChatLimits.from_env()

    @classmethod
    def from_credentials(cls, credentials: dict | None) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return super().blueprint(answer_on_failure(on_new_message))

    def _checked(self, request: Request) -> tuple[str, str, dict]:
        if getattr(request.ctx, "supportbot_checked", None) is None:
            try:
                request.ctx.supportbot_checked = self.limits.rest_body(request.json)
            except Refused as exc:
                log.warning("REST channel refused a message: %s", exc.reason)
                raise SanicException(exc.reason, status_code=exc.status) from None
        return request.ctx.supportbot_checked

    async def _extract_sender(self, req: Request) -> str | None:
        return self._checked(req)[0]

    def _extract_message(self, req: Request) -> str | None:
        return self._checked(req)[1]

    def get_metadata(self, request: Request) -> dict | None:
        return self._checked(request)[2]

    def _extract_input_channel(self, req: Request) -> str:
        # The built-in channel lets the caller name any channel; analytics and the
        # delivery of operator answers rely on the real one.
        return self.name()


class GuardedSocketIOInput(SocketIOInput):
    """The socket.io channel: a foreign browser origin cannot connect, packets are capped
    at the body limit, a message that breaks a limit gets a bot message saying so, and with
    Redis configured its emits reach clients connected to any Rasa process."""

    limits: ChatLimits

    @classmethod
    def from_credentials(cls, credentials: dict | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.limits = ChatLimits.from_env()
        return channel

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = super().blueprint(answer_on_failure(on_new_message))
        sio = self.sio
        sio.eio.max_http_buffer_size = self.limits.max_body_bytes  # one packet, polling or ws
        handlers = sio.handlers[self.namespace or "/"]
        sio.on("connect", self._guard_connect(handlers["connect"]), namespace=self.namespace)
        sio.on("session_request", self._guard_session(handlers["session_request"]),
               namespace=self.namespace)
        sio.on(self.user_message_evt, self._guard_message(handlers[self.user_message_evt]),
               namespace=self.namespace)
        # With Redis, an emit reaches the client whichever Rasa process makes it.
        share_emits(sio, blueprint)
        return blueprint

    def _guard_connect(self, connect: Callable) -> Callable:
        async def guarded(sid: str, environ: dict, auth: dict | None = None) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if not self.limits.origin_allowed(origin):
                log.warning("socket.io: refused a connection from origin %r", origin)
                return False
            return await connect(sid, environ, auth)
        return guarded

    def _guard_session(self, session_request: Callable) -> Callable:
        async def guarded(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if session_id is not None and not _valid_sender(self.limits, session_id):
                log.warning("socket.io: refused a malformed session id")
                session_id = None  # a fresh conversation id instead of the hostile one
            await session_request(sid, {"session_id": session_id})
        return guarded

    def _guard_message(self, handle_message: Callable) -> Callable:
        async def guarded(sid: str, data: Any) -> None:
            language = None
            try:
                if not isinstance(data, dict):
                    raise Refused(400, "the message must be an object")
                metadata = self.limits.metadata(data.get(self.metadata_key))
                language = metadata.get("language")
                if self.session_persistence and data.get("session_id") is not None:
                    self.limits.sender(data["session_id"])
                text = self.limits.message(data.get("message", ""))
            except Refused as exc:
                log.warning("socket.io channel refused a message: %s", exc.reason)
                reply = too_long_text(self.limits, language) if exc.too_long \
                    else refused_text(language)
                await self.sio.emit(self.bot_message_evt, {"text": reply}, room=sid)
                return
            await handle_message(sid, {**data, self.metadata_key: metadata, "message": text})
        return guarded


def _valid_sender(limits: ChatLimits, value: object) -> bool:
    try:
        limits.sender(value)
    except Refused:
        return False
    return True
