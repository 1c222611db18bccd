"""The Rasa image's one process: Rasa's server with the command line `supportbot run` gives
it (bot.conversation.rasa_runtime.RasaServer.command), built from the container's
environment. Runs on the image's Python 3.10 with the standard library only: the product's
settings object does not exist here, so the Compose file passes each value Rasa needs.

`python serve.py [MODEL]`: this file lies in the Rasa project folder, beside
endpoints.yml (deploy/rasa.Dockerfile copies both there)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent
MODEL = Path("/opt/rasa-models/supportbot.tar.gz")  # trained when the image is built
ORIGINS_ENV = "SUPPORTBOT_CHAT_ALLOWED_ORIGINS"
PORT_ENV = "SUPPORTBOT_RASA_PORT"


def rasa_arguments(environ: dict[str, str], *, project: Path = PROJECT,
                   model: Path = MODEL) -> list[str]:
    """`rasa run`'s arguments. The browser origins are required: Rasa's CORS list and the
    channels' origin check (boundary.limits) must name the shop's site."""
    try:
        origins = json.loads(environ.get(ORIGINS_ENV, ""))
    except json.JSONDecodeError:
        origins = None
    if not isinstance(origins, list) or not origins or not all(
            isinstance(origin, str) and origin for origin in origins):
        raise SystemExit(f"{ORIGINS_ENV} must be a JSON list of the origins whose pages use "
                         'the chat, e.g. ["https://shop.example"]')
    return ["run", "--model", str(model), "--enable-api", "--cors", *origins,
            "--interface", "0.0.0.0", "--port", environ.get(PORT_ENV, "5005"),
            "--credentials", str(project / "credentials.yml"),
            "--endpoints", str(project / "endpoints.yml")]


def main() -> None:
    model = Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL
    sys.argv = [sys.argv[0], *rasa_arguments(dict(os.environ), model=model)]
    from boundary.launch import main as launch  # the API token from the environment

    launch()


if __name__ == "__main__":
    main()
