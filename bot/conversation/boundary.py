"""Values that the app and the Rasa process must agree on at the trust boundary: the secret
Rasa presents to the action endpoint and the browser origins allowed to use the chat."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from core import Settings

# The header Rasa sends (endpoints.yml `headers:`); a header, unlike Rasa's `token:` query
# parameter, does not end up in access logs.
ACTION_TOKEN_HEADER = "Authorization"
ACTION_TOKEN_ENV = "SUPPORTBOT_ACTION_ENDPOINT_TOKEN"


def action_endpoint_token(settings: Settings) -> str:
    """The configured token, or one derived from the secret key: every replica that shares
    the key derives the same token, and the key itself never leaves the product."""
    if settings.action_endpoint_token:
        return settings.action_endpoint_token
    return hmac.new(settings.resolved_secret_key, b"supportbot rasa action endpoint",
                    hashlib.sha256).hexdigest()


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL, as a browser sends it in Origin."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname.lower()
    return f"{parts.scheme}://{host}{port}"


def chat_allowed_origins(settings: Settings) -> list[str]:
    """The origins whose pages may talk to Rasa from a browser. By default the app's own
    (its host and port, and public_url when set); a wildcard host means the loopback names."""
    if settings.chat_allowed_origins:
        configured = [o.strip() for o in settings.chat_allowed_origins if o.strip()]
        if "*" in configured:
            return ["*"]
        return sorted({origin for o in configured if (origin := origin_of(o))})
    hosts = {settings.host}
    if settings.host in ("0.0.0.0", "::", "127.0.0.1", "localhost"):
        hosts = {"127.0.0.1", "localhost"}
    origins = {origin_of(f"http://[{host}]:{settings.port}" if ":" in host
                         else f"http://{host}:{settings.port}") for host in hosts}
    if settings.public_url:
        origins.add(origin_of(settings.public_url))
    return sorted(o for o in origins if o)
