"""Session-wide fixtures for the conversation tests: a Rasa model trained in this test
run and one live product (app + Rasa server) on the demo knowledge base."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from bot.app import create_app
from bot.console.auth import set_account, users_file
from bot.conversation.assistant import Assistant
from bot.conversation.rasa_runtime import ensure_model
from bot.jobs.insights_job import InsightsRefresher
from bot.jobs.services import EscalationServices
from bot.stack import start_stack
from core import Settings
from tests.bot.console_fixtures import EMAIL, PASSWORD, Console
from tests.bot.console_fixtures import SLA as CONSOLE_SLA
from tests.conftest import DEMO_KB, PG_URL, shared_model_folder
from tests.escalation.test_tickets import SLA as TICKET_SLA

# Signs the shop's customer e-mails in the `assistant` fixture's settings.
SECRET = "shop-backend-secret"


@pytest.fixture(scope="session")
def rasa_model(tmp_path_factory):
    """Trained in this run; SUPPORTBOT_TEST_RASA_CACHE names a folder to reuse models
    (keyed by the project's hash) across local runs."""
    cache = os.environ.get("SUPPORTBOT_TEST_RASA_CACHE")
    folder = Path(cache) if cache else shared_model_folder(tmp_path_factory)
    return ensure_model(Settings(var_dir=folder, rasa_model_dir=folder))


@pytest.fixture(scope="package")  # stopped before other packages' tests run
def live_bot(tmp_path_factory, rasa_model):
    var = tmp_path_factory.mktemp("live")
    # The shipped default embedder (multilingual for it+en), on SQLite.
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'live.db'}",
                        index_sync_interval_s=0, rasa_model_dir=rasa_model.parent)
    bot = start_stack(settings, model=rasa_model, demo_kb=DEMO_KB)
    yield bot
    bot.stop()


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download). Module scope:
    Playwright's sync API keeps an event loop running while it is open, which would break
    later tests that call asyncio.run()."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"headless Chromium not found at {CHROMIUM}: `make test` installs Debian's "
                    "'chromium' package, or set CHROMIUM=/path/to/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """An Italian browser tab; a script error, or a console error other than a failed
    request (tests take Rasa down on purpose), fails the test."""
    context = browser.new_context(locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A script or style blocked by the Content-Security-Policy is reported here.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and "ERR_CONNECTION_REFUSED" not in msg.text
            and not msg.text.startswith("Failed to load resource") else None)
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def assistant(kb, add_entry):
    """An Assistant on a one-entry knowledge base that trusts the shop's signed e-mails."""
    add_entry("Standard shipping is free from EUR 59.", "How much does shipping cost?",
              key="en-ship")
    kb.warm_up()
    settings = kb.settings.model_copy(update={"shop_identity_secret": SECRET})
    return Assistant(settings, kb, sla=TICKET_SLA)


@pytest.fixture
def console(kb, add_entry, monkeypatch):
    """The app with the operator console, an operator account and two entries."""
    monkeypatch.delenv("SUPPORTBOT_CONSOLE_USERS", raising=False)
    add_entry("Shipping is free over EUR 59.", "How much does shipping cost?", key="en-ship")
    add_entry("Returns are free within 30 days.", "How do I return an item?", key="en-return")
    set_account(users_file(kb.settings), EMAIL, PASSWORD)
    assistant = Assistant(kb.settings, kb, sla=CONSOLE_SLA)
    services = EscalationServices(assistant, deliver_in_chat=lambda ticket: False)
    app = create_app(assistant, escalation=services)
    with TestClient(app, raise_server_exceptions=True, follow_redirects=False) as client:
        yield Console(client, assistant, services, kb.settings)


@pytest.fixture
def signed_in(console):
    assert console.login().status_code == 303
    return console


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The trained purchase-stage classifier, kept for the module (training takes seconds)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def dashboard(console, models):
    """The console signed in as marketing, on the seeded log of test_dashboard_pages."""
    from tests.bot.test_dashboard_pages import MARKETING, MARKETING_PASSWORD, seed

    set_account(users_file(console.settings), MARKETING, MARKETING_PASSWORD, "marketing")
    refresher = InsightsRefresher(console.url, console.assistant.kb.embedder, models)
    seed(console.url, refresher)
    assert console.login(MARKETING, MARKETING_PASSWORD).headers["location"] == "/dashboard"
    return console


@pytest.fixture
def throwaway_postgres():
    """A database of its own on the test server (never the one other tests reset)."""
    if not PG_URL:
        pytest.skip("SUPPORTBOT_TEST_DATABASE_URL is not set (PostgreSQL)")
    name = f"sb_rasa_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    from core import dispose_all

    dispose_all()
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()
