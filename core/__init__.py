"""Settings, database engine and session scope, clock, decision kinds: the ground every
package stands on."""

from core.clock import as_utc, utcnow
from core.db import Base, dispose_all, get_engine, session_scope, string_enum
from core.decisions import DecisionKind
from core.errors import SupportBotError
from core.settings import LANGUAGES, Settings, ensure_secret_key, get_settings

__all__ = [
    "LANGUAGES",
    "Base",
    "DecisionKind",
    "Settings",
    "SupportBotError",
    "as_utc",
    "dispose_all",
    "ensure_secret_key",
    "get_engine",
    "get_settings",
    "session_scope",
    "string_enum",
    "utcnow",
]
