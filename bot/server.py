"""`supportbot run`: prepare the embedded defaults, then serve the app (web pages, API,
Rasa's action endpoint) and the Rasa server, until Ctrl-C stops both."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import uvicorn

from bot.console import ensure_demo_account
from bot.conversation.boundary import chat_allowed_origins
from bot.conversation.rasa_runtime import RasaServer, ensure_model, rasa_executable, tracker_db_path
from bot.conversation.rasa_stores import prepare_stores
from bot.product import build_product, prepare
from core import Settings, SupportBotError, get_settings

log = logging.getLogger("supportbot")


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def serve(*, host: str | None, port: int | None, rasa_port: int | None, demo_kb: Path) -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx would log the Rasa API token in URLs; aiosmtpd logs every connection.
    for noisy in ("bm25s", "httpx", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = checked_settings(host, port, rasa_port)
    trained: dict[str, Path] = {}
    training = threading.Thread(target=lambda: trained.update(model=ensure_model(settings)))
    training.start()  # Rasa trains while the embedder loads
    assistant = prepare(settings, demo_kb)
    training.join()
    if "model" not in trained:
        raise SupportBotError("the Rasa model could not be trained; see the messages above")
    product = build_product(settings, assistant, model=trained["model"],
                            tracker_db=tracker_db_path(settings))
    server = uvicorn.Server(uvicorn.Config(product.app, host=settings.host, port=settings.port,
                                           log_level="warning"))
    _print_demo_accounts(settings)
    product.rasa.start(supervise=True)  # restarted, with a logged reason, whenever it dies
    product.start_jobs()
    threading.Thread(target=_announce, args=(product.rasa, settings, settings.host,
                                             settings.port), daemon=True).start()
    try:
        server.run()  # returns on Ctrl-C or SIGTERM
    finally:
        product.stop()
        product.close()


def checked_settings(host: str | None, port: int | None, rasa_port: int | None) -> Settings:
    """The settings with the command line's address (everything derived from it, the
    widget's Rasa URL and the origins Rasa lets in, follows); every check that can fail
    in a second fails now, not after minutes of preparation."""
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    rasa_port = rasa_port or settings.rasa_port
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
    rasa_executable(settings)
    prepare_stores(settings, tracker_db_path(settings))  # Redis down: one line, exit 2
    return settings


def _print_demo_accounts(settings: Settings) -> None:
    if passwords := ensure_demo_account(settings):
        print("\n  Demo accounts (passwords shown once; change them with "
              "`supportbot console-user EMAIL`):", flush=True)
        for email, password in passwords.items():
            print(f"    {email} / {password}", flush=True)
        print(flush=True)


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
