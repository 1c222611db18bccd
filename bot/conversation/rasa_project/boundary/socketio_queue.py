"""socket.io across several Rasa processes, as python-socketio documents horizontal scaling:
each emit goes through a Redis pub/sub channel, and every process delivers it to the clients
connected to it. Without it, a bot message emitted by a process that does not hold the
customer's socket (an operator's answer pushed through Rasa's HTTP API, which the proxy
routes to any process) went to a room nobody was in.

Rooms need nothing more: with `session_persistence` the socket joins a room named after its
session id, which is the conversation's sender id, and Rasa's output channel emits to the
sender id. The rooms stay in each process's memory; the channel carries the emits.

Differences from python-socketio's `AsyncRedisManager`, which this builds on:
- messages travel as JSON, never unpickled (a pickle from Redis runs code in Rasa);
- the process listens from its start, not from its first connection (a reply published
  before the late subscription was lost);
- while Redis cannot be reached, or this process is not subscribed, its own clients get
  the emit directly, as a single process would (the polite technical-problem reply
  included); the others get it once Redis is back.

Enabled when `SUPPORTBOT_RASA_REDIS_URL` is set (`RasaServer.environment`, the Compose
file); without it nothing changes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from sanic import Blueprint
from socketio import AsyncRedisManager, AsyncServer

log = logging.getLogger(__name__)

REDIS_URL_ENV = "SUPPORTBOT_RASA_REDIS_URL"
# Pub/sub channels are shared by all of a Redis's databases: the database number is in
# the name, so deployments kept apart by database (as their locks are) stay apart here.
CHANNEL_PREFIX = "supportbot-socketio"
CONNECT_TIMEOUT_S = 3.0
PUBLISH_TIMEOUT_S = 3.0  # a Redis that stops answering delays an emit this long at most
SUBSCRIBE_WAIT_S = 3.0
MAX_RETRY_DELAY_S = 5.0  # a process that lost Redis listens again this soon after it is back


def channel_for(url: str) -> str:
    db = urlsplit(url).path.strip("/") or "0"
    return f"{CHANNEL_PREFIX}-{db}"


class ReplicaQueue(AsyncRedisManager):
    """python-socketio's Redis client manager, with the differences the module names."""

    name = "supportbot-redis"

    def __init__(self, url: str) -> None:
        super().__init__(url, channel=channel_for(url),
                         redis_options={"socket_connect_timeout": CONNECT_TIMEOUT_S})
        self.listening = asyncio.Event()

    def _redis_connect(self) -> None:
        super()._redis_connect()
        # Subscription confirmations kept (the library drops them): `_listen` waits for one.
        self.pubsub = self.redis.pubsub()

    async def _publish(self, data: dict[str, Any]) -> None:
        # Read before publishing: a listener not yet subscribed when the message reaches
        # Redis does not get it, so this process delivers it to its own clients itself.
        listening = self.listening.is_set()
        try:
            await asyncio.wait_for(self._publish_once_more_on_error(json.dumps(data)),
                                   PUBLISH_TIMEOUT_S)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            log.warning("socket.io: Redis cannot be reached (%s): only this process's "
                        "clients get the %s", type(exc).__name__, data.get("method"))
            listening = False
        if not listening:
            await self._handle_here(data)

    async def _publish_once_more_on_error(self, payload: str) -> None:
        try:
            await self.redis.publish(self.channel, payload)
        except (RedisError, OSError):
            # A pooled connection that Redis closed (a restart) fails once, then reconnects.
            await self.redis.publish(self.channel, payload)

    async def _handle_here(self, data: dict[str, Any]) -> None:
        handlers = {"emit": self._handle_emit, "callback": self._handle_callback,
                    "disconnect": self._handle_disconnect,
                    "close_room": self._handle_close_room}
        handler = handlers.get(data.get("method"))
        if handler is not None:
            await handler(data)

    async def _listen(self) -> AsyncIterator[dict[str, Any]]:
        """The channel's messages as dicts (JSON only), subscribing again with a short
        back-off whenever Redis goes away; it never ends, so the caller never spins."""
        delay = 1.0
        while True:
            try:
                await self.pubsub.subscribe(self.channel)
                # Redis's confirmation: from here on, nothing published is missed.
                confirmed = await self.pubsub.get_message(ignore_subscribe_messages=False,
                                                          timeout=SUBSCRIBE_WAIT_S)
                if not confirmed or confirmed.get("type") != "subscribe":
                    raise RedisError("Redis did not confirm the subscription")
                self.listening.set()
                delay = 1.0
                async for message in self.pubsub.listen():
                    decoded = _decoded(message, self.channel)
                    if decoded is not None:
                        yield decoded
            except (RedisError, OSError) as exc:
                self.listening.clear()
                log.warning("socket.io: lost the Redis channel (%s); listening again in "
                            "%.0f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)
                self._redis_connect()  # a fresh client: the old connection is dead


def _decoded(message: dict[str, Any], channel: str) -> dict[str, Any] | None:
    if message.get("type") != "message" or message.get("channel") != channel.encode():
        return None
    try:
        data = json.loads(message["data"])
    except (ValueError, TypeError):
        log.warning("socket.io: ignored a message on %s that is not JSON", channel)
        return None
    return data if isinstance(data, dict) else None


def share_emits(sio: AsyncServer, blueprint: Blueprint) -> None:
    """Puts the Redis client manager into the channel's server (Rasa builds the server
    itself) when Redis is configured, and starts listening when the server starts."""
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        return
    queue = ReplicaQueue(url)
    # What AsyncServer(client_manager=...) does in its constructor; no client is connected
    # yet. The server would initialize the manager at the first connection: done at start.
    sio.manager = queue
    queue.set_server(sio)
    sio.manager_initialized = True

    @blueprint.listener("before_server_start")
    async def listen(*_: Any) -> None:
        queue.initialize()
        try:
            await asyncio.wait_for(queue.listening.wait(), SUBSCRIBE_WAIT_S)
        except asyncio.TimeoutError:
            log.warning("socket.io: not subscribed to Redis yet; this process's clients are "
                        "served directly until it is")
        else:
            log.info("socket.io: emits shared through Redis channel %s", queue.channel)
