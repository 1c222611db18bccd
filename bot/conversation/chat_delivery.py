"""Pushing an operator's answer into a live chat through Rasa's HTTP API: Rasa runs
`action_deliver_answer` for the conversation and sends its messages on the channel the
customer used last (socket.io pushes them to the open page)."""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx

from escalation import Ticket

log = logging.getLogger(__name__)


class RasaChatDelivery:
    def __init__(self, rasa_url: str, token: str, timeout: float = 10.0):
        self.rasa_url, self.token, self.timeout = rasa_url.rstrip("/"), token, timeout

    def __call__(self, ticket: Ticket) -> bool:
        response = httpx.post(
            f"{self.rasa_url}/conversations/{quote(ticket.conversation_id, safe='')}/execute",
            params={"output_channel": "latest", "token": self.token},
            json={"name": "action_deliver_answer"}, timeout=self.timeout)
        if response.status_code != 200:
            log.warning("ticket %s: Rasa refused the chat delivery (%s)", ticket.id,
                        response.status_code)
            return False
        return True
