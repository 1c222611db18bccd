"""A minimal socket.io v5 client over a raw WebSocket (engine.io protocol 4), enough to talk
to Rasa's socket.io channel as the widget does, with any Origin and any payload."""

from __future__ import annotations

import asyncio
import json

import websockets


class SocketChat:
    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def connect(cls, rasa_url: str, *, origin: str | None = None) -> SocketChat | None:
        """The chat, or None when the server refuses the socket.io connection."""
        url = "ws" + rasa_url[4:] + "/socket.io/?EIO=4&transport=websocket"
        ws = await websockets.connect(url, origin=origin, max_size=None, open_timeout=10,
                                      proxy=None)
        chat = cls(ws)
        opening = await chat._recv_raw()
        assert opening.startswith("0"), opening
        await ws.send("40")
        answer = await chat._recv_raw()
        if not answer.startswith("40"):  # "44{...}": connect refused
            await ws.close()
            return None
        return chat

    async def _recv_raw(self, timeout: float = 30) -> str:
        while True:
            packet = await asyncio.wait_for(self.ws.recv(), timeout)
            if packet == "2":  # engine.io ping
                await self.ws.send("3")
                continue
            return packet

    async def emit(self, event: str, data: object) -> None:
        await self.send_raw("42" + json.dumps([event, data]))

    async def send_raw(self, packet: str) -> None:
        await self.ws.send(packet)

    async def receive(self, event: str, timeout: float = 30) -> object:
        while True:
            packet = await self._recv_raw(timeout)
            if packet.startswith("42"):
                name, *args = json.loads(packet[2:])
                if name == event:
                    return args[0] if args else None

    async def session(self, session_id: str) -> str:
        await self.emit("session_request", {"session_id": session_id})
        return await self.receive("session_confirm")

    async def close(self) -> None:
        await self.ws.close()
