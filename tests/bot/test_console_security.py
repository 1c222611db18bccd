"""The console's sign-in under attack: a logged-out cookie replayed, password guessing
locked per (address, account) with a visible wait, and the security headers of the
customer pages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bot.console.auth import set_account, users_file
from tests.bot.console_fixtures import CSRF, EMAIL, PASSWORD

OTHER = "other@shop.example"


class Clock:
    """The limiter's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def from_address(console, address: str) -> TestClient:
    return TestClient(console.client.app, follow_redirects=False, client=(address, 40000))


def login(client: TestClient, email: str = EMAIL, password: str = PASSWORD):
    token = CSRF.search(client.get("/console/login").text).group(1)
    return client.post("/console/login",
                       data={"email": email, "password": password, "csrf_token": token})


def test_a_cookie_replayed_after_logout_opens_nothing(signed_in):
    cookie = signed_in.client.cookies.get("supportbot_console")
    assert signed_in.client.get("/console").status_code == 200
    assert signed_in.post("/console/logout").status_code == 303
    thief = from_address(signed_in, "198.51.100.7")
    thief.cookies.set("supportbot_console", cookie)
    for path in ("/console", "/console/kb", "/dashboard"):
        response = thief.get(path)
        assert response.status_code == 303 and "/console/login" in response.headers["location"]
    token = CSRF.search(signed_in.client.get("/console/login").text).group(1)
    ticket_id = signed_in.ticket()
    thief.cookies.set("supportbot_console", cookie)
    posted = thief.post(f"/console/tickets/{ticket_id}/answer",
                        data={"answer": "Yes", "csrf_token": token})
    assert posted.status_code in (303, 403) and signed_in.load(ticket_id).status == "open"


def test_signing_in_again_ends_the_previous_session_of_that_browser(signed_in):
    before = signed_in.client.cookies.get("supportbot_console")
    again = signed_in.client.post("/console/login", data={  # the next operator, same browser
        "email": EMAIL, "password": PASSWORD, "csrf_token": signed_in.token("/console")})
    assert again.status_code == 303
    other = from_address(signed_in, "198.51.100.8")
    other.cookies.set("supportbot_console", before)
    assert other.get("/console").status_code == 303
    assert signed_in.client.get("/console").status_code == 200


def test_a_forged_session_id_in_a_valid_looking_session_is_refused(console):
    assert console.client.get("/console").status_code == 303  # no session, no entry


def test_guessing_locks_the_address_and_account_with_a_visible_wait(console):
    clock = console.client.app.state.console.limiter.clock = Clock()
    set_account(users_file(console.settings), OTHER, PASSWORD)
    for _ in range(4):
        assert console.login(EMAIL, "guess").status_code == 401
    locked = console.login(EMAIL, "guess")  # the fifth failure starts the lock
    assert locked.status_code == 429 and "riprova tra 1 minuto" in locked.text
    refused = console.login(EMAIL, PASSWORD)  # even the right password, while locked
    assert refused.status_code == 429 and "riprova tra 1 minuto" in refused.text
    assert refused.headers["retry-after"] == "60"
    assert console.client.get("/console").status_code == 303
    # Another address, or another account from this address, is not locked.
    elsewhere = from_address(console, "203.0.113.5")
    assert login(elsewhere).status_code == 303 and elsewhere.get("/console").status_code == 200
    assert console.login(OTHER, PASSWORD).status_code == 303
    console.post("/console/logout")
    clock.now += 61  # the lock is over: the right password works again
    assert console.login(EMAIL, PASSWORD).status_code == 303
    assert console.client.get("/console").status_code == 200


def test_locks_grow_but_never_last_forever(console):
    clock = Clock()
    limiter = console.client.app.state.console.limiter
    limiter.clock = clock
    waits = []
    for _ in range(7):  # an attacker sharing the operator's address keeps guessing
        for _ in range(limiter.failures):
            console.login(EMAIL, "guess")
        response = console.login(EMAIL, PASSWORD)
        assert response.status_code == 429
        waits.append(int(response.headers["retry-after"]))
        assert f"riprova tra {waits[-1] // 60} minut" in response.text
        clock.now += waits[-1] + 1
    assert waits == [60, 120, 240, 480, 900, 900, 900]  # capped at a quarter of an hour
    assert console.login(EMAIL, PASSWORD).status_code == 303


def test_a_successful_login_clears_the_failures(console):
    console.client.app.state.console.limiter.clock = Clock()
    for _ in range(4):
        console.login(EMAIL, "guess")
    assert console.login().status_code == 303
    console.post("/console/logout")
    for _ in range(4):
        assert console.login(EMAIL, "guess").status_code == 401  # counted from zero again


def test_one_address_trying_many_accounts_is_capped(console):
    for number in range(60):
        assert console.login(f"u{number}@shop.example", "guess").status_code == 401
    refused = console.login()
    assert refused.status_code == 429 and "riprova tra 1 minuto" in refused.text
    assert login(from_address(console, "203.0.113.6")).status_code == 303


# -- security headers on the customer pages ---------------------------------------------
def test_the_shop_and_kb_pages_carry_a_content_security_policy(console):
    rasa = console.settings.resolved_public_rasa_url.rstrip("/")
    websocket = rasa.replace("http", "ws", 1)
    for path in ("/", "/kb"):
        response = console.client.get(path)
        assert response.status_code == 200
        policy = dict(part.strip().split(" ", 1)
                      for part in response.headers["content-security-policy"].split(";"))
        assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
        assert set(policy["connect-src"].split()) == {"'self'", rasa, websocket}
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert response.headers["x-frame-options"] == "DENY"
        assert "<style" not in response.text and "style=" not in response.text
        assert "<script>" not in response.text  # scripts only by src, from our own files
    for asset in ("/static/shop.css", "/static/kb_search.css", "/static/kb_search.js"):
        assert console.client.get(asset).status_code == 200


def test_control_characters_typed_in_the_console_are_dropped(signed_in):
    """A NUL pasted into an answer made PostgreSQL refuse the whole answer (a 500)."""
    ticket_id = signed_in.ticket()
    response = signed_in.post(f"/console/tickets/{ticket_id}/answer",
                              answer="Yes,\x00 gift cards\x1b never expire.\r\nThanks!")
    assert response.status_code == 303
    ticket = signed_in.load(ticket_id)
    assert ticket.status == "closed" and ticket.answer == "Yes, gift cards never expire.\nThanks!"
