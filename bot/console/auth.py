"""Operator accounts, sign-in and the console's session: who may use the console.

Accounts live in a small JSON (or YAML) file, not a table: a handful of operators,
edited with `supportbot console-user`. Its path is `SUPPORTBOT_CONSOLE_USERS`, by
default `<var_dir>/console_users.json`, and it maps each email to
``{"password_hash": "<argon2id>", "role": "operator"}``. The file is read again when
it changes, so removing an account (or changing its role) takes effect at the next click.

Roles: an `operator` works the ticket queue, the knowledge base and the mail, and may read
the dashboard; `marketing` reads the dashboard only: tickets hold customers' emails and
conversations, which marketing has no need to see.

The session is Starlette's signed cookie. It holds the operator's email, the CSRF
token that every POST form must echo in a hidden field, and a session id that must be
live on the server (`bot.console.guard.SessionRegistry`): logging out ends it there, so a
copied cookie opens nothing afterwards.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from filelock import FileLock

from bot.console.errors import CsrfFailed, Forbidden, LoginRequired
from bot.console.guard import SessionRegistry
from core import Settings, SupportBotError

DEMO_EMAIL = "operatore@bottega-aurora.example"
DEMO_MARKETING_EMAIL = "marketing@bottega-aurora.example"
ROLES = ("operator", "marketing")
CONSOLE_ROLES = ("operator",)  # the ticket queue, knowledge base and mail
DASHBOARD_ROLES = ("operator", "marketing")
MIN_PASSWORD, MAX_PASSWORD = 8, 1024  # the cap keeps a huge form field from costing CPU
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class AccountError(SupportBotError):
    """The accounts file or an account cannot be used as asked."""


@dataclass(frozen=True)
class Account:
    email: str
    password_hash: str
    role: str


def users_file(settings: Settings) -> Path:
    return settings.console_users or settings.var_dir / "console_users.json"


def normalise_email(text: str) -> str:
    return text.strip().lower()


# -- the accounts file --------------------------------------------------------------------
_cache: dict[Path, tuple[tuple[int, int], dict[str, Account]]] = {}


def load_accounts(path: Path) -> dict[str, Account]:
    """Every account in the file (none when it does not exist); cached until it changes."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    accounts = _parse(path)
    _cache[path] = (stamp, accounts)
    return accounts


def _parse(path: Path) -> dict[str, Account]:
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if _is_yaml(path) else json.loads(text or "{}")
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise AccountError(f"{path}: the console accounts file cannot be read ({exc})") from exc
    if not isinstance(data, dict):
        raise AccountError(f"{path}: expected a mapping of email -> {{password_hash, role}}")
    accounts = {}
    for email, fields in data.items():
        if not isinstance(fields, dict) or not isinstance(fields.get("password_hash"), str):
            raise AccountError(f"{path}: account {email!r} has no password_hash")
        key = normalise_email(str(email))
        accounts[key] = Account(key, fields["password_hash"], str(fields.get("role", "operator")))
    return accounts


def _is_yaml(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def _serialise(accounts: dict[str, Account], path: Path) -> str:
    data = {a.email: {"password_hash": a.password_hash, "role": a.role}
            for a in sorted(accounts.values(), key=lambda a: a.email)}
    if _is_yaml(path):
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _check(email: str, password: str, role: str) -> None:
    if not _EMAIL.fullmatch(email):
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (use one of {', '.join(ROLES)})")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def _temporary(path: Path, text: str) -> Path:
    """The new content in a private file beside `path`, ready to be moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    # mkstemp makes the file 0600: the hashes stay private to the product's user.
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    return Path(name)


def set_account(path: Path, email: str, password: str, role: str = "operator") -> Account:
    """Create or replace one account; the rest of the file is kept."""
    email = normalise_email(email)
    _check(email, password, role)
    account = Account(email, _hasher.hash(password), role)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):  # two CLI runs must not drop each other's account
        accounts = {**load_accounts(path), email: account}
        os.replace(_temporary(path, _serialise(accounts, path)), path)
    return account


def ensure_demo_account(settings: Settings) -> dict[str, str] | None:
    """The first run's accounts: when there is no accounts file yet, create one with an
    operator (`DEMO_EMAIL`) and a marketing account (`DEMO_MARKETING_EMAIL`), each with a
    random password, and return {email: password} so that they can be shown once. None
    when the file already exists (nothing is changed)."""
    path = users_file(settings)
    if path.exists():
        return None
    passwords = {email: secrets.token_urlsafe(12) for email in (DEMO_EMAIL, DEMO_MARKETING_EMAIL)}
    accounts = {DEMO_EMAIL: Account(DEMO_EMAIL, _hasher.hash(passwords[DEMO_EMAIL]), "operator"),
                DEMO_MARKETING_EMAIL: Account(DEMO_MARKETING_EMAIL,
                                              _hasher.hash(passwords[DEMO_MARKETING_EMAIL]),
                                              "marketing")}
    staged = _temporary(path, _serialise(accounts, path))
    try:
        os.link(staged, path)  # atomic and exclusive: a concurrent start cannot overwrite it
    except FileExistsError:
        return None
    finally:
        staged.unlink()
    return passwords


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def authenticate(path: Path, email: str, password: str) -> Account | None:
    """The account when the password is right. An unknown email costs the same hash
    check, so the response time does not tell which emails exist."""
    account = load_accounts(path).get(normalise_email(email))
    if len(password) > MAX_PASSWORD:
        return None
    try:
        _hasher.verify(account.password_hash if account else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return account


# -- the session --------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: object) -> None:
    expected = request.session.get("csrf")
    if not (isinstance(expected, str) and expected and isinstance(submitted, str)
            and hmac.compare_digest(expected.encode(), submitted.encode())):
        raise CsrfFailed()


def _sessions(request: Request) -> SessionRegistry:
    return request.app.state.console.sessions


def sign_in(request: Request, account: Account) -> None:
    # A fresh session (and CSRF token) at login: nothing planted before it survives, and
    # the browser's previous session (another operator's, on a shared computer) ends.
    sign_out(request)
    request.session.update(operator=account.email, csrf=secrets.token_urlsafe(32),
                           sid=_sessions(request).open())


def sign_out(request: Request) -> None:
    _sessions(request).close(request.session.get("sid"))
    request.session.clear()


def signed_in_account(request: Request) -> Account | None:
    """The account of this session while the session is live on the server and the
    account still exists (its role as the file says now)."""
    email = request.session.get("operator")
    if not isinstance(email, str) or not _sessions(request).alive(request.session.get("sid")):
        return None
    return load_accounts(request.app.state.console.users_path).get(email)


def signed_in(request: Request) -> str | None:
    account = signed_in_account(request)
    return account.email if account else None


def home_of(account: Account) -> str:
    """Where an account lands after signing in."""
    return "/console" if account.role in CONSOLE_ROLES else "/dashboard"


def _require(request: Request, roles: tuple[str, ...], home: str) -> str:
    account = signed_in_account(request)
    if account is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path if request.method == "GET" else home)
    if account.role not in roles:
        raise Forbidden(home_of(account))
    return account.email


def current_operator(request: Request) -> str:
    """Dependency of every console page: the operator's email, or off to the login form;
    a signed-in account of another role gets a page pointing to its own area."""
    return _require(request, CONSOLE_ROLES, "/console")


def current_dashboard_user(request: Request) -> str:
    """Dependency of every dashboard page (marketing and operators)."""
    return _require(request, DASHBOARD_ROLES, "/dashboard")
