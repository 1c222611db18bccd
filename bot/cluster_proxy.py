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


def haproxy_config(layout: Layout, rasa_token: str) -> str:
    """The whole HAProxy configuration. `rasa_token` is Rasa's HTTP API token: the health
    check asks /status, which answers 200 only once the model is loaded."""
    bind = f"[{layout.host}]" if ":" in layout.host else layout.host
    apps = "\n".join(f"  server app{i} 127.0.0.1:{port} check"
                     for i, port in enumerate(layout.app_ports))
    rasas = "\n".join(f"  server rasa{i} 127.0.0.1:{port} check"
                      for i, port in enumerate(layout.rasa_ports))
    sticky = "\n".join(f"  server rasa{i} 127.0.0.1:{port} check cookie rasa{i}"
                       for i, port in enumerate(layout.rasa_ports))
    rasa_check = (f"  option httpchk\n  http-check send meth GET uri /status?token={rasa_token}\n"
                  "  http-check expect status 200\n")
    # No global maxconn: HAProxy derives it from the file-descriptor limit it may use.
    return f"""global

defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
  option redispatch 1
  retries 3
  # A request to a process that died before answering is sent to another one; it waits
  # there for the conversation's lock (Rasa's ticket lifetime, rasa_stores) and is
  # handled. A ticket's action is idempotent per question, so a repeat opens no second one.
  retry-on conn-failure empty-response
  option http-buffer-request  # a retry resends the whole body (chat bodies are small)
  default-server inter 1s fall 2 rise 2
  option forwardfor  # the app's per-client limits see the client, not HAProxy

frontend public_app
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
{apps}

backend rasa
  balance roundrobin
  http-response set-header {SERVED_BY} %s
{rasa_check}{rasas}

backend rasa_socketio
  balance roundrobin
  cookie SUPPORTBOT_RASA insert indirect nocache httponly
{rasa_check}{sticky}
"""


def write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")
    return path
