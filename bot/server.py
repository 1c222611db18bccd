"""`supportbot run`: prepare the embedded defaults, then serve the app (web pages, API,
Rasa's action endpoint) and the Rasa server, until Ctrl-C stops both."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import uvicorn

from bot import recalibration
from bot.assistant import Assistant
from bot.boundary import chat_allowed_origins
from bot.chat_delivery import RasaChatDelivery
from bot.console import ensure_demo_account
from bot.health import ChatHealth
from bot.insights_job import InsightsRefresher
from bot.rasa_runtime import RasaServer, ensure_model, rasa_executable, tracker_db_path
from bot.rasa_stores import prepare_stores
from bot.services import EscalationServices
from catalogue import catalogue_version, import_products, read_feed
from core import Settings, SupportBotError, get_settings, session_scope
from knowledge import repository as repo
from knowledge.errors import CalibrationImpossible
from knowledge.importer import import_file
from knowledge.service import KnowledgeBase
from migrations import upgrade

log = logging.getLogger("supportbot")


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def prepare(settings: Settings, demo_kb: Path, demo_catalogue: Path | None = None) -> Assistant:
    """Migrate, load the demo FAQ into an empty KB and the demo catalogue into an empty
    catalogue, warm the model and index, calibrate. `demo_catalogue` defaults to the
    `demo_catalogue.csv` beside the demo FAQ (the demo shop ships both)."""
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


DEMO_CATALOGUE = "demo_catalogue.csv"


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


def serve(*, host: str | None, port: int | None, rasa_port: int | None, demo_kb: Path) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx would log the Rasa API token in URLs; aiosmtpd logs every connection.
    for noisy in ("bm25s", "httpx", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    rasa_port = rasa_port or settings.rasa_port
    # Everything derived from the address (the widget's Rasa URL, the origins Rasa lets in)
    # follows the command line's.
    settings = settings.model_copy(update={"host": host, "port": port, "rasa_port": rasa_port})
    for name, number, fix in (("app", port, "pass --port"), ("Rasa", rasa_port, "pass --rasa-port"),
                              ("mail receiver", settings.inbound_smtp_port,
                               "set SUPPORTBOT_INBOUND_SMTP_PORT"),
                              ("mail sink", settings.smtp_port if settings.run_mail_sink else 0,
                               "set SUPPORTBOT_SMTP_PORT")):
        if number and not port_free(settings.inbound_smtp_host if name == "mail receiver"
                                    else host, number):
            raise SupportBotError(f"port {number} on {host} (for the {name}) is busy; stop what "
                                  f"uses it or {fix}")
    rasa_executable(settings)  # fail now, not after minutes of preparation
    prepare_stores(settings, tracker_db_path(settings))  # Redis down: one line, exit 2
    trained: dict[str, Path] = {}
    training = threading.Thread(target=lambda: trained.update(model=ensure_model(settings)))
    training.start()  # Rasa trains while the embedder loads
    assistant = prepare(settings, demo_kb)
    training.join()
    if "model" not in trained:
        raise SupportBotError("the Rasa model could not be trained; see the messages above")
    action_url = f"http://{_loopback(host)}:{port}/webhook"
    rasa = RasaServer(settings, model=trained["model"], port=rasa_port, host=host,
                      action_url=action_url, log_path=settings.var_dir.resolve() / "rasa.log",
                      tracker_db=tracker_db_path(settings))
    from bot.app import create_app

    app = create_app(assistant, health=ChatHealth(settings, rasa=rasa, action_url=action_url))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    services = EscalationServices(assistant, RasaChatDelivery(rasa.url, rasa.token))
    app.state.escalation = services  # the console answers through the same path as email
    if passwords := ensure_demo_account(settings):
        print("\n  Demo accounts (passwords shown once; change them with "
              "`supportbot console-user EMAIL`):", flush=True)
        for email, password in passwords.items():
            print(f"    {email} / {password}", flush=True)
        print(flush=True)
    rasa.start(supervise=True)  # restarted, with a logged reason, whenever it dies
    services.start()
    insights = InsightsRefresher(settings.resolved_database_url, assistant.kb.embedder,
                                 settings.var_dir / "models")
    stop_insights = threading.Event()
    threading.Thread(target=insights.run, args=(stop_insights,), name="insights",
                     daemon=True).start()
    threading.Thread(target=recalibration.run, args=(assistant.kb, stop_insights),
                     name="recalibration", daemon=True).start()
    threading.Thread(target=_announce, args=(rasa, settings, host, port), daemon=True).start()
    try:
        server.run()  # returns on Ctrl-C or SIGTERM
    finally:
        log.info("stopping the Rasa server and the mail services")
        rasa.stop()  # first: Ctrl-C reached Rasa too, and it must not be restarted now
        stop_insights.set()
        services.stop()
        assistant.kb.close()


def _loopback(host: str) -> str:
    """Where Rasa and the health check reach the app: a wildcard address is not one."""
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)


def _announce(rasa: RasaServer, settings: Settings, host: str, port: int) -> None:
    try:
        rasa.wait_ready(settings.rasa_start_timeout_s)
    except SupportBotError as exc:
        log.error("%s", exc)
        return
    print(f"\n  Shop with the chat:     http://{host}:{port}/\n"
          f"  Operator console:       http://{host}:{port}/console\n"
          f"  Marketing dashboard:    http://{host}:{port}/dashboard\n"
          f"  Knowledge-base search:  http://{host}:{port}/kb\n"
          f"  API docs:               http://{host}:{port}/docs\n"
          f"  Rasa server:            {rasa.url}  (log: {rasa.log_path})\n"
          f"  Chat allowed from:      {', '.join(chat_allowed_origins(settings))}\n"
          f"  Operator replies, SMTP: {settings.inbound_smtp_host}:{settings.inbound_smtp_port}\n"
          + (f"  Outgoing mail sink:     {settings.smtp_host}:{settings.smtp_port} -> "
             f"{settings.var_dir / 'mail' / 'sink'}\n" if settings.run_mail_sink else "") +
          "  Ctrl-C stops everything.\n", flush=True)
