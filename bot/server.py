"""`supportbot run`: prepare the embedded defaults and serve the web app."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import uvicorn

from core import SupportBotError, get_settings, session_scope
from knowledge import repository as repo
from knowledge.importer import import_file
from knowledge.service import KnowledgeBase
from migrations import upgrade

log = logging.getLogger("supportbot")


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def serve(*, host: str | None, port: int | None, demo_kb: Path) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if not _port_free(host, port):
        raise SupportBotError(f"port {port} on {host} is busy; stop what uses it or pass --port")
    url = settings.resolved_database_url
    upgrade(url)
    with session_scope(url) as session:
        empty = repo.stats(session=session)["entries"] == 0
        if empty and demo_kb.exists():
            log.info("empty knowledge base: loading the demo shop's FAQ")
            print(import_file(demo_kb, session=session, author="demo"))
    kb = KnowledgeBase(settings)
    log.info("loading the %s embedder and the index", settings.resolved_embedder)
    kb.warm_up()
    if not kb.is_calibrated():
        report = kb.calibrate()
        log.info("thresholds calibrated on the KB: answer >= %.3f, clarify >= %.3f",
                 report.thresholds.answer, report.thresholds.clarify)
    from bot.app import create_app

    print(f"\n  Knowledge-base search:  http://{host}:{port}/\n"
          f"  API docs:               http://{host}:{port}/docs\n  Ctrl-C stops.\n", flush=True)
    try:
        uvicorn.run(create_app(kb), host=host, port=port, log_level="warning")
    finally:
        kb.close()
