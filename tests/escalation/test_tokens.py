from datetime import UTC, datetime, timedelta

import pytest

from escalation.tokens import find_token, reply_address_for, sign, verify

KEY = b"k" * 32
NOW = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)


def test_a_token_names_its_ticket_and_verifies():
    token = sign(12, key=KEY, now=NOW)
    assert token.startswith("t12-") and token == token.lower()
    assert verify(token, key=KEY, now=NOW) == 12
    assert verify(token, key=KEY, now=NOW + timedelta(days=7)) == 12


@pytest.mark.parametrize("mutate", [
    lambda t: t.replace("t12-", "t13-", 1),  # another ticket with the same MAC
    lambda t: t[:-1] + ("a" if t[-1] != "a" else "b"),  # one MAC character changed
    lambda t: t.rsplit("-", 1)[0] + "-" + "a" * 16,
])
def test_forged_tokens_are_refused(mutate):
    assert verify(mutate(sign(12, key=KEY, now=NOW)), key=KEY, now=NOW) is None


@pytest.mark.parametrize("junk", ["", "t12", "t12-abc", "t012-abc-aaaaaaaaaaaaaaaa",
                                  "x12-abc-aaaaaaaaaaaaaaaa", "t12-abc-aaaaaaaaaaaaaaa1"])
def test_malformed_tokens_are_refused(junk):
    assert verify(junk, key=KEY, now=NOW) is None


def test_expired_and_future_tokens_are_refused():
    token = sign(12, key=KEY, now=NOW)
    assert verify(token, key=KEY, now=NOW + timedelta(days=2), max_age=timedelta(days=1)) is None
    assert verify(token, key=KEY, now=NOW - timedelta(hours=1)) is None


def test_a_token_signed_with_another_key_is_refused():
    assert verify(sign(12, key=b"other key", now=NOW), key=KEY, now=NOW) is None
    assert verify(sign(12, key="a str key", now=NOW), key=b"a str key", now=NOW) == 12


def test_case_folding_by_a_mail_system_does_not_break_it():
    address = reply_address_for(12, "assistenza@bottega-aurora.example", KEY, NOW)
    shouted = address.upper()
    assert verify(find_token(shouted), key=KEY, now=NOW) == 12


def test_the_plus_address_carries_the_token():
    address = reply_address_for(12, "Assistenza <assistenza@bottega-aurora.example>", KEY, NOW)
    local, domain = address.split("@")
    assert domain == "bottega-aurora.example"
    assert local.startswith("assistenza+t12-") and len(local) <= 64
    with pytest.raises(ValueError):
        reply_address_for(12, "not an address", KEY, NOW)


def test_the_token_is_found_in_addresses_and_message_ids():
    token = sign(12, key=KEY, now=NOW)
    reply_to = f'"Bottega" <assistenza+{token}@bottega-aurora.example>'
    message_id = f"<t12.escalation.0.{token}@bottega-aurora.example>"
    references = f"<abc@mail.example> {message_id}"
    for text in (reply_to, message_id, references):
        assert find_token(text) == token
    assert find_token("<CAF=x+12@mail.gmail.com>") is None
    assert find_token("") is None
