"""Rasa's remote action, with the same checks and less work per call.

Validation. Rasa checks every action server response against its JSON schema, which is
right, but it calls `jsonschema.validate`, which first checks the *schema itself* against
the JSON-Schema meta-schema on every call (measured: a quarter of a Rasa process's busy
time under load). Here the schema is checked once and its validators reused. And each event
is checked against the one branch of the schema's `oneOf` its `event` names instead of all
23: every branch requires its own `event` constant, so the other 22 can never match and
the `oneOf` holds exactly when that branch does (an event naming no known kind, or not a
string, goes through the whole schema, for Rasa's own error). Every response is still
validated in full, with Rasa's error.

The HTTP call. Rasa opens a new client session, so a new TCP connection, for every call to
the action endpoint. Here each endpoint keeps one session per event loop, with idle
connections closed after `KEEPALIVE_S`, before the servers close theirs (uvicorn: 5 s;
HAProxy in front of several app processes: longer), so a reused connection is never one
the server is closing.
"""

from __future__ import annotations

import asyncio
import ssl
from functools import cache
from typing import Any

import aiohttp
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.exceptions import FileNotFoundException
from rasa.shared.utils.schemas.events import EVENT_SCHEMA
from rasa.utils.endpoints import (
    DEFAULT_REQUEST_TIMEOUT,
    ClientResponseError,
    EndpointConfig,
    concat_url,
)

KEEPALIVE_S = 2.0
SESSION = "_supportbot_session"


@cache
def _validators() -> tuple[Any, Any, dict[str, Any]]:
    """(the whole response's, one unknown event's, event kind -> its branch's)."""
    schema = RemoteAction.action_response_format_spec()
    kind = validator_for(schema)
    kind.check_schema(schema)
    assert schema["properties"]["events"]["items"] is EVENT_SCHEMA
    shell = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
    base = {key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"}
    branches = {branch["properties"]["event"]["const"]: kind({**base, "allOf": [branch]})
                for branch in EVENT_SCHEMA["oneOf"]}
    return kind(shell), kind(EVENT_SCHEMA), branches


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result`, the same verdicts with less work."""
    shell, any_event, branches = _validators()
    error = best_match(shell.iter_errors(result))
    if error is None and isinstance(result, dict) and isinstance(result.get("events"), list):
        for position, event in enumerate(result["events"]):
            name = event.get("event") if isinstance(event, dict) else None
            validator = branches.get(name) if isinstance(name, str) else None
            error = best_match((validator or any_event).iter_errors(event))
            if error is not None:
                error.path.extendleft(["events", position])
                break
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        f"from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions")
    raise error


def _session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """The endpoint's session on the running loop (a new one after the loop changed)."""
    loop = asyncio.get_running_loop()
    kept = getattr(endpoint, SESSION, None)
    if kept is not None and kept[0] is loop and not kept[1].closed:
        return kept[1]
    auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
            if endpoint.basic_auth else None)
    session = aiohttp.ClientSession(
        headers=endpoint.headers, auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S))
    setattr(endpoint, SESSION, (loop, session))
    return session


async def request(self: EndpointConfig, method: str = "post", subpath: str | None = None,
                  content_type: str | None = "application/json", compress: bool = False,
                  **kwargs: Any) -> Any | None:
    """`EndpointConfig.request` over the endpoint's kept session: same headers, parameters,
    certificate, errors and result."""
    headers = {"Content-Type": content_type} if content_type else {}
    headers.update(kwargs.pop("headers", {}))
    headers.update(self.headers or {})
    sslcontext = None
    if self.cafile:
        try:
            sslcontext = ssl.create_default_context(cafile=self.cafile)
        except FileNotFoundError as exc:
            raise FileNotFoundException(f"Failed to find certificate file, "
                                        f"'{self.cafile}' does not exist.") from exc
    async with _session(self).request(method, concat_url(self.url, subpath), headers=headers,
                                      params=self.combine_parameters(kwargs), compress=compress,
                                      ssl=sslcontext, **kwargs) as response:
        if response.status >= 400:
            raise ClientResponseError(response.status, response.reason,
                                      await response.content.read())
        try:
            return await response.json()
        except aiohttp.ContentTypeError:
            return None


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
    EndpointConfig.request = request
