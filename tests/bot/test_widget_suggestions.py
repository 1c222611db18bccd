"""GET /chat/suggestions: the questions the chat widget suggests when it opens, through the
app on a real database: the most answered of the last 30 days, else the knowledge base's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from analytics import EventKind
from analytics.log import most_answered_entries
from analytics.models import InteractionEvent
from bot.app import create_app
from bot.conversation.assistant import Assistant
from core import session_scope, utcnow


@pytest.fixture
def client(kb):
    with TestClient(create_app(Assistant(kb.settings, kb)), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def entries(add_entry) -> dict[str, int]:
    return {
        "shipping": add_entry("5,90 €.", "Quanto costa la spedizione?", "spese di spedizione?",
                              language="it"),
        "returns": add_entry("Entro 30 giorni.", "Come faccio un reso?", language="it"),
        "sizes": add_entry("Vedi la guida.", "Che taglia scelgo?", language="it"),
        "payment": add_entry("Carta o PayPal.", "Come posso pagare?", language="it"),
        "draft": add_entry("Non ancora.", "Fate consegne il sabato?", language="it",
                           status="draft"),
        "en": add_entry("€5.90.", "How much is shipping?", language="en"),
    }


def answered(database_url, entry_id: int, times: int, *, language: str = "it",
             kind: EventKind = EventKind.MESSAGE, days_ago: int = 0, decision: str = "answer"):
    """Logged `days_ago` (rows of the log are never updated: the time is set as written)."""
    with session_scope(database_url) as session:
        for n in range(times):
            session.add(InteractionEvent(
                kind=kind.value, conversation_id=f"c-{entry_id}-{n}-{days_ago}", language=language,
                text="la mia email è mario@example.com, quanto costa?", decision=decision,
                entry_id=entry_id, data={}, occurred_at=utcnow() - timedelta(days=days_ago)))


def suggested(client, **params) -> list[str]:
    response = client.get("/chat/suggestions", params=params)
    assert response.status_code == 200, response.text
    return response.json()["questions"]


def test_an_empty_log_suggests_published_entries_of_the_language(client, entries):
    assert suggested(client, language="it") == ["Quanto costa la spedizione?",
                                                "Come faccio un reso?", "Che taglia scelgo?"]
    assert suggested(client, language="en") == ["How much is shipping?"]


def test_the_most_answered_of_the_last_30_days_come_first_in_the_kbs_words(
        client, entries, database_url):
    answered(database_url, entries["payment"], 3)
    answered(database_url, entries["sizes"], 2, kind=EventKind.CHOICE)  # a clarify pick
    answered(database_url, entries["returns"], 9, days_ago=31)  # too old
    answered(database_url, entries["returns"], 9, decision="clarify")  # not answered
    answered(database_url, entries["shipping"], 9, language="en")  # another language
    answered(database_url, entries["draft"], 9)  # withdrawn since
    questions = suggested(client, language="it")
    # the entry's own first question, never what the customer wrote
    assert questions == ["Come posso pagare?", "Che taglia scelgo?", "Quanto costa la spedizione?"]
    assert suggested(client, language="it", count=1) == ["Come posso pagare?"]
    with session_scope(database_url) as session:
        since = utcnow() - timedelta(days=30)
        # the log knows nothing of statuses: the withdrawn entry is dropped after it
        assert most_answered_entries("it", since, session=session) == [
            entries["draft"], entries["payment"], entries["sizes"]]


@pytest.mark.parametrize("params", [{"language": "de"}, {"language": "<script>"},
                                    {"language": "it" * 10}, {"count": 0}, {"count": 6},
                                    {"count": "tre"}])
def test_unknown_languages_and_counts_out_of_range_are_refused(client, entries, params):
    assert client.get("/chat/suggestions", params=params).status_code == 422


def test_the_widget_config_names_the_route_and_the_message_limit(client):
    config = client.get("/chat/config.json").json()
    assert config["suggestions_url"] == "/chat/suggestions"
    assert config["max_message_chars"] == 1000
