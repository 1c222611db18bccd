"""HAProxy in front of the cluster's processes (bot.cluster): where everything listens,
the configuration that balances the app and Rasa processes, and HAProxy started under
supervision."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core import Settings, SupportBotError

SERVED_BY = "X-Supportbot-Rasa"  # response header naming the Rasa process that answered


class ClusterError(SupportBotError):
    """The multi-process layout cannot run with these settings or on this machine."""


@dataclass(frozen=True)
class Layout:
    """Where everything listens: public ports (HAProxy) and loopback ports behind it."""

    host: str
    app_port: int
    rasa_port: int
    action_port: int
    app_ports: tuple[int, ...]
    rasa_ports: tuple[int, ...]

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}/webhook"


def haproxy_executable(settings: Settings) -> str:
    found = str(settings.haproxy) if settings.haproxy.exists() else shutil.which("haproxy")
    if not found:
        raise ClusterError("--workers > 1 needs HAProxy: run `make haproxy` (installs Debian's "
                           "'haproxy' package) or set HAPROXY=/path/to/haproxy")
    return found


# Messages one Rasa process is given at once over REST; more wait in HAProxy's queue (and
# go to whichever process frees a slot first) instead of piling up in Rasa's event loop,
# where they would also delay its answer to the health check.
RASA_SLOTS = 8


def _servers(name: str, ports: tuple[int, ...], extra: str = "", *, sticky: bool = False,
             fallback: bool = True) -> str:
    """A checked server per process and, with `fallback`, an unchecked backup twin of each.
    HAProxy uses backups only when every checked server is down; with `option allbackups`
    it balances over all of them. When every check fails at once the processes are more
    likely busy than dead, so the proxy keeps sending them messages rather than answering
    503; a twin of a dead one refuses the connection and the request is retried on another
    (retry-on conn-failure, option redispatch)."""
    lines = ["  option allbackups"] if fallback else []
    lines += [f"  server {name}{i} 127.0.0.1:{port} check{extra}"
              + (f" cookie {name}{i}" if sticky else "") for i, port in enumerate(ports)]
    if fallback:
        lines += [f"  server {name}{i}-fallback 127.0.0.1:{port} backup{extra}"
                  for i, port in enumerate(ports)]
    return "\n".join(lines)


DEFAULTS = """defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
  # A busy process is not a dead one: a check may take 10 s once connected. Unset, a check
  # has `inter` (1 s) in all, and under load Rasa processes slower than that to answer
  # /status were all taken out of rotation at once (503s). A dead process refuses the
  # connection at once and is taken out after two checks (~2 s).
  timeout check 10s
  default-server inter 1s fall 2 rise 2
  # How long a message waits for a free slot (maxconn) when every process is busy; unset,
  # `timeout connect` (2 s), after which HAProxy answers 503.
  timeout queue 30s
  option redispatch 1
  retries 3
  # A request to a process that died before answering is sent to another one; it waits
  # there for the conversation's lock (Rasa's ticket lifetime, rasa_stores) and is
  # handled. A ticket's action is idempotent per question, so a repeat opens no second one.
  retry-on conn-failure empty-response
  option http-buffer-request  # a retry resends the whole body (chat bodies are small)
  option forwardfor  # the app's per-client limits see the client, not HAProxy

"""


def haproxy_config(layout: Layout, rasa_token: str) -> str:
    """The whole HAProxy configuration. `rasa_token` is Rasa's HTTP API token: the health
    check asks /status, which answers 200 only once the model is loaded."""
    bind = f"[{layout.host}]" if ":" in layout.host else layout.host
    rasa_check = (f"  option httpchk\n  http-check send meth GET uri /status?token={rasa_token}\n"
                  "  http-check expect status 200\n")
    # No global maxconn: HAProxy derives it from the file-descriptor limit it may use.
    return f"""global

{DEFAULTS}frontend public_app
  bind {bind}:{layout.app_port}
  # The action endpoint is for Rasa only: reachable on the loopback frontend below.
  http-request deny deny_status 404 if {{ path /webhook }} || {{ path_beg /webhook/ }}
  default_backend app

frontend public_rasa
  bind {bind}:{layout.rasa_port}
  use_backend rasa_socketio if {{ path_beg /socket.io }}
  default_backend rasa

frontend actions
  bind 127.0.0.1:{layout.action_port}
  default_backend app

backend app
  balance roundrobin
{_servers("app", layout.app_ports)}

backend rasa
  balance roundrobin
  http-response set-header {SERVED_BY} %s
{rasa_check}{_servers("rasa", layout.rasa_ports, f" maxconn {RASA_SLOTS}")}

# socket.io: no slot limit (a websocket holds its slot for as long as the chat is open) and
# no fallback (the widget falls back to REST, balanced above, when no session opens).
backend rasa_socketio
  balance roundrobin
  cookie SUPPORTBOT_RASA insert indirect nocache httponly
{rasa_check}{_servers("rasa", layout.rasa_ports, sticky=True, fallback=False)}
"""


def write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")
    return path
