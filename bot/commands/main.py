"""The `supportbot` command line: the commands that run the product (`run`, `chat`,
`console-user`) and the registration, in help order, of the command groups kept beside it
(`kb`, `reports`, `gdpr`, `catalogue`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from bot.commands.catalogue import catalogue_app
from bot.commands.common import DEMO_KB, fail
from bot.commands.gdpr import gdpr_app
from bot.commands.kb import eval_command, kb_app, replay_command
from bot.commands.reports import (
    analytics_app,
    demo_traffic,
    export_conversations,
    report,
    weekly_report,
)
from core import SupportBotError, get_settings

app = typer.Typer(help="Self-learning customer-support chatbot.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(kb_app, name="kb")
app.add_typer(gdpr_app, name="gdpr")
app.add_typer(analytics_app, name="analytics")
app.add_typer(catalogue_app, name="catalogue")
app.command("eval")(eval_command)
app.command("replay")(replay_command)


@app.command("run")
def run(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
    rasa_port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=32, help="Rasa and app processes behind a local HAProxy (more than one "
        "needs PostgreSQL and Redis); default SUPPORTBOT_WORKERS, 1.")] = None,
) -> None:
    """Start the product: database, demo knowledge base, Rasa server, web app and chat."""
    from bot.server import serve

    if (count := workers or get_settings().workers) > 1:
        from bot.cluster import serve_cluster

        serve_cluster(host=host, port=port, rasa_port=rasa_port, workers=count, demo_kb=DEMO_KB)
        return
    serve(host=host, port=port, rasa_port=rasa_port, demo_kb=DEMO_KB)


@app.command("chat")
def chat(
    url: Annotated[str | None, typer.Option(
        help="Rasa server; defaults to the configured one.")] = None,
    sender: Annotated[str | None, typer.Option(
        help="Conversation id (default: a new one).")] = None,
) -> None:
    """Talk to the running bot from the terminal (empty line or Ctrl-D ends)."""
    from bot.conversation.terminal_chat import chat_loop

    settings = get_settings()
    chat_loop(url or f"http://{settings.host}:{settings.rasa_port}", sender)


@app.command("console-user")
def console_user(
    email: Annotated[str, typer.Argument(help="The operator's email: their login.")],
    role: Annotated[str, typer.Option(help="Role in the operator console.")] = "operator",
    password: Annotated[str, typer.Option(prompt=True, confirmation_prompt=True, hide_input=True,
                                          help="Asked for when not given.")] = ...,
) -> None:
    """Create an operator console account, or set a new password for an existing one."""
    from bot.console.auth import AccountError, set_account, users_file

    path = users_file(get_settings())
    try:
        account = set_account(path, email, password, role)
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"console account {account.email} ({account.role}) saved in {path}")


for name, command in (("report", report), ("weekly-report", weekly_report),
                      ("export-conversations", export_conversations),
                      ("demo-traffic", demo_traffic)):
    app.command(name)(command)


def main() -> None:
    """Entry point: expected errors become one red line and exit code 2, never a traceback."""
    try:
        app()  # standalone: click reports usage errors and exits with their code
    except SupportBotError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except ValidationError as exc:  # a setting (environment or .env) the product refuses
        for problem in exc.errors():
            name = "SUPPORTBOT_" + "_".join(map(str, problem["loc"])).upper()
            typer.secho(f"error: setting {name} ({'.'.join(map(str, problem['loc']))}): "
                        f"{problem['msg']}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
