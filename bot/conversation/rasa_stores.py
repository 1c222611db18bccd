"""Where Rasa keeps conversations and takes its per-conversation locks, as Rasa documents
them for several replicas: the SQL tracker store on the product's PostgreSQL (in a schema of
its own) and the Redis lock store; Redis also carries the socket.io channel's emits
between processes. On SQLite and without Redis: a SQLite tracker file and Rasa's in-memory
lock, which is right for one process only.

No secret is written into endpoints.yml: Rasa expands ``${VAR}`` when it reads the file,
and the values travel in the Rasa process's environment (readable by its owner only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core import Settings, SupportBotError

# Rasa's tables (`events`, created by Rasa's SQLAlchemy 1.4) live in this schema of the
# product's database: they never meet the product's tables, and one backup holds both.
RASA_SCHEMA = "rasa"
TRACKER_URL_ENV = "SUPPORTBOT_RASA_TRACKER_URL"
REDIS_PASSWORD_ENV = "SUPPORTBOT_RASA_REDIS_PASSWORD"
# The whole URL, for the socket.io channel's Redis client manager
# (rasa_project/boundary/socketio_queue.py): emits reach clients on any Rasa process.
REDIS_URL_ENV = "SUPPORTBOT_RASA_REDIS_URL"
# Rasa's SQL tracker store without its per-message row count (rasa_project/serving).
TRACKER_STORE_TYPE = "serving.tracker_store.RememberingSQLTrackerStore"
LOCK_KEY_PREFIX = "supportbot"  # Rasa wants it alphanumeric
LOCK_LIFETIME_S = 10
# A Redis that stops answering fails a message after this long instead of blocking Rasa
# (its lock store uses the synchronous client inside the event loop).
REDIS_TIMEOUT_S = 3.0


class StoreError(SupportBotError):
    """Redis or the tracker database cannot be used."""


@dataclass(frozen=True)
class RedisTarget:
    host: str
    port: int
    db: int
    username: str
    password: str
    ssl: bool

    @property
    def where(self) -> str:
        """For messages: never the password."""
        return f"{self.host}:{self.port}/{self.db}"


def redis_target(url: str) -> RedisTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise StoreError("SUPPORTBOT_REDIS_URL must look like redis://host:6379/0")
    try:
        port = parts.port or 6379
        db = int(parts.path.strip("/") or 0)
    except ValueError:
        raise StoreError("SUPPORTBOT_REDIS_URL: the port and the database must be numbers "
                         "(redis://host:6379/0)") from None
    return RedisTarget(parts.hostname, port, db, unquote(parts.username or ""),
                       unquote(parts.password or ""), parts.scheme == "rediss")


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def rasa_tracker_url(database_url: str) -> str:
    """The product's PostgreSQL URL in the terms of Rasa's environment (SQLAlchemy 1.4 with
    psycopg2; the product speaks psycopg 3), password included: environment only."""
    url = make_url(database_url).set(drivername="postgresql+psycopg2")
    return url.render_as_string(hide_password=False)


def store_lines(settings: Settings, tracker_db: Path | None) -> list[str]:
    """endpoints.yml's tracker_store and lock_store sections. `tracker_db`: conversations
    are kept (None: Rasa's in-memory tracker, for tests); on PostgreSQL they go there."""
    lines: list[str] = []
    if tracker_db is not None and is_postgres(settings.resolved_database_url):
        # Rasa passes `url` as the store's host, and uses a host holding a whole URL as is.
        lines += ["tracker_store:", f"  type: {TRACKER_STORE_TYPE}", "  dialect: postgresql",
                  f"  url: ${{{TRACKER_URL_ENV}}}"]
    elif tracker_db is not None:
        lines += ["tracker_store:", f"  type: {TRACKER_STORE_TYPE}", "  dialect: sqlite",
                  f"  db: {tracker_db}"]
    if settings.redis_url:
        redis = redis_target(settings.redis_url)
        lines += ["lock_store:", "  type: redis", f"  url: {redis.host}", f"  port: {redis.port}",
                  f"  db: {redis.db}", f"  key_prefix: {LOCK_KEY_PREFIX}",
                  f"  socket_timeout: {REDIS_TIMEOUT_S}"]
        if redis.username:
            # Decoded from the URL: quoted, so "#", ":" or a line break stay in the name.
            lines.append(f"  username: {json.dumps(redis.username)}")
        if redis.password:
            lines.append(f"  password: ${{{REDIS_PASSWORD_ENV}}}")
        if redis.ssl:
            lines.append("  use_ssl: true")
    return lines


def store_environment(settings: Settings, tracker_db: Path | None) -> dict[str, str]:
    """The secrets endpoints.yml refers to, and the schema Rasa's tracker store uses."""
    env: dict[str, str] = {}
    if tracker_db is not None and is_postgres(settings.resolved_database_url):
        env[TRACKER_URL_ENV] = rasa_tracker_url(settings.resolved_database_url)
        env["POSTGRESQL_SCHEMA"] = RASA_SCHEMA  # Rasa sets search_path to it
        # Rasa's default pool (50 + 100 overflow per process) would exhaust a small server.
        env["SQL_POOL_SIZE"], env["SQL_MAX_OVERFLOW"] = "5", "10"
    if settings.redis_url:
        # A process killed while handling a message leaves its turn in Redis: the others
        # wait this long for it (Rasa's default is 60 s), so it bounds the stall a dead
        # process causes; messages are handled in well under a second.
        env["TICKET_LOCK_LIFETIME"] = str(LOCK_LIFETIME_S)
        env[REDIS_URL_ENV] = settings.redis_url
        if password := redis_target(settings.redis_url).password:
            env[REDIS_PASSWORD_ENV] = password
    return env


def check_redis(url: str, timeout: float = 2.0) -> None:
    """A short connection attempt, so that a Redis that is down is said at start, in one
    line, instead of as a Rasa traceback minutes later."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    target = redis_target(url)
    client = redis.Redis(host=target.host, port=target.port, db=target.db,
                         username=target.username or None, password=target.password or None,
                         ssl=target.ssl, socket_connect_timeout=timeout, socket_timeout=timeout,
                         retry=Retry(NoBackoff(), 0))  # one attempt: the default retries ~9 s
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StoreError(f"Redis at {target.where} (SUPPORTBOT_REDIS_URL) is not reachable: "
                         f"{reason}. Start Redis, or unset SUPPORTBOT_REDIS_URL to run a "
                         "single process with Rasa's in-memory lock.") from None
    finally:
        client.close()


def ensure_tracker_schema(database_url: str) -> None:
    """Rasa only uses a schema that exists: create it (idempotent, safe for replicas
    starting together)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {RASA_SCHEMA}"))
    except sa.exc.IntegrityError:
        pass  # another replica created it at the same moment
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"cannot create the schema {RASA_SCHEMA!r} for Rasa's conversations "
                         f"in the database: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def prepare_stores(settings: Settings, tracker_db: Path | None) -> None:
    """Before a Rasa process starts: Redis answers, the tracker schema exists."""
    if settings.redis_url:
        check_redis(settings.redis_url)
    if tracker_db is not None and is_postgres(settings.resolved_database_url):
        ensure_tracker_schema(settings.resolved_database_url)
