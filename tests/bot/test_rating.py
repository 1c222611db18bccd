"""POST /chat/rating and GET /chat/rating: the end-of-chat rating through the app, on both
databases, and the one-rating-per-conversation rule under concurrency."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from fastapi.testclient import TestClient

from analytics import EventKind, Interaction, events_of, record
from bot.app import create_app
from bot.conversation.assistant import Assistant
from bot.web.rating import AlreadyRated, Rating, record_rating, submit_rating
from core import session_scope


@pytest.fixture
def client(kb):
    with TestClient(create_app(Assistant(kb.settings, kb)), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def conversation(database_url) -> str:
    """Started in Italian on a product page over socket.io, then switched to English."""
    conversation_id = f"conv-{uuid.uuid4().hex[:12]}"
    with session_scope(database_url) as session:
        record(Interaction(EventKind.CONVERSATION_START, conversation_id, channel="socketio",
                           language="it", page="product:sciarpa-merino"), session=session)
        record(Interaction(EventKind.MESSAGE, conversation_id, channel="socketio", language="en",
                           text="How much is shipping?", decision="answer"), session=session)
    return conversation_id


def logged(database_url, conversation_id: str, kind: EventKind | None = None):
    with session_scope(database_url) as session:
        return events_of(conversation_id, session=session, kind=kind)


def post(client, body, **headers):
    return client.post("/chat/rating", content=body if isinstance(body, (bytes, str)) else
                       json.dumps(body), headers={"Content-Type": "application/json", **headers})


def test_a_rating_is_logged_with_the_conversation_context_and_ends_it(client, conversation,
                                                                      database_url):
    response = post(client, {"conversation_id": conversation, "rating": 4,
                             "comment": "Risposta rapida, grazie"})
    assert response.status_code == 201, response.text
    assert response.json() == {"status": "recorded", "rating": 4}
    *_, rating, end = logged(database_url, conversation)
    assert (rating.kind, end.kind) == ("rating", "conversation_end")
    assert rating.data == {"rating": 4, "comment": "Risposta rapida, grazie"}
    # the latest language (the conversation switched), channel and page of its own events
    assert (rating.language, rating.channel, rating.page) == ("en", "socketio",
                                                              "product:sciarpa-merino")
    assert (end.language, end.channel, end.page) == ("en", "socketio", "product:sciarpa-merino")


@pytest.mark.parametrize("extra", [{}, {"comment": None}, {"comment": "   "}])
def test_the_comment_is_optional(client, conversation, database_url, extra):
    response = post(client, {"conversation_id": conversation, "rating": 5, **extra})
    assert response.status_code == 201, response.text
    [rating] = logged(database_url, conversation, EventKind.RATING)
    assert rating.data == {"rating": 5, "comment": ""}


@pytest.mark.parametrize("value", ["missing", 0, 6, -1, "5", 5.5, 4.0, True, False, None, [4],
                                   {"n": 4}, 10**30])
def test_the_rating_must_be_a_whole_number_from_1_to_5(client, conversation, database_url, value):
    body = {"conversation_id": conversation}
    if value != "missing":
        body["rating"] = value
    response = post(client, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "rating must be a whole number from 1 to 5"
    assert not logged(database_url, conversation, EventKind.RATING)


def test_a_comment_of_1000_characters_is_kept_and_1001_refused(client, conversation,
                                                                database_url):
    too_long = post(client, {"conversation_id": conversation, "rating": 3, "comment": "é" * 1001})
    assert too_long.status_code == 422 and "longer than 1000" in too_long.json()["detail"]
    assert not logged(database_url, conversation, EventKind.RATING)
    exact = post(client, {"conversation_id": conversation, "rating": 3, "comment": "é" * 1000})
    assert exact.status_code == 201
    assert logged(database_url, conversation, EventKind.RATING)[0].data["comment"] == "é" * 1000


@pytest.mark.parametrize("comment", [123, ["a"], {"text": "a"}, True])
def test_a_comment_must_be_text(client, conversation, comment):
    response = post(client, {"conversation_id": conversation, "rating": 3, "comment": comment})
    assert response.status_code == 422 and response.json()["detail"] == "comment must be text"


def test_html_in_a_comment_is_stored_as_the_text_it_is(client, conversation, database_url):
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script> & \'; DROP TABLE x; --'
    assert post(client, {"conversation_id": conversation, "rating": 1,
                         "comment": hostile}).status_code == 201
    assert logged(database_url, conversation, EventKind.RATING)[0].data["comment"] == hostile


def test_control_characters_nul_and_lone_surrogates_are_dropped(client, conversation,
                                                                 database_url):
    # Raw JSON: \u0000 and a lone surrogate escape are valid JSON but no database text.
    body = (f'{{"conversation_id": "{conversation}", "rating": 2, "comment": '
            '"tro\\u0000ppo\\u0007 lento\\r\\nriga due\\ud800\\t'
            '\\u001b[31m fine\\u200d\U0001F44D"}')
    response = post(client, body)
    assert response.status_code == 201, response.text
    comment = logged(database_url, conversation, EventKind.RATING)[0].data["comment"]
    assert comment == "troppo lento\nriga due\t[31m fine\u200d\U0001F44D"


def test_an_unknown_conversation_is_404(client, database_url):
    response = post(client, {"conversation_id": "never-chatted", "rating": 5})
    assert response.status_code == 404
    assert response.json() == {
        "detail": "no conversation with this id; a rating needs a conversation"}
    assert not logged(database_url, "never-chatted")


def test_a_second_rating_is_409_and_the_first_stays(client, conversation, database_url):
    assert post(client, {"conversation_id": conversation, "rating": 5}).status_code == 201
    again = post(client, {"conversation_id": conversation, "rating": 1, "comment": "changed"})
    assert again.status_code == 409
    assert "rated already" in again.json()["detail"]
    [rating] = logged(database_url, conversation, EventKind.RATING)
    assert rating.data == {"rating": 5, "comment": ""}
    assert len(logged(database_url, conversation, EventKind.CONVERSATION_END)) == 1


@pytest.mark.parametrize("body", ['{"conversation_id": "x", "rating": 4', "rating=4", "",
                                  b"\xff\xfe\x00{", "[" * 20_000])
def test_malformed_json_is_400(client, body):
    response = post(client, body if isinstance(body, bytes) else body[:16_000])
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("the body is not valid JSON")


@pytest.mark.parametrize("body, words", [
    ([4], "JSON object"), ('"five"', "JSON object"), (None, "JSON object"),
    ({"rating": 4}, "conversation_id"), ({"conversation_id": "", "rating": 4}, "conversation_id"),
    ({"conversation_id": 42, "rating": 4}, "conversation_id"),
    ({"conversation_id": "x" * 129, "rating": 4}, "longer than 128"),
    ({"conversation_id": "x", "rating": 4, "score": 4}, "unknown field(s): score"),
])
def test_a_body_of_the_wrong_shape_is_422(client, body, words):
    response = post(client, body)
    assert response.status_code == 422 and words in response.json()["detail"]


def test_an_oversize_body_is_413_declared_or_streamed(client, conversation, database_url):
    big = json.dumps({"conversation_id": conversation, "rating": 4, "comment": "a" * 20_000})
    assert post(client, big).status_code == 413

    def chunks():  # no Content-Length: the body arrives chunked
        for start in range(0, len(big), 1000):
            yield big[start:start + 1000].encode()

    streamed = client.post("/chat/rating", content=chunks(),
                           headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and "16384 bytes" in streamed.json()["detail"]
    assert not logged(database_url, conversation, EventKind.RATING)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_only_json_is_accepted(client, conversation, content_type):
    response = client.post("/chat/rating", headers={"Content-Type": content_type},
                           content=json.dumps({"conversation_id": conversation, "rating": 4}))
    assert response.status_code == 415


def test_charset_in_the_content_type_is_fine(client, conversation):
    response = post(client, {"conversation_id": conversation, "rating": 4},
                    **{"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 201


def test_rating_requests_are_rate_limited_per_conversation(client, conversation):
    statuses = [post(client, {"conversation_id": conversation, "rating": 4}).status_code
                for _ in range(11)]
    assert statuses == [201] + [409] * 9 + [429]
    assert "wait a minute" in post(client, {"conversation_id": conversation,
                                            "rating": 4}).json()["detail"]


def test_the_widget_can_ask_whether_and_in_which_language_to_ask(client, conversation):
    assert client.get("/chat/config.json").json()["rating_url"] == "/chat/rating"
    status = client.get("/chat/rating", params={"conversation_id": conversation})
    assert status.json() == {"rated": False, "asked": True, "language": "en"}
    post(client, {"conversation_id": conversation, "rating": 4})
    assert client.get("/chat/rating", params={"conversation_id": conversation}).json()["rated"]
    unknown = client.get("/chat/rating", params={"conversation_id": "nobody"})
    assert unknown.status_code == 404 and "no conversation" in unknown.json()["detail"]
    for bad in ("", "x" * 129):
        assert client.get("/chat/rating", params={"conversation_id": bad}).status_code == 422


def test_a_conversation_without_a_question_has_nothing_to_rate(client, database_url):
    with session_scope(database_url) as session:  # a greeting only: no question logged
        record(Interaction(EventKind.CONVERSATION_START, "hello-only", channel="rest",
                           language="it"), session=session)
    status = client.get("/chat/rating", params={"conversation_id": "hello-only"})
    assert status.json() == {"rated": False, "asked": False, "language": "it"}


def test_concurrent_ratings_of_one_conversation_record_one(database_url, conversation):
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def rate(score: int) -> None:
        barrier.wait()
        try:
            submit_rating(database_url, Rating(conversation, score))
            outcomes.append("recorded")
        except AlreadyRated:
            outcomes.append("refused")

    threads = [threading.Thread(target=rate, args=(n % 5 + 1,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["recorded"] + ["refused"] * 5
    assert len(logged(database_url, conversation, EventKind.RATING)) == 1


def test_replicas_take_turns_on_postgresql(database_url, conversation):
    """Two app processes share only the database: the second waits for the first's lock,
    then sees its rating."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serves one process; its lock is the process's")
    outcome: list[str] = []

    def second_replica() -> None:
        try:
            with session_scope(database_url) as session:
                record_rating(Rating(conversation, 1), session=session)
            outcome.append("recorded")
        except AlreadyRated:
            outcome.append("refused")

    with session_scope(database_url) as session:
        record_rating(Rating(conversation, 5), session=session)
        other = threading.Thread(target=second_replica)
        other.start()
        other.join(1.0)
        assert other.is_alive(), outcome  # blocked on the advisory lock, not racing ahead
    other.join(30)
    assert outcome == ["refused"]


