"""The message limit on the server's side, for a client that bypasses the widget (which
never sends an over-long message): Rasa's channels refuse one with a clear reply in the
customer's language instead of cutting it and answering the rest. Apart from the browser
tests: Playwright keeps an event loop open there, and the socket.io client needs its own."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from analytics import EventKind, events_of
from core import session_scope
from tests.bot.socketio_client import SocketChat

pytestmark = [pytest.mark.rasa]

QUESTION = "Quanto costa la spedizione? "
ANSWER = "59 €"
OVER = (QUESTION * 40)[:1001]  # a real question, one character over the limit


def logged_kinds(live_bot, conversation_id: str) -> set[str]:
    with session_scope(live_bot.settings.resolved_database_url) as db:
        return {e.kind for e in events_of(conversation_id, session=db)}


@pytest.mark.parametrize("language,says", [("it", "troppo lungo (più di 1000 caratteri)"),
                                           ("en", "too long (over 1000 characters)")])
def test_socketio_refuses_an_over_long_message_without_cutting_it(live_bot, language, says):
    async def scenario() -> tuple[str, dict]:
        chat = await SocketChat.connect(live_bot.rasa_url, origin=live_bot.app_url)
        session = await chat.session(uuid.uuid4().hex)
        await chat.emit("user_uttered", {"message": OVER, "session_id": session,
                                         "metadata": {"language": language}})
        reply = await chat.receive("bot_uttered")
        await chat.close()
        return session, reply

    session, reply = asyncio.run(scenario())
    assert says in reply["text"] and ANSWER not in reply["text"]
    # nothing of it was searched, answered or escalated
    assert not logged_kinds(live_bot, session) & {EventKind.MESSAGE.value,
                                                   EventKind.ESCALATION.value}


def test_rest_refuses_an_over_long_message_without_cutting_it(live_bot):
    sender = f"limit-{uuid.uuid4().hex[:10]}"
    response = httpx.post(f"{live_bot.rasa_url}/webhooks/rest/webhook", timeout=60,
                          content=json.dumps({"sender": sender, "message": OVER}),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "1000 characters" in response.text
    assert not logged_kinds(live_bot, sender) & {EventKind.MESSAGE.value,
                                                  EventKind.ESCALATION.value}
