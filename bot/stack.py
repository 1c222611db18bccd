"""The whole product in one process, for end-to-end tests and benchmarks: the app
(actions, pages, API) under uvicorn in a thread and a real Rasa 3.6 server in its own
process, on free ports."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from bot.app import create_app
from bot.assistant import Assistant
from bot.chat_delivery import RasaChatDelivery
from bot.health import ChatHealth
from bot.rasa_runtime import RasaServer
from bot.server import prepare
from bot.services import EscalationServices
from core import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    settings: Settings
    assistant: Assistant
    app_url: str
    rasa: RasaServer
    server: uvicorn.Server
    thread: threading.Thread
    services: EscalationServices | None = None

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
        if self.services is not None:
            self.services.stop()
        self.rasa.stop()
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.assistant.kb.close()


def start_stack(settings: Settings, *, model: Path, demo_kb: Path,
                rasa_timeout: float = 300, supervise: bool = True,
                demo_catalogue: Path | None = None, tracker_db: Path | None = None) -> Stack:
    """`supervise`: Rasa is restarted when it dies, as under `supportbot run`. The demo
    catalogue (by default the one beside `demo_kb`) is imported into an empty catalogue.
    `tracker_db`: Rasa keeps conversations (there, or on PostgreSQL when the database is)."""
    settings = settings.model_copy(update={
        "host": "127.0.0.1", "port": free_port(), "rasa_port": free_port(),
        "smtp_host": "127.0.0.1", "smtp_port": free_port(), "inbound_smtp_port": free_port()})
    assistant = prepare(settings, demo_kb, demo_catalogue)
    app_port = settings.port
    action_url = f"http://127.0.0.1:{app_port}/webhook"
    rasa = RasaServer(settings, model=model, port=settings.rasa_port, action_url=action_url,
                      log_path=settings.var_dir / "rasa.log", tracker_db=tracker_db)
    health = ChatHealth(settings, rasa=rasa, action_url=action_url)
    server = uvicorn.Server(uvicorn.Config(create_app(assistant, health=health), host="127.0.0.1",
                                           port=app_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    bot = Stack(settings, assistant, f"http://127.0.0.1:{app_port}", rasa, server, thread)
    try:
        rasa.start(supervise=supervise)
        rasa.wait_ready(rasa_timeout)
        bot.services = EscalationServices(assistant, RasaChatDelivery(rasa.url, rasa.token))
        server.config.app.state.escalation = bot.services  # the console answers through it
        bot.services.start()
    except BaseException:
        bot.stop()
        raise
    return bot
