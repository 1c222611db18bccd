"""Fault injection for the crash tests.

The escalation loop promises that a process killed at any moment loses nothing and sends
or learns nothing twice. A SIGKILL cannot be caught, so the only honest way to test that
promise is to really kill the process at the moments that matter (after the ticket row is
written, around the SMTP hand-over, while a reply is processed) and start it again.
`crash_point` marks those moments; it does nothing unless ``SUPPORTBOT_CRASH_AT`` names
it, which only tests set.
"""

from __future__ import annotations

import os
import signal
from functools import cache

ENV = "SUPPORTBOT_CRASH_AT"


@cache
def _target() -> str:
    # Read once: the calls sit on hot paths (every mail sent), an env lookup each time is waste.
    return os.environ.get(ENV, "")


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL (no cleanup, no commit, no atexit) when `name` is
    the configured crash point."""
    if _target() == name:
        os.kill(os.getpid(), signal.SIGKILL)
