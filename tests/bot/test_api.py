import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.conversation.assistant import Assistant
from core import session_scope
from knowledge import repository as repo


@pytest.fixture
def client(kb, add_entry):
    add_entry("Shipping is free over EUR 59.", "How much does shipping cost?", "Delivery charges?",
              key="en-ship", category="pre_purchase")
    add_entry("La spedizione è gratuita da 59 €.", "Quanto costa la spedizione?",
              "Spese di consegna?",
              key="it-ship", language="it", category="pre_purchase")
    add_entry("Returns are free.", "How do I return an item?", key="en-return",
              category="post_purchase")
    with TestClient(create_app(Assistant(kb.settings, kb)), raise_server_exceptions=False) as c:
        yield c


def test_healthz_and_home(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["kb_version"] >= 3
    assert client.get("/").status_code == 200
    assert client.get("/kb").status_code == 200


def test_search_answer(client):
    r = client.get("/api/kb/search", params={"q": "How much does shipping cost?"})
    assert r.status_code == 200
    body = r.json()
    assert body["kind"] == "answer"
    assert body["candidates"][0]["key"] == "en-ship"
    assert body["candidates"][0]["answer"] == "Shipping is free over EUR 59."
    assert {"question", "language", "latency_ms", "kb_version"} <= set(body)


def test_search_language(client):
    r = client.get("/api/kb/search", params={"q": "Quanto costa la spedizione?", "language": "it"})
    assert r.status_code == 200 and r.json()["candidates"][0]["key"] == "it-ship"
    assert r.json()["language"] == "it"


def test_search_escalates_gibberish(client):
    body = client.get("/api/kb/search", params={"q": "zzqx vvkw"}).json()
    assert body["kind"] == "escalate"


@pytest.mark.parametrize("q", ["", "   ", "\u200b"])
def test_search_empty_question_422(client, q):
    r = client.get("/api/kb/search", params={"q": q})
    assert r.status_code == 422
    assert "empty" in r.json()["detail"].lower()


def test_search_missing_q_422(client):
    assert client.get("/api/kb/search").status_code == 422


@pytest.mark.parametrize("length", [1001, 20_000, 20_001])
def test_search_too_long_422(client, length):
    r = client.get("/api/kb/search", params={"q": "a" * length})
    assert r.status_code == 422


@pytest.mark.parametrize("raw", [
    "ship%00ping%07%1b cost",       # control characters
    "%ED%A0%80shipping",            # a lone surrogate, UTF-8 encoded (invalid UTF-8)
    "%5Cud800 shipping",            # a lone surrogate escape as text
    "shipping%20%F0%9F%9A%9A%F0%9F%93%A6",  # emoji
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%27%3B%20DROP%20TABLE%20kb_entries%3B%20--",
    "%FF%FE%FD",                    # bytes that are not UTF-8 at all
])
def test_search_odd_input_no_crash(client, raw):
    r = client.get(f"/api/kb/search?q={raw}")
    assert r.status_code == 200, r.text
    assert r.json()["kind"] in {"answer", "clarify", "escalate"}
    assert client.get("/healthz").status_code == 200


def test_search_unknown_language_422(client):
    assert client.get("/api/kb/search", params={"q": "hello", "language": "xx"}).status_code == 422


def test_entries_listing_and_pagination(client):
    body = client.get("/api/kb/entries").json()
    assert [e["key"] for e in body["entries"]] == ["en-ship", "it-ship", "en-return"]
    assert body["limit"] == 50 and body["offset"] == 0
    page = client.get("/api/kb/entries", params={"limit": 1, "offset": 1}).json()
    assert [e["key"] for e in page["entries"]] == ["it-ship"]
    it = client.get("/api/kb/entries", params={"language": "it"}).json()
    assert [e["key"] for e in it["entries"]] == ["it-ship"]
    assert client.get("/api/kb/entries", params={"limit": 500}).status_code == 200


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"offset": -1},
                                    {"status": "bogus"}, {"language": "xx"}, {"limit": "many"}])
def test_entries_bad_params_422(client, params):
    assert client.get("/api/kb/entries", params=params).status_code == 422


def test_entry_detail_by_key_and_id(client):
    r = client.get("/api/kb/entries/en-ship")
    assert r.status_code == 200
    body = r.json()
    assert body["questions"] == ["How much does shipping cost?", "Delivery charges?"]
    assert body["version"] == 1 and len(body["history"]) == 1
    assert client.get(f"/api/kb/entries/{body['id']}").json()["key"] == "en-ship"


@pytest.mark.parametrize("ref", ["nope", "999999", "0"])
def test_unknown_entry_404(client, ref):
    r = client.get(f"/api/kb/entries/{ref}")
    assert r.status_code == 404
    assert ref in r.json()["detail"]


def test_superscript_digit_entry_ref_404(client):
    assert client.get("/api/kb/entries/%C2%B2").status_code == 404


def test_huge_numeric_entry_ref_404(client):
    assert client.get("/api/kb/entries/99999999999999999999999").status_code == 404


def test_stats(client, database_url):
    body = client.get("/api/kb/stats").json()
    assert body["entries"] == 3 and body["questions"] == 5
    assert body["by_language"] == {"en": 2, "it": 1}
    with session_scope(database_url) as s:
        assert body["kb_version"] == repo.kb_version(session=s)


@pytest.mark.parametrize("query, status", [("", 422), ("session_id=", 422),
                                           ("session_id=" + "x" * 200, 422),
                                           ("session_id=%3Cscript%3E", 200)])
def test_waiting_answers_validates_the_session(client, query, status):
    response = client.get("/chat/answers?" + query)
    assert response.status_code == status
    if status == 200:
        assert response.json() == []
