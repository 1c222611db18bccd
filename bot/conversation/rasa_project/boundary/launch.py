"""`python -m boundary.launch run ...`: Rasa's own command line, with the HTTP API token
taken from the environment instead of `--auth-token` (a command line is readable by every
local user through `ps`; a process's environment only by its owner). The Sanic request
size caps come in the same environment (`RasaServer.environment`). Before Rasa starts, the
per-message work it repeats needlessly is set to be done once (`serving`)."""

from __future__ import annotations

import os
import sys

TOKEN_ENV = "SUPPORTBOT_RASA_AUTH_TOKEN"


def main() -> None:
    token = os.environ.pop(TOKEN_ENV, "")  # not inherited by anything Rasa starts
    if not token:
        sys.exit(f"{TOKEN_ENV} is not set: the Rasa HTTP API would be open to anyone")
    # Rasa parses sys.argv itself; /proc/<pid>/cmdline keeps the original, token-free one.
    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    from rasa.__main__ import main as rasa_main
    from serving.remote_action import install

    install()
    rasa_main()


if __name__ == "__main__":
    main()
