"""The demo shop page in real headless Chromium (Debian's package, driven by Playwright),
talking to the live Rasa server over socket.io."""

from __future__ import annotations

import re

import httpx
import pytest

from analytics import EventKind, events_of
from core import session_scope

pytestmark = [pytest.mark.browser, pytest.mark.rasa, pytest.mark.slow]

ANSWER = "59 €"


def bot_texts(page) -> list[str]:
    return page.locator("[data-testid=msg-bot] [data-testid=msg-text]").all_inner_texts()


def ask(page, text: str) -> None:
    page.fill("[data-testid=chat-input]", text)
    page.press("[data-testid=chat-input]", "Enter")


def test_ask_answer_thumbs_up_and_history_after_reload(page, live_bot):
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    ask(page, "Quanto costa la spedizione?")
    answer = page.locator("[data-testid=msg-bot] [data-testid=msg-text]", has_text=ANSWER)
    answer.first.wait_for(timeout=30_000)
    thumbs_up = page.locator(".sb-feedback[data-feedback=up]").first
    thumbs_up.click()
    page.locator("[data-testid=msg-text]", has_text="Grazie del riscontro").wait_for(timeout=30_000)
    assert thumbs_up.is_disabled()
    session = page.evaluate("localStorage.getItem('supportbot.session')")

    page.reload()
    page.locator("[data-testid=msg-text]", has_text=ANSWER).first.wait_for(timeout=10_000)
    history = page.locator("[data-testid=chat-messages] [data-testid=msg-text]").all_inner_texts()
    assert history[0] == "Quanto costa la spedizione?"
    assert any(ANSWER in t for t in history) and any("Grazie del riscontro" in t for t in history)
    assert page.locator(".sb-feedback[data-feedback=up]").first.is_disabled()
    assert page.evaluate("localStorage.getItem('supportbot.session')") == session

    with session_scope(live_bot.settings.resolved_database_url) as db:
        [message] = events_of(session, session=db, kind=EventKind.MESSAGE)
        [feedback] = events_of(session, session=db, kind=EventKind.FEEDBACK)
        assert message.channel == "socketio" and message.page == "product:sciarpa-merino"
        assert feedback.data == {"helpful": True} and feedback.entry_id == message.entry_id


def test_html_in_messages_is_shown_as_text_never_run(page, live_bot):
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    hostile = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>"
    ask(page, hostile)
    page.locator("[data-testid=msg-bot]").first.wait_for(timeout=30_000)
    shown = page.locator("[data-testid=msg-user] [data-testid=msg-text]").first.inner_text()
    assert shown == hostile
    assert page.evaluate("window.__pwned") is None
    injected = "[data-testid=chat-messages] img, [data-testid=chat-messages] script"
    assert page.locator(injected).count() == 0


def test_rasa_down_shows_the_email_contact_and_keeps_the_text(page, live_bot):
    rasa = httpx.get(live_bot.app_url + "/chat/config.json").json()["rasa_url"]
    # Rasa refuses connections at its own address (the only one the page's CSP allows).
    page.route(f"{rasa}/**", lambda route: route.abort("connectionrefused"))
    page.route_web_socket(re.compile(r"^wss?://"), lambda socket: socket.close())
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    ask(page, "Quanto costa la spedizione?")
    status = page.locator("[data-testid=chat-status]")
    status.wait_for(state="visible", timeout=30_000)
    assert "non disponibile" in status.inner_text()
    mailto = status.locator("a[href^='mailto:']")
    assert mailto.get_attribute("href") == f"mailto:{live_bot.settings.support_email}"
    # The failed send puts the text back into the input: nothing typed is lost.
    page.wait_for_function(
        "document.querySelector('[data-testid=chat-input]').value"
        " === 'Quanto costa la spedizione?'",
        timeout=30_000)


def test_an_answer_that_came_while_away_shows_when_the_chat_reopens(page, live_bot):
    import uuid

    from escalation import TicketRequest, finish_answer, open_ticket, record_answer

    conversation = f"away-{uuid.uuid4().hex[:10]}"
    assistant = live_bot.assistant
    with session_scope(assistant.url) as db:
        ticket_id = open_ticket(TicketRequest(conversation, "Fate consegne il sabato?", "it",
                                              "kb_escalate"), session=db, sla=assistant.sla,
                                notify=assistant.notify).id
    record_answer(ticket_id, "Sì, a Bologna consegniamo anche il sabato mattina.",
                  "operatore@bottega-aurora.example", via="console", settings=assistant.settings)
    finish_answer(ticket_id, settings=assistant.settings, kb=assistant.kb,
                  deliver_in_chat=lambda ticket: False)
    page.add_init_script(f"localStorage.setItem('supportbot.session', {conversation!r})")
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    page.locator("[data-testid=msg-text]", has_text="consegniamo anche il sabato").wait_for(
        timeout=30_000)
    assert f"richiesta n. {ticket_id}" in " ".join(bot_texts(page))


def rating_of(live_bot, session: str):
    with session_scope(live_bot.settings.resolved_database_url) as db:
        return events_of(session, session=db, kind=EventKind.RATING)


