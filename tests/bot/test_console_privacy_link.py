"""The privacy policy the consent question points to: a setting the shop sets (an http(s)
URL, anything else refused at start) that the form's question carries as a link."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation.action_endpoint import all_actions
from bot.conversation.assistant import Assistant
from bot.conversation.contact_form import ActionAskContactConsent
from core import Settings

DOMAIN = (Path(__file__).resolve().parents[2] / "bot" / "conversation" / "rasa_project"
          / "domain.yml")


def test_the_privacy_page_is_an_http_url_the_shop_sets(tmp_path):
    assert Settings(var_dir=tmp_path).privacy_url.startswith("https://")
    custom = Settings(var_dir=tmp_path, privacy_url=" https://shop.example/it/privacy ")
    assert custom.privacy_url == "https://shop.example/it/privacy"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/privacy", "https://", "ftp://x.y/p",
                                 "https://shop.example/pri vacy", "https://shop.example/\x00",
                                 "data:text/html,hi", ""])
def test_anything_but_a_web_address_is_refused_at_start(tmp_path, url):
    with pytest.raises(ValidationError, match="privacy"):
        Settings(var_dir=tmp_path, privacy_url=url)


def test_the_consent_question_carries_the_privacy_url(kb):
    settings = kb.settings.model_copy(update={"privacy_url": "https://shop.example/privacy"})
    action = ActionAskContactConsent(Assistant(settings, kb))
    assert action.name() in {a.name() for a in all_actions(action.assistant)}
    dispatcher = CollectingDispatcher()
    track = Tracker.from_dict({"sender_id": "c1", "slots": {"language": "it"},
                               "latest_message": {}, "events": [], "paused": False,
                               "followup_action": None, "active_loop": {},
                               "latest_action_name": "action_listen"})
    assert asyncio.run(action.run(dispatcher, track, {})) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_contact_consent"
    assert message["privacy_url"] == "https://shop.example/privacy"  # fills {privacy_url}


def _domain() -> dict:
    return yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))


@pytest.mark.skipif("action_ask_contact_consent" not in _domain().get("actions", []),
                    reason="the domain does not call action_ask_contact_consent yet")
def test_every_variant_of_the_consent_question_links_the_privacy_page():
    for variant in _domain()["responses"]["utter_ask_contact_consent"]:
        assert "{privacy_url}" in variant["text"], variant
