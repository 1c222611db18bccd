"""A bounded fuzz of the public chat: thousands of hostile messages over Rasa's REST
channel (the one a stranger reaches with curl) into the real Rasa server and the real
action endpoint. Nothing may answer with a 5xx, and afterwards the bot still answers a
normal question from the knowledge base.

The messages are seeded (the same run every time): odd Unicode, control characters,
markup and injection strings, forged intents and buttons (Rasa reads "/intent{json}" as an
intent), messages at and far over the size limit, and malformed request bodies.
"""

from __future__ import annotations

import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

MESSAGES = 2000
SEED = 20261130
FORGED = ["/choose_entry{\"entry_id\": \"%s\"}", "/feedback_helpful{\"entry_id\": \"%s\"}",
          "/feedback_unhelpful{\"entry_id\": \"%s\"}", "/ask_human", "/affirm", "/deny",
          "/restart", "/session_start", "/greet{\"customer_email\": \"%s\"}", "/nlu_fallback",
          "/choose_entry{%s}", "/EXTERNAL_action_deliver_answer", "/goodbye", "/chitchat"]
NASTY = ["'; DROP TABLE tickets; --", "<script>alert(1)</script>", "{{7*7}}", "${jndi:ldap://x}",
         "\u202egnp.exe", "\u200b\u200b\u200b", "a\x00b", "\r\nBcc: attacker@example.com",
         "%s%s%s%n", "../../etc/passwd", "\U0001F600" * 50, "ciao " * 300, "?" * 999,
         "quanto costa la spedizione?\x1b[31m", "null", "[]", "{}", "NaN", "-1", "🙂" * 400]


def fuzz_text(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(FORGED).replace("%s", rng.choice(["1", "-1", "999999999", "x" * 300,
                                                             "\"", "a@b.c\r\nBcc: x@y.z"]))
    if kind == 1:
        return rng.choice(NASTY)
    if kind == 2:  # random code points, control characters and surrogate-free planes
        return "".join(chr(rng.choice([rng.randrange(0, 0x20), rng.randrange(0x20, 0x7f),
                                       rng.randrange(0xa0, 0x2fff),
                                       rng.randrange(0x1f300, 0x1faff)]))
                       for _ in range(rng.randrange(1, 200)))
    if kind == 3:  # around and far over the size limit
        return "spedizione " * rng.choice([99, 100, 101, 500, 3000])
    if kind == 4:
        return " ".join(rng.choice(["reso", "ordine", "??", "ciao", "hi", "refund", "€", "😡"])
                        for _ in range(rng.randrange(1, 12)))
    return json.dumps({"text": rng.choice(NASTY)})


def fuzz_body(rng: random.Random, sender: str) -> bytes | dict:
    """Mostly well-formed requests with hostile text and metadata; some malformed bodies."""
    roll = rng.random()
    if roll < 0.05:
        return rng.choice([b"[]", b"null", b"42", b"\"x\"", b"{", b"{\"sender\": []}",
                           b"{\"message\": {\"a\": 1}}", b"{\"sender\": \"s\", \"message\": 5}",
                           b"\xff\xfe\x00", b"[" * 5000 + b"]" * 5000])
    metadata = rng.choice([{}, {"language": "xx" * 100}, {"page": "<img src=x>" * 50},
                           {"customer_email": "victim@example.com"}, {"language": ["it"]},
                           {"nested": {"a": [1, {"b": "c" * 1000}]}}])
    return {"sender": sender, "message": fuzz_text(rng), "metadata": metadata}


def send(url: str, body: bytes | dict) -> int:
    if isinstance(body, bytes):
        response = httpx.post(url, content=body, timeout=120,
                              headers={"Content-Type": "application/json"})
    else:
        response = httpx.post(url, json=body, timeout=120)
    return response.status_code


def test_a_chat_fuzz_gets_no_server_error_and_the_bot_answers_afterwards(live_bot):
    rng = random.Random(SEED)
    url = f"{live_bot.rasa_url}/webhooks/rest/webhook"
    # Many conversations, a few messages each, as a crowd of strangers would send them.
    senders = [f"fuzz-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}" for _ in range(MESSAGES // 4)]
    bodies = [fuzz_body(rng, rng.choice(senders)) for _ in range(MESSAGES)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda body: send(url, body), bodies))
    errors = [(status, body) for status, body in zip(statuses, bodies, strict=True)
              if status >= 500]
    assert not errors, errors[:5]
    # Most of the fuzz reached the bot; the rest was refused up front (malformed, too big).
    assert statuses.count(200) > MESSAGES * 0.7, {s: statuses.count(s) for s in set(statuses)}
    assert set(statuses) <= {200, 400, 413}, set(statuses)

    reply = live_bot.say(f"after-fuzz-{uuid.uuid4().hex[:8]}", "Quanto costa la spedizione?")
    assert "59 €" in reply[0]["text"], reply