# -- "no thanks": the end of a conversation without a rating ------------------------------
def end(client, body):
    return client.post("/chat/end", content=json.dumps(body),
                       headers={"Content-Type": "application/json"})


def test_declining_the_rating_ends_the_conversation_once(client, conversation, database_url):
    assert end(client, {"conversation_id": conversation}).json() == {"status": "ended"}
    assert end(client, {"conversation_id": conversation}).json() == {"status": "already ended"}
    ends = logged(database_url, conversation, EventKind.CONVERSATION_END)
    assert len(ends) == 1 and ends[0].data == {"via": "declined"}
    assert (ends[0].language, ends[0].page) == ("en", "product:sciarpa-merino")
    assert not logged(database_url, conversation, EventKind.RATING)


@pytest.mark.parametrize("body, status", [
    ({"conversation_id": "nobody-" + "x" * 8}, 404), ({}, 422), ([], 422),
    ({"conversation_id": ""}, 422), ({"conversation_id": "x" * 129}, 422),
    ({"conversation_id": "c", "rating": 5}, 422), ({"conversation_id": 7}, 422)])
def test_a_bad_end_request_is_refused_and_logs_nothing(client, database_url, body, status):
    assert end(client, body).status_code == status
    with session_scope(database_url) as session:
        assert not events_of("nobody-xxxxxxxx", session=session)
