"""What keeps strangers out of the console beyond the password: the sign-in lock and the
server-side list of live sessions.

Both live in the rate-limit storage (`SUPPORTBOT_RATE_LIMIT_STORAGE`): in memory for one
process, or Redis, shared by every replica. A session is live while its id is there, so
logging out (or a restart of a single in-memory process) ends it at once, whatever the
signed cookie still says.

The lock counts failed passwords per (client address, account). After `failures` of them
the pair is locked, even for the right password (else guessing could go on), for one
minute, then two, four... capped at `max_lock`; the page says how long. A lock of one
pair never touches another, so an attacker elsewhere cannot lock the operator out of
their own address; the cap means even a shared address is never locked forever. Behind
a reverse proxy the app must see the real client address (uvicorn's --proxy-headers
with --forwarded-allow-ips), or every visitor shares the proxy's address. Attempts per
address alone are also capped (trying many accounts), counted before the password is
hashed so a flood costs no CPU.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable

from limits import parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

DAY = 24 * 3600


def _key(*parts: str) -> str:
    # Hashed: addresses and emails stay out of Redis keys, and odd characters cannot
    # collide with the separator.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class LoginLimiter:
    def __init__(self, storage: str | Storage = "memory://", *, failures: int = 5,
                 first_lock: int = 60, max_lock: int = 900, window: int = 900,
                 per_address: str = "60/minute", clock: Callable[[], float] = time.time
                 ) -> None:
        self._store = storage_from_string(storage) if isinstance(storage, str) else storage
        self._attempts = MovingWindowRateLimiter(self._store)
        self._per_address = parse(per_address)
        self.failures, self.first_lock, self.max_lock = failures, first_lock, max_lock
        self.window = window
        self.clock = clock

    def wait(self, address: str, email: str) -> int:
        """Seconds before this address may try this account again; 0 when it may now.
        Counts the attempt against the address's own cap."""
        if not self._attempts.hit(self._per_address, "console-login-addr", address):
            return 60
        until = self._store.get(f"login-lock/{_key(address, email)}")
        return max(0, math.ceil(until - self.clock())) if until else 0

    def failed(self, address: str, email: str) -> int:
        """Record a wrong password; the seconds of the lock it starts, or 0."""
        pair = _key(address, email)
        count = self._store.incr(f"login-fail/{pair}", self.window)
        if count < self.failures:
            return 0
        self._store.clear(f"login-fail/{pair}")
        locks = self._store.incr(f"login-locks/{pair}", DAY)  # doubles each lock in a day
        seconds = min(self.max_lock, self.first_lock * 2 ** min(locks - 1, 16))
        lock = f"login-lock/{pair}"
        self._store.clear(lock)
        self._store.incr(lock, seconds + 60, amount=int(self.clock() + seconds))
        return seconds

    def succeeded(self, address: str, email: str) -> None:
        pair = _key(address, email)
        for kind in ("login-fail", "login-locks", "login-lock"):
            self._store.clear(f"{kind}/{pair}")


def minutes(seconds: int) -> int:
    """A wait as whole minutes for people (never 0 while there is a wait)."""
    return max(1, math.ceil(seconds / 60))


class SessionRegistry:
    """Ids of the console sessions that are live; the cookie carries the id."""

    def __init__(self, storage: str | Storage, lifetime: int) -> None:
        self._store = storage_from_string(storage) if isinstance(storage, str) else storage
        self.lifetime = lifetime

    def open(self) -> str:
        session_id = secrets.token_urlsafe(32)
        self._store.incr(f"console-session/{_key(session_id)}", self.lifetime)
        return session_id

    def alive(self, session_id: object) -> bool:
        return (isinstance(session_id, str) and 0 < len(session_id) <= 128
                and self._store.get(f"console-session/{_key(session_id)}") > 0)

    def close(self, session_id: object) -> None:
        if isinstance(session_id, str) and session_id:
            self._store.clear(f"console-session/{_key(session_id)}")
