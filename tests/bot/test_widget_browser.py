"""The chat widget as a customer meets it, in real headless Chromium against the live bot:
usable on a phone, greeting with suggested questions, over-long messages never cut, keyboard
focus where the customer is, and no serious accessibility violations (axe-core)."""

from __future__ import annotations

import pytest

from tests.bot.axe import describe, violations

pytestmark = [pytest.mark.browser, pytest.mark.rasa, pytest.mark.slow]

QUESTION = "Quanto costa la spedizione?"
ANSWER = "59 €"
INPUT, SEND = "[data-testid=chat-input]", "[data-testid=chat-send]"


def open_chat(page, live_bot, *, width: int = 1280, height: int = 800) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    page.locator(INPUT).wait_for()


def centre(page, selector: str) -> dict:
    box = page.locator(selector).bounding_box()
    return {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}


def hit(page, selector: str) -> bool:
    """Whether a tap at the element's centre lands on it (nothing drawn over it)."""
    return page.evaluate("([s, p]) => { const e = document.querySelector(s);"
                         " const top = document.elementFromPoint(p.x, p.y);"
                         " return !!top && (top === e || e.contains(top)); }",
                         [selector, centre(page, selector)])


def focused(page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.dataset.testid")


def answered(page, text: str = ANSWER) -> None:
    page.locator("[data-testid=msg-bot] [data-testid=msg-text]", has_text=text).first.wait_for(
        timeout=30_000)


def test_on_a_phone_send_can_be_tapped_and_the_panel_has_its_own_close(page, live_bot):
    open_chat(page, live_bot, width=390, height=844)
    page.fill(INPUT, QUESTION)
    assert hit(page, SEND), "something covers the Send button"
    page.mouse.click(**centre(page, SEND))  # a tap where the customer sees Send
    answered(page)
    assert page.locator("[data-testid=chat-panel]").is_visible()
    assert page.locator("[data-testid=rating-popup]").is_hidden()
    assert page.locator("[data-testid=chat-launcher]").is_hidden()  # under the full panel
    page.get_by_role("button", name="Chiudi la chat").click()
    assert page.locator("[data-testid=chat-panel]").is_hidden()
    # closed after a question: the rating card comes up, and the launcher is back beside it
    page.locator("[data-testid=rating-popup]").wait_for(timeout=10_000)
    assert hit(page, "[data-testid=chat-launcher]") and hit(page, "[data-testid=rating-skip]")


@pytest.mark.parametrize("width,height", [(1280, 800), (844, 390), (600, 960)])
def test_on_larger_screens_the_launcher_stays_clear_of_the_panel(page, live_bot, width, height):
    open_chat(page, live_bot, width=width, height=height)  # desktop, phone across, tablet
    assert hit(page, SEND) and hit(page, "[data-testid=chat-launcher]")
    assert hit(page, "[data-testid=chat-input]")


def test_the_chat_opens_with_a_greeting_and_suggested_questions(page, live_bot):
    open_chat(page, live_bot)
    greeting = page.locator("[data-testid=chat-greeting]")
    assert greeting.is_visible() and "assistente virtuale" in greeting.inner_text()
    buttons = page.locator("[data-testid=chat-suggestion]")
    buttons.nth(2).wait_for()
    served = page.request.get(live_bot.app_url + "/chat/suggestions?language=it").json()
    assert buttons.all_inner_texts() == served["questions"] and len(served["questions"]) == 3
    assert page.get_by_role("group", name="Domande frequenti:").is_visible()
    first = served["questions"][0]
    buttons.first.click()
    user = page.locator("[data-testid=msg-user] [data-testid=msg-text]")
    user.first.wait_for()
    assert user.all_inner_texts() == [first]
    assert focused(page) == "chat-input"
    assert page.locator("[data-testid=chat-suggestions]").is_hidden()
    page.locator("[data-testid=msg-bot]").first.wait_for(timeout=30_000)
    assert greeting.is_visible()  # the greeting stays; it is never sent nor stored
    stored = page.evaluate("localStorage.getItem('supportbot.transcript')")
    assert "assistente virtuale" not in stored


def test_an_english_page_greets_and_suggests_in_english(page, live_bot):
    # The shop page as an English shop would have it: <html lang="en"> before any script runs
    # (a page fulfilled by the test itself would lose its loopback address, and with it Rasa).
    page.add_init_script("new MutationObserver((_, seen) => {"
                         " const html = document.documentElement;"
                         " if (html) { html.lang = 'en'; seen.disconnect(); } })"
                         ".observe(document, {childList: true});")
    open_chat(page, live_bot)
    assert "virtual assistant" in page.locator("[data-testid=chat-greeting]").inner_text()
    page.locator("[data-testid=chat-suggestion]").nth(2).wait_for()
    served = page.request.get(live_bot.app_url + "/chat/suggestions?language=en").json()
    assert page.locator("[data-testid=chat-suggestion]").all_inner_texts() == served["questions"]


def test_an_over_long_message_is_kept_whole_and_not_sent(page, live_bot):
    open_chat(page, live_bot)
    text = ("Ho ordinato una sciarpa e vorrei sapere quando arriva. " * 20)[:1001]
    page.fill(INPUT, text)  # a paste: the input keeps all of it
    assert page.locator(INPUT).input_value() == text
    notice = page.locator("[data-testid=chat-limit]")
    assert notice.is_visible() and "troppo lungo" in notice.inner_text()
    assert "1000 caratteri" in notice.inner_text()
    assert page.locator(SEND).is_disabled()
    assert page.locator("[data-testid=chat-counter]").inner_text() == "1001/1000"
    page.press(INPUT, "Enter")  # sending would empty the input at once
    assert page.locator(INPUT).input_value() == text
    page.press(INPUT, "Control+End")
    page.press(INPUT, "Backspace")  # now at the limit: sent whole
    assert notice.is_hidden() and page.locator(SEND).is_enabled()
    page.click(SEND)
    user = page.locator("[data-testid=msg-user] [data-testid=msg-text]").first
    user.wait_for()
    assert user.inner_text() == text[:1000].strip()


def test_keyboard_focus_follows_the_customer_and_escape_closes(page, live_bot):
    open_chat(page, live_bot)
    launcher, panel = page.locator("[data-testid=chat-launcher]"), page.locator(
        "[data-testid=chat-panel]")
    assert launcher.get_attribute("aria-expanded") == "true"
    assert launcher.get_attribute("aria-controls") == panel.get_attribute("id")
    assert page.get_by_role("log").get_attribute("aria-live") == "polite"
    assert focused(page) == "chat-input"
    page.keyboard.press("Escape")  # nothing asked yet, so no rating card takes the focus
    assert panel.is_hidden() and launcher.get_attribute("aria-expanded") == "false"
    assert focused(page) == "chat-launcher"
    page.keyboard.press("Enter")
    assert panel.is_visible() and focused(page) == "chat-input"
    page.get_by_role("textbox", name="Scrivi un messaggio").fill(QUESTION)
    page.get_by_role("button", name="Invia", exact=True).click()
    answered(page)
    page.locator(".sb-feedback[data-feedback=up]").first.click()
    assert focused(page) == "chat-input"  # not the page: the clicked button is disabled now
    page.locator("[data-testid=msg-text]", has_text="Grazie del riscontro").wait_for(
        timeout=30_000)


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_the_open_chat_has_no_serious_accessibility_violations(page, live_bot, width, height):
    open_chat(page, live_bot, width=width, height=height)
    page.locator("[data-testid=chat-suggestion]").first.wait_for()
    page.fill(INPUT, QUESTION)
    page.press(INPUT, "Enter")
    answered(page)
    page.fill(INPUT, "x" * 1001)  # the over-long notice too
    found = violations(page)  # the whole shop page, the open chat included
    assert not found, describe(found)