def test_goodbye_asks_for_a_rating_and_the_comment_is_stored(page, live_bot):
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    ask(page, "Quanto costa la spedizione?")
    page.locator("[data-testid=msg-text]", has_text=ANSWER).first.wait_for(timeout=30_000)
    ask(page, "arrivederci e buona giornata")
    prompt = page.locator("[data-testid=chat-messages] [data-testid=rating]")
    prompt.wait_for(timeout=30_000)  # came over socket.io, as the goodbye's custom payload
    assert "A presto" in bot_texts(page)[-1]
    assert prompt.locator("legend").inner_text() == "Come valuti questa chat?"
    four = prompt.get_by_role("button", name="Voto 4 su 5")
    assert prompt.locator("button.sb-score").count() == 5 and four.inner_text() == "4"
    four.click()
    assert four.get_attribute("aria-pressed") == "true"
    comment = "Gentili e veloci <b>davvero</b>"
    prompt.get_by_label("Vuoi aggiungere un commento? (facoltativo)").fill(comment)
    assert prompt.locator("[data-testid=rating-counter]").inner_text() == f"{len(comment)}/1000"
    prompt.get_by_role("button", name="Invia valutazione").click()
    page.locator("[data-testid=rating-thanks]", has_text="Grazie per la tua valutazione").wait_for()
    session = page.evaluate("localStorage.getItem('supportbot.session')")
    [rating] = rating_of(live_bot, session)
    assert rating.data == {"rating": 4, "comment": comment}
    assert (rating.language, rating.channel, rating.page) == ("it", "socketio",
                                                              "product:sciarpa-merino")
    # Rated: neither a reload nor closing the chat asks again.
    page.reload()
    page.locator("[data-testid=msg-text]", has_text="A presto").first.wait_for(timeout=10_000)
    page.click(".sb-close")
    page.wait_for_timeout(700)
    assert page.locator("[data-testid=rating]").count() == 0


def test_closing_the_chat_after_a_question_offers_the_rating_in_its_language(page, live_bot):
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    page.click(".sb-close")  # nothing asked yet: nothing to rate
    page.wait_for_timeout(700)
    assert page.locator("[data-testid=rating-popup]").is_hidden()
    page.click("[data-testid=chat-launcher]")
    ask(page, "How much is shipping?")
    page.locator("[data-testid=msg-text]", has_text="€59").first.wait_for(timeout=30_000)
    page.keyboard.press("Escape")  # closes the chat like the close button
    popup = page.locator("[data-testid=rating-popup]")
    popup.wait_for(state="visible", timeout=10_000)
    # The browser is Italian, the conversation English: the prompt follows the conversation.
    assert popup.locator("legend").inner_text() == "How would you rate this chat?"
    assert page.locator("[data-testid=chat-panel]").is_hidden()
    with page.expect_response("**/chat/end") as ended:  # declining ends the conversation
        popup.get_by_role("button", name="No, thanks").click()
    assert ended.value.json() == {"status": "ended"}
    assert popup.is_hidden()
    page.click("[data-testid=chat-launcher]")
    page.click(".sb-close")
    page.wait_for_timeout(700)
    assert popup.is_hidden()  # declined once: not asked again
    session = page.evaluate("localStorage.getItem('supportbot.session')")
    assert rating_of(live_bot, session) == []


def test_a_goodbye_with_nothing_before_it_asks_for_no_rating(page, live_bot):
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    ask(page, "arrivederci e buona giornata")
    # a goodbye as the very first message is taken as a greeting ("ciao" is both)
    page.locator("[data-testid=msg-text]", has_text="Sono l'assistente").wait_for(timeout=30_000)
    with page.expect_response("**/chat/rating?*") as status:  # closing asks the server
        page.click(".sb-close")
    assert status.value.json()["asked"] is False  # a goodbye is no question
    page.wait_for_timeout(300)
    assert page.locator("[data-testid=rating]").count() == 0


def test_rating_over_rest_by_keyboard_keeps_the_comment_when_sending_fails(page, live_bot):
    # No socket.io client: the widget talks to Rasa's REST channel.
    page.route("**/vendor/socket.io.min.js", lambda route: route.fulfill(status=404, body=""))
    failures = []

    def rating_route(route):
        if route.request.method == "POST" and not failures:
            failures.append(route.request.post_data_json)
            return route.fulfill(status=503, json={"detail": "down for a moment"})
        return route.continue_()

    page.route("**/chat/rating", rating_route)
    page.goto(live_bot.app_url + "/")
    page.click("[data-testid=chat-launcher]")
    ask(page, "How much is shipping?")
    page.locator("[data-testid=msg-text]", has_text="€59").first.wait_for(timeout=30_000)
    ask(page, "bye bye")
    prompt = page.locator("[data-testid=rating]")
    prompt.wait_for(timeout=30_000)
    assert prompt.locator("legend").inner_text() == "How would you rate this chat?"
    prompt.get_by_role("button", name="Send rating").click()  # no score chosen yet
    assert "choose a rating" in prompt.locator("[data-testid=rating-note]").inner_text()
    assert page.evaluate("document.activeElement.dataset.testid") == "rating-1"
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # rating 2, by keyboard
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past 3, 4 and 5 into the comment
    page.keyboard.type("Too slow")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Send
    note = prompt.locator("[data-testid=rating-note]")
    note.filter(has_text="try again").wait_for(timeout=10_000)
    session = page.evaluate("localStorage.getItem('supportbot.session')")
    assert failures == [{"conversation_id": session, "rating": 2, "comment": "Too slow"}]
    assert prompt.locator("[data-testid=rating-comment]").input_value() == "Too slow"
    prompt.get_by_role("button", name="Send rating").click()
    page.locator("[data-testid=rating-thanks]", has_text="Thank you").wait_for(timeout=10_000)
    [rating] = rating_of(live_bot, session)
    assert (rating.data, rating.channel, rating.language) == (
        {"rating": 2, "comment": "Too slow"}, "rest", "en")
