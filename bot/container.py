"""One process per container (deploy/compose.yaml): the product split into the roles that
`supportbot run --workers N` plays on one machine, so that each can be scaled on its own.

- `prepare` (run once, before the others): migrate, load the demo shop into an empty
  database, create Rasa's tracker schema and check that Redis answers.
- `app`: pages, API and Rasa's action endpoint; as many as needed behind the proxy.
- `jobs`: the same app plus the singletons of process 0 of the cluster (mail in and out,
  SLA timers, outbox, learning and insights loops); run one.

The Rasa servers run in their own image (deploy/rasa.Dockerfile). The app reaches Rasa's
HTTP API (an operator's answer pushed into a live chat) through the proxy, with the token
the Rasa servers are started with."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from bot.conversation.rasa_runtime import tracker_db_path
from bot.conversation.rasa_stores import prepare_stores
from core import Settings, SupportBotError, get_settings

RASA_API_URL_ENV = "SUPPORTBOT_RASA_API_URL"  # e.g. http://proxy:5005 in the Compose file
RASA_TOKEN_ENV = "SUPPORTBOT_RASA_AUTH_TOKEN"  # the one boundary.launch gives Rasa's API
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ROLES = ("prepare", "app", "jobs")
DEMO_KB = Path(__file__).resolve().parents[1] / "data" / "demo_kb.yaml"  # as `supportbot run`


def rasa_api(environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """Where the app reaches Rasa's HTTP API, and its token: both are needed, since an
    answer delivered without them would silently never reach the chat."""
    url, token = environ.get(RASA_API_URL_ENV, "").strip(), environ.get(RASA_TOKEN_ENV, "")
    missing = [name for name, value in ((RASA_API_URL_ENV, url), (RASA_TOKEN_ENV, token))
               if not value]
    if missing:
        raise SupportBotError(f"{' and '.join(missing)} must be set: the app delivers "
                              "operators' answers into live chats through Rasa's HTTP API")
    return url, token


def prepare_deployment(settings: Settings) -> None:
    """What `supportbot run` does before it serves, once for all replicas: the database
    migrated (the demo shop loaded only into an empty one), the index built, the model
    calibrated, Rasa's stores ready."""
    from bot.product import prepare

    prepare_stores(settings, tracker_db_path(settings))  # Redis down: one line, now
    prepare(settings, DEMO_KB).kb.close()


def serve_app(settings: Settings, *, singletons: bool) -> None:
    """One app process on SUPPORTBOT_HOST:SUPPORTBOT_PORT; with `singletons`, also the
    services that must run in exactly one process."""
    import uvicorn

    from bot.conversation.chat_delivery import RasaChatDelivery
    from bot.product import assemble_app, loopback, start_learning_jobs, warm_assistant

    rasa_url, rasa_token = rasa_api()
    assistant = warm_assistant(settings)
    app, services = assemble_app(
        settings, assistant, delivery=RasaChatDelivery(rasa_url, rasa_token),
        action_url=f"http://{loopback(settings.host)}:{settings.port}/webhook")
    stop_jobs = threading.Event()
    try:
        if singletons:
            services.start()
            start_learning_jobs(settings, assistant.kb, stop_jobs)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        stop_jobs.set()
        if singletons:
            services.stop()
        assistant.kb.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.container",
                                     description="Run one role of the product in a container.")
    parser.add_argument("role", choices=ROLES)
    role = parser.parse_args(argv).role
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for noisy in ("bm25s", "httpx", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()
    if role == "prepare":
        prepare_deployment(settings)
    else:
        serve_app(settings, singletons=role == "jobs")


if __name__ == "__main__":
    try:
        main()
    except SupportBotError as exc:  # Redis or the database down: one line, as `supportbot` says it
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
