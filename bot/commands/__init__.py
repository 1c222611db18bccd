"""The `supportbot` command line: the typer app (`main`) and its command groups."""
