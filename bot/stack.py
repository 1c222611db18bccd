"""The whole product in one process, for end-to-end tests and benchmarks: the app
(actions, pages, API) under uvicorn in a thread and a real Rasa 3.6 server in its own
process, on free ports. Built by bot.product as `supportbot run` builds it, with the same
services and background jobs started."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from bot.conversation.assistant import Assistant
from bot.conversation.rasa_runtime import RasaServer
from bot.jobs.services import EscalationServices
from bot.product import Product, build_product, prepare
from core import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    product: Product
    app_url: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def settings(self) -> Settings:
        return self.product.settings

    @property
    def assistant(self) -> Assistant:
        return self.product.assistant

    @property
    def rasa(self) -> RasaServer:
        return self.product.rasa

    @property
    def services(self) -> EscalationServices:
        return self.product.services

    @property
    def rasa_url(self) -> str:
        return self.rasa.url

    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        """One message over Rasa's REST channel; the bot's messages come back."""
        response = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook", timeout=60,
                              json={"sender": sender, "message": text, "metadata": metadata or {}})
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict:
        response = httpx.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                             params={"token": self.rasa.token}, timeout=30)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.product.stop()
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.product.close()


def start_stack(settings: Settings, *, model: Path, demo_kb: Path,
                rasa_timeout: float = 300, supervise: bool = True,
                demo_catalogue: Path | None = None, tracker_db: Path | None = None) -> Stack:
    """`supervise`: Rasa is restarted when it dies, as under `supportbot run`. The demo
    catalogue (by default the one beside `demo_kb`) is imported into an empty catalogue.
    `tracker_db`: Rasa keeps conversations (there, or on PostgreSQL when the database is)."""
    settings = settings.model_copy(update={
        "host": "127.0.0.1", "port": free_port(), "rasa_port": free_port(),
        "smtp_host": "127.0.0.1", "smtp_port": free_port(), "inbound_smtp_port": free_port()})
    product = build_product(settings, prepare(settings, demo_kb, demo_catalogue), model=model,
                            tracker_db=tracker_db)
    server = uvicorn.Server(uvicorn.Config(product.app, host="127.0.0.1", port=settings.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    bot = Stack(product, f"http://127.0.0.1:{settings.port}", server, thread)
    try:
        product.rasa.start(supervise=supervise)
        product.rasa.wait_ready(rasa_timeout)
        product.start_jobs()
    except BaseException:
        bot.stop()
        raise
    return bot
