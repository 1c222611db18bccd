"""Screenshots of what users see, taken from the real product, for the README:

  chat-desktop.png   1280x800  the demo shop with the chat open, after a question and its answer
  chat-phone.png     390x844   the same on a phone
  console-queue.png  1280x800  the operator console's ticket queue
  dashboard.png      1280x900  the marketing dashboard's overview

  python -m benchmarks.screenshots [--out docs/screenshots]

The whole product starts in this process (`bot.stack.start_stack`, as the end-to-end tests
run it: demo FAQ, a Rasa model trained for the current project files, free ports, a
temporary var dir), gets the demo shop's simulated quarter of traffic (what `supportbot
demo-traffic` writes, labelled for the dashboard at once), and Debian's headless Chromium,
driven by Playwright, signs in as the demo operator (Debian packages: chromium;
chromium-l10n, else date fields are drawn in US format; fonts-noto-color-emoji for the
icons drawn as emoji). The Rasa model is cached in
benchmarks/cache/rasa-models (the first run trains it: several minutes). Run it again
whenever the UI changes: the file names stay the same.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "data" / "demo_kb.yaml"
MODELS = ROOT / "benchmarks" / "cache" / "rasa-models"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
QUESTION = "Quanto costa la spedizione?"
MAX_BYTES = 400_000  # README images: larger ones are quantised to a palette
WAIT_MS = 60_000  # a loaded machine: the first answer also warms Rasa's action path
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
DASHBOARD = {"width": 1280, "height": 900}


@contextmanager
def product(var: Path):
    """The real app and Rasa server on the demo FAQ, as the end-to-end tests start them."""
    from bot.conversation.rasa_runtime import ensure_model
    from bot.stack import start_stack
    from core import Settings

    model = ensure_model(Settings(var_dir=MODELS, rasa_model_dir=MODELS))
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'supportbot.db'}",
                        index_sync_interval_s=0, rasa_model_dir=MODELS)
    stack = start_stack(settings, model=model, demo_kb=DEMO_KB)
    try:
        yield stack
    finally:
        stack.stop()


def fill_demo_data(stack) -> dict:
    """`supportbot demo-traffic`'s quarter of traffic, then its refresh with no settling
    time, so the queue has open tickets and the dashboard has labelled questions and topics."""
    from bot.demo_traffic import simulate
    from bot.jobs.insights_job import InsightsRefresher
    from core import session_scope

    url = stack.settings.resolved_database_url
    with session_scope(url) as session:
        counts = simulate(session)
    InsightsRefresher(url, stack.assistant.kb.embedder, stack.settings.var_dir / "models").run_once(
        recluster=True, settle=timedelta(0))
    return counts


def operator(stack) -> tuple[str, str]:
    """The demo operator (what `supportbot console-user` saves), with a throwaway password."""
    from bot.console.auth import DEMO_EMAIL, set_account

    password = secrets.token_urlsafe(16)
    set_account(stack.server.config.app.state.console.users_path, DEMO_EMAIL, password, "operator")
    return DEMO_EMAIL, password


def shoot_chat(browser, url: str, path: Path, viewport: dict, phone: bool) -> None:
    """Opens the widget, asks QUESTION and waits for the bot's answer below it."""
    context = browser.new_context(locale="it-IT", viewport=viewport, is_mobile=phone,
                                  has_touch=phone)
    try:
        page = context.new_page()
        page.goto(url + "/")
        page.click("[data-testid=chat-launcher]")
        page.fill("[data-testid=chat-input]", QUESTION)
        page.press("[data-testid=chat-input]", "Enter")
        page.locator("[data-testid=msg-user] ~ [data-testid=msg-bot] [data-testid=msg-text]"
                     ).first.wait_for(timeout=WAIT_MS)
        page.locator("[data-testid=chat-typing]").wait_for(state="hidden")
        page.screenshot(path=str(path))
    finally:
        context.close()


def shoot_console(browser, url: str, account: tuple[str, str], out: Path) -> list[Path]:
    """Signs in once, then the queue and the dashboard's overview in the same session."""
    context = browser.new_context(locale="it-IT", viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(url + "/console/login")
        page.fill("input[name=email]", account[0])
        page.fill("input[name=password]", account[1])
        page.click("button[type=submit]")
        page.locator("[data-testid=ticket-row]").first.wait_for(timeout=WAIT_MS)
        page.screenshot(path=str(out / "console-queue.png"))
        page.set_viewport_size(DASHBOARD)
        page.goto(url + "/dashboard")
        page.wait_for_selector("body[data-charts-ready='1']", timeout=WAIT_MS)
        page.screenshot(path=str(out / "dashboard.png"))
    finally:
        context.close()
    return [out / "console-queue.png", out / "dashboard.png"]


def shrink(path: Path) -> None:
    """Re-saves optimised; a page still over MAX_BYTES becomes a 256-colour palette,
    which screenshots of flat UI survive without visible loss."""
    image = Image.open(path)
    image.load()
    image.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        quantized = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
        quantized.save(path, optimize=True)


def take(out: Path, stack) -> list[Path]:
    from playwright.sync_api import sync_playwright

    paths = [out / "chat-desktop.png", out / "chat-phone.png"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--lang=it-IT"],
            env={**os.environ, "LANGUAGE": "it"})  # date fields as an Italian user sees them
        try:
            shoot_chat(browser, stack.app_url, paths[0], DESKTOP, phone=False)
            shoot_chat(browser, stack.app_url, paths[1], PHONE, phone=True)
            paths += shoot_console(browser, stack.app_url, operator(stack), out)
        finally:
            browser.close()
    return paths


def check_emoji_font() -> None:
    """The shop and the widget draw some icons as emoji: without a colour emoji font
    Chromium paints empty boxes, and the README would show them."""
    if not shutil.which("fc-list"):
        return
    found = subprocess.run(["fc-list", ":charset=1f44d"], check=False, capture_output=True,
                           text=True).stdout
    if not found.strip():
        print("warning: no emoji font (Debian: apt-get install fonts-noto-color-emoji); "
              "icons will show as empty boxes", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots",
                        help="folder for the PNGs (default: docs/screenshots)")
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    check_emoji_font()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="supportbot-screenshots-") as tmp, \
            product(Path(tmp)) as stack:
        print(f"product up in {time.perf_counter() - started:.0f} s; adding demo traffic",
              flush=True)
        counts = fill_demo_data(stack)
        print(f"demo traffic: {counts['conversations']} conversations, "
              f"{counts['tickets']} tickets", flush=True)
        paths = take(args.out, stack)
    for path in paths:
        shrink(path)
        width, height = Image.open(path).size
        shown = os.path.relpath(path) if path.is_relative_to(Path.cwd()) else path
        print(f"wrote {shown} ({width}x{height}, {path.stat().st_size // 1024} KB)")
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
