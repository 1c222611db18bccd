"""The one place the product is assembled: the data prepared, the assistant warmed, the
Rasa server, the escalation services, the background jobs and the app that serves them.
`supportbot run` (bot.server), the cluster's processes (bot.cluster), the containers
(bot.container) and the whole-product stack of the end-to-end tests (bot.stack) all build
it here, so what the tests start is what runs."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from bot.conversation.assistant import Assistant
from bot.conversation.chat_delivery import RasaChatDelivery
from bot.conversation.rasa_runtime import RasaServer
from bot.health import ChatHealth
from bot.jobs import recalibration
from bot.jobs.insights_job import InsightsRefresher
from bot.jobs.services import EscalationServices
from catalogue import catalogue_version, import_products, read_feed
from core import Settings, ensure_secret_key, session_scope
from knowledge import repository as repo
from knowledge.errors import CalibrationImpossible
from knowledge.importer import import_file
from knowledge.service import KnowledgeBase
from migrations import upgrade

log = logging.getLogger("supportbot")
DEMO_CATALOGUE = "demo_catalogue.csv"
JOB_STOP_TIMEOUT_S = 10.0  # a round in flight may finish before the database goes away


def prepare(settings: Settings, demo_kb: Path, demo_catalogue: Path | None = None) -> Assistant:
    """Migrate, load the demo FAQ into an empty KB and the demo catalogue into an empty
    catalogue, warm the model and index, calibrate. `demo_catalogue` defaults to the
    `demo_catalogue.csv` beside the demo FAQ (the demo shop ships both)."""
    ensure_secret_key(settings)  # before anything signs: tokens, sessions, pseudonyms
    url = settings.resolved_database_url
    upgrade(url)
    with session_scope(url) as session:
        empty = repo.stats(session=session)["entries"] == 0
        if empty and demo_kb.exists():
            log.info("empty knowledge base: loading the demo shop's FAQ")
            print(import_file(demo_kb, session=session, author="demo"))
    import_demo_catalogue(url, demo_catalogue or demo_kb.with_name(DEMO_CATALOGUE))
    kb = KnowledgeBase(settings)
    log.info("loading the %s embedder and the index", settings.resolved_embedder)
    kb.warm_up()
    if not kb.is_calibrated():
        try:
            recalibration.recalibrate(kb)
        except CalibrationImpossible as exc:  # a first small FAQ: start, and say why
            log.warning("%s; add questions and run `supportbot kb calibrate`", exc)
    assistant = Assistant(settings, kb)
    assistant.warm_up()
    return assistant


def import_demo_catalogue(url: str, path: Path) -> None:
    """The demo shop's catalogue, into an empty catalogue only (never over a shop's own)."""
    if not path.exists():
        return
    with session_scope(url) as session:
        if catalogue_version(session=session) != 0:
            return
    log.info("empty product catalogue: loading the demo shop's catalogue")
    products = read_feed(path)
    with session_scope(url) as session:
        print(import_products(products, session=session, source="demo"))


def loopback(host: str) -> str:
    """Where Rasa and the health check reach the app: a wildcard address is not one."""
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)


def start_learning_jobs(settings: Settings, kb: KnowledgeBase,
                        stop: threading.Event) -> list[threading.Thread]:
    """The loops beside the chat that run until `stop`: the dashboard's question labels,
    and learning from customers' signals with recalibration when it is due."""
    insights = InsightsRefresher(settings.resolved_database_url, kb.embedder,
                                 settings.var_dir / "models")
    threads = [threading.Thread(target=insights.run, args=(stop,), name="insights", daemon=True),
               threading.Thread(target=recalibration.run, args=(kb, stop), name="recalibration",
                                daemon=True)]
    for thread in threads:
        thread.start()
    return threads


@dataclass
class Product:
    """What one `supportbot run` process runs. Built stopped: the caller starts Rasa (and
    waits for it, or not) and serves `app`; `start_jobs` starts the threads beside them."""

    settings: Settings
    assistant: Assistant
    rasa: RasaServer
    services: EscalationServices
    app: FastAPI
    _stop_jobs: threading.Event = field(default_factory=threading.Event, repr=False)
    _jobs: list[threading.Thread] = field(default_factory=list, repr=False)

    def start_jobs(self) -> None:
        """The escalation mail services, and the loops that keep the dashboard's labels
        and the knowledge base's calibration current."""
        self.services.start()
        self._jobs.extend(start_learning_jobs(self.settings, self.assistant.kb, self._stop_jobs))

    def stop(self) -> None:
        """Rasa first (a Ctrl-C reached it too, and it must not be restarted now), then
        the jobs and the mail services. The knowledge base stays open for `close`."""
        log.info("stopping the Rasa server and the mail services")
        self.rasa.stop()
        self._stop_jobs.set()
        self.services.stop()
        for thread in self._jobs:
            thread.join(timeout=JOB_STOP_TIMEOUT_S)

    def close(self) -> None:
        self.assistant.kb.close()


def warm_assistant(settings: Settings) -> Assistant:
    """An app process's assistant over the prepared data (another process, or the `prepare`
    container, migrated and calibrated it): the index loaded, the models warm."""
    ensure_secret_key(settings)  # normally made by whoever prepared; a no-op then
    kb = KnowledgeBase(settings)
    kb.warm_up()
    assistant = Assistant(settings, kb)
    assistant.warm_up()
    return assistant


def assemble_app(settings: Settings, assistant: Assistant, *, delivery: RasaChatDelivery,
                 action_url: str, rasa: RasaServer | None = None
                 ) -> tuple[FastAPI, EscalationServices]:
    """The app around an assistant, and its escalation services (the console answers
    through the same path as email; `delivery` puts operators' answers into live chats).
    `rasa`: the Rasa server this process supervises, which the health check then asks."""
    from bot.app import create_app

    services = EscalationServices(assistant, delivery)
    health = ChatHealth(settings, rasa=rasa, action_url=action_url)
    return create_app(assistant, health=health, escalation=services), services


def build_product(settings: Settings, assistant: Assistant, *, model: Path,
                  tracker_db: Path | None) -> Product:
    """The product around a prepared assistant, on the settings' address: Rasa on
    `rasa_port` calling the app's action endpoint on `port`; `tracker_db`: where Rasa keeps
    conversations (None: in memory, or on PostgreSQL when the database is)."""
    action_url = f"http://{loopback(settings.host)}:{settings.port}/webhook"
    rasa = RasaServer(settings, model=model, port=settings.rasa_port, host=settings.host,
                      action_url=action_url, log_path=settings.var_dir.resolve() / "rasa.log",
                      tracker_db=tracker_db)
    app, services = assemble_app(settings, assistant,
                                 delivery=RasaChatDelivery(rasa.url, rasa.token),
                                 action_url=action_url, rasa=rasa)
    return Product(settings, assistant, rasa, services, app)
