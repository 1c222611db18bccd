"""Session-wide fixtures for the conversation tests: a Rasa model trained in this test
run and one live product (app + Rasa server) on the demo knowledge base."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.rasa_runtime import ensure_model
from core import Settings
from bot.stack import start_stack
from tests.conftest import DEMO_KB


@pytest.fixture(scope="session")
def rasa_model(tmp_path_factory):
    """Trained in this run; SUPPORTBOT_TEST_RASA_CACHE names a folder to reuse models
    (keyed by the project's hash) across local runs."""
    cache = os.environ.get("SUPPORTBOT_TEST_RASA_CACHE")
    folder = Path(cache) if cache else tmp_path_factory.mktemp("rasa-models")
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
