"""`supportbot chat`: the REST channel of the running Rasa server, in a terminal.
Buttons are numbered; typing the number clicks one."""

from __future__ import annotations

import uuid

import httpx
import typer

from core import SupportBotError


def chat_loop(rasa_url: str, sender: str | None) -> None:
    sender = sender or f"cli-{uuid.uuid4().hex[:12]}"
    webhook = f"{rasa_url.rstrip('/')}/webhooks/rest/webhook"
    typer.echo(f"Talking to {rasa_url} as {sender}. Empty line or Ctrl-D ends.")
    buttons: list[dict] = []
    while True:
        try:
            text = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not text:
            break
        if text.isdigit() and 0 < int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        buttons = _show(_send(webhook, sender, text))


def _send(webhook: str, sender: str, text: str) -> list[dict]:
    try:
        response = httpx.post(webhook, json={"sender": sender, "message": text,
                                             "metadata": {"channel": "terminal"}}, timeout=30)
    except httpx.HTTPError as exc:
        raise SupportBotError(f"the bot at {webhook} is not reachable ({exc}); is "
                              "`supportbot run` running?") from exc
    if 400 <= response.status_code < 500:  # the channel refused this message (e.g. too long)
        return [{"text": f"({response.status_code}) {_reason(response)}"}]
    if response.status_code != 200:
        raise SupportBotError(f"the bot at {webhook} answered {response.status_code}; see "
                              "Rasa's log")
    return response.json()


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    message = body.get("message") or body.get("error") if isinstance(body, dict) else None
    return str(message or body)[:300]


def _show(messages: list[dict]) -> list[dict]:
    buttons: list[dict] = []
    for message in messages:
        if message.get("text"):
            typer.echo(f"bot: {message['text']}")
        for button in message.get("buttons") or []:
            buttons.append(button)
            typer.echo(f"  [{len(buttons)}] {button.get('title', '')}")
    return buttons
