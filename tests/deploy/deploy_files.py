"""Reading the container layout's files as Docker Compose, Docker and HAProxy read them, for
the checks that run without a container daemon: Compose's variable interpolation, a
Dockerfile's instructions, HAProxy's sections."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"
HAPROXY_CFG = DEPLOY / "haproxy.cfg"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, and $$ for "$".
_VARIABLE = re.compile(
    r"\$(?:(?P<dollar>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


class MissingVariable(KeyError):
    """A variable the Compose file requires (or uses without a default) is not set."""


def interpolate(value, env: dict[str, str]):
    """Compose's interpolation of every string in a parsed file. Unlike Compose, an unset
    variable without a default is an error here: the file must name a default for it."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match["dollar"]:
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        if op == ":-":
            return current or arg
        if op == "-":
            return arg if current is None else current
        if current is None or (op == ":?" and not current):
            raise MissingVariable(f"{name}: {arg or 'used without a default'}")
        return current

    return _VARIABLE.sub(substitute, value)


def variables(value) -> set[str]:
    """Every variable a parsed Compose file interpolates."""
    if isinstance(value, dict):
        return set().union(*(variables(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(variables(v) for v in value)) if value else set()
    if isinstance(value, str):
        return {m["name"] for m in _VARIABLE.finditer(value) if m["name"]}
    return set()


def read_env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def raw_compose() -> dict:
    """The Compose file as YAML reads it (anchors and `<<` merges applied)."""
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def compose(env: dict[str, str]) -> dict:
    return interpolate(raw_compose(), env)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def words(self) -> list[str]:
        """Exec form (a JSON array) or shell words."""
        text = self.arguments.strip()
        if text.startswith("["):
            return json.loads(text)
        return shlex.split(text)


def dockerfile(path: Path) -> list[Instruction]:
    """The instructions, with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def haproxy_sections(path: Path = HAPROXY_CFG) -> dict[str, list[str]]:
    """Section header (e.g. "backend app") -> its lines, comments dropped."""
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            current = line.strip()
            sections[current] = []
        else:
            sections[current].append(line.strip())
    return sections


def bound_port(lines: list[str]) -> int:
    (bind,) = [line for line in lines if line.startswith("bind ")]
    return int(bind.rsplit(":", 1)[1])
