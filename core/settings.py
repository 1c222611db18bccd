"""The one settings object. Every value can come from the environment
(prefix ``SUPPORTBOT_``) or from a ``.env`` file in the working directory."""

from __future__ import annotations

from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.text import has_controls

LANGUAGES = ("it", "en", "other")
ROOT = Path(__file__).resolve().parent.parent  # relative paths in settings start here


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SUPPORTBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    var_dir: Path = Field(Path("var"), description="Where the SQLite file and the index live.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in var_dir.")

    # Languages the customers of this deployment write in; "auto" picks the embedder from them.
    languages: list[str] = ["it", "en"]
    # Embedding model: "auto", "minilm" (bundled English model), "use-multilingual" (bundled
    # multilingual USE), "hashing" (deterministic, for tests only), or any
    # sentence-transformers model name or local path.
    embedder: str = "auto"
    index_dir: Path | None = Field(None, description="Defaults to var_dir/index.")
    # Above this many question variants the FAISS index becomes IVF (approximate).
    approximate_index_threshold: int = 200_000
    ivf_nprobe: int = 24
    # How often a search checks the database for KB changes made by other processes.
    index_sync_interval_s: float = 0.2
    # Where a sentence-transformers model's forward pass runs: "auto" (ONNX Runtime when it
    # can, else torch), "onnx" or "torch".
    embed_backend: str = "auto"
    # Derived model files (the ONNX export) of embedders built outside a knowledge base, e.g.
    # by the benchmarks; empty means $XDG_CACHE_HOME/supportbot (~/.cache/supportbot).
    model_cache: Path | None = None
    hybrid_lexical: bool = True
    lexical_weight: float = 0.3

    # The decision, in the shop's terms: the highest acceptable share of wrong answers, and how
    # likely the right entry must be among clarify buttons for them to be offered.
    wrong_answer_budget: float = 0.02
    clarify_confidence: float = 0.8
    # Share of questions with no answer in the KB assumed before the log tells (then estimated).
    unanswerable_share_start: float = 0.5
    # Recalibrate in the background after this many KB changes, and at least this often.
    recalibrate_after_changes: int = Field(20, ge=1)
    recalibrate_every_h: float = Field(24.0, gt=0)
    # Score thresholds used until the KB is large enough for a confidence model (entries of a
    # single question): strict, so that only a near-copy of an FAQ question is answered; on
    # the development sets at one question per entry they kept wrong answers near 2 %.
    answer_threshold: float = 0.90
    answer_margin: float = 0.03
    clarify_threshold: float = 0.90

    # -- console ----------------------------------------------------------------------------
    # The staff accounts file; empty means var_dir/console_users.json.
    console_users: Path | None = None
    # Behind TLS: the console's session cookie is sent over HTTPS only (Secure).
    console_https_only: bool = False

    max_question_chars: int = 1000
    max_import_bytes: int = 20_000_000
    host: str = "127.0.0.1"
    port: int = 8000

    # -- conversation (Rasa) --------------------------------------------------------------
    rasa_port: int = 5005
    # What the browser uses to reach Rasa; empty means http://<host>:<rasa_port>.
    public_rasa_url: str = ""
    # The Python 3.10 virtualenv that holds Rasa 3.6 (created by `make setup`).
    rasa_venv: Path = Path(".venv-rasa")
    # Where trained Rasa models are cached by the hash of the project files.
    rasa_model_dir: Path | None = Field(None, description="Defaults to var_dir/rasa-models.")
    rasa_start_timeout_s: float = 180.0
    # Messages one conversation may send (limits' notation); Redis storage for replicas.
    chat_rate_limit: str = "20/minute"
    rate_limit_storage: str = "memory://"
    support_email: str = "assistenza@bottega-aurora.example"
    # -- conversation and tickets: a logged-in customer's identity --------------------------
    # HMAC-SHA256 key shared with the shop's backend, which signs a logged-in customer's
    # email in the chat's metadata; empty means no identity is trusted (always ask).
    shop_identity_secret: str = ""
    shop_name: str = "Bottega Aurora"
    # The shop's clock (an IANA name): a report's day, the weekly report's hour and the times
    # in operator mail are local to it. The SLA's business hours carry their own zone.
    time_zone: str = "Europe/Rome"
    # The shop's privacy policy, linked from the chat where the customer is asked for an
    # email address (the app serves no privacy page of its own). An absolute http(s) URL.
    privacy_url: str = "https://bottega-aurora.example/privacy"
    # -- escalation: SLA, mail out and in, learning ---------------------------------------
    # Signs ticket tokens in reply addresses; empty means a random key kept in var_dir.
    secret_key: str = ""
    # SLA policies, business hours, holidays and the escalation chain (YAML).
    sla_policies_file: Path = Path("data/sla_policies.yaml")
    scheduler_interval_s: float = 5.0
    # Outgoing mail. The default is the local sink that `supportbot run` starts.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "Bottega Aurora Assistenza <assistenza@bottega-aurora.example>"
    # Replies come back to this mailbox; tickets use plus-addresses (local+t12.sig@domain).
    reply_address: str = "assistenza@bottega-aurora.example"
    run_mail_sink: bool = True  # start the local SMTP sink (Maildir in var_dir/mail)
    # Incoming mail: the built-in SMTP receiver (port 0 disables it) and/or an IMAP mailbox.
    inbound_smtp_host: str = "127.0.0.1"
    inbound_smtp_port: int = 2525
    imap_host: str = ""
    imap_port: int = 993
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    imap_poll_interval_s: float = 30.0
    max_inbound_bytes: int = 30_000_000
    # Addresses allowed to answer tickets by email; others are quarantined.
    operators: list[str] = ["operatore@bottega-aurora.example", "backup@bottega-aurora.example",
                            "supervisore@bottega-aurora.example"]
    # Learned answers wait as drafts for approval instead of being published at once.
    review_learned_answers: bool = False
    # Distinct conversations (in 30 days) whose clarify picks or thumbs-up publish a customer's
    # question as a variant of its entry without an operator (knowledge.candidates).
    learn_variant_confirmations: int = Field(3, ge=1)
    # Interaction events older than this are deleted by `supportbot gdpr purge`.
    retention_months: int = Field(24, ge=1, le=240)
    # Outbox retries back off exponentially from this delay, up to max_attempts.
    outbox_retry_base_s: float = 30.0
    outbox_max_attempts: int = 8
    # -- escalation: the mail path (operator answers in, learning) -------------------------
    # The authserv-id of the server that receives the support mailbox's mail: only its
    # Authentication-Results (SPF/DKIM/DMARC) are honoured, a fail quarantines the reply.
    # Empty: only the topmost Authentication-Results header (the last server's) is read.
    inbound_authserv_id: str = ""
    # How often answered tickets not yet delivered and learned are taken up again.
    answer_resume_interval_s: float = Field(30.0, gt=0)
    # -- analytics: the weekly report ------------------------------------------------------
    # Who gets the weekly report (a JSON list); empty means no report is sent.
    marketing_emails: list[str] = []
    # When last week's report is queued: ISO weekday (1 = Monday) and hour, on time_zone's clock.
    weekly_report_weekday: int = Field(1, ge=1, le=7)
    weekly_report_hour: int = Field(8, ge=0, le=23)
    # How staff reach the app from outside, e.g. https://assistenza.example; mail links to
    # its pages (the dashboard) only when it is set.
    public_url: str = ""
    # -- Rasa boundary: what strangers may send to Rasa, who may call the actions ----------
    # Origins (scheme://host[:port]) whose pages may use the chat from a browser; empty means
    # the app's own origin and public_url's. ["*"] lets any site embed the chat.
    chat_allowed_origins: list[str] = []
    # The Rasa server reads no request body (HTTP or socket.io packet) larger than this.
    chat_max_body_bytes: int = Field(65_536, ge=4_096)
    # A chat message's metadata (JSON) may not be larger than this.
    chat_max_metadata_bytes: int = Field(8_192, ge=256)
    # The secret Rasa presents to the action endpoint; empty means one derived from
    # secret_key (so replicas sharing the key agree).
    action_endpoint_token: str = ""
    action_endpoint_max_bytes: int = Field(10_000_000, ge=65_536)
    # Calls to the action endpoint per client address and per conversation (limits' notation).
    action_endpoint_rate_limit: str = "6000/minute"
    action_endpoint_conversation_limit: str = "120/minute"
    # `supportbot run` restarts a Rasa server that died, waiting longer after each crash
    # (doubling from 1 s) up to this.
    rasa_restart_max_delay_s: float = Field(60.0, ge=1.0)
    # -- scale-out: several Rasa and app processes ------------------------------------------
    # Redis (redis:// or rediss://) for Rasa's lock store, so that two Rasa processes never
    # handle one conversation at once; empty means Rasa's in-memory lock (one process only).
    redis_url: str = ""
    # `supportbot run` starts this many Rasa and app processes behind a local HAProxy;
    # more than one needs PostgreSQL (database_url) and Redis (redis_url).
    workers: int = Field(1, ge=1, le=32)
    # The HAProxy executable for --workers > 1 (also read from HAPROXY, the Makefile's name);
    # when it does not exist, `haproxy` on the PATH.
    haproxy: Path = Field(Path("/usr/sbin/haproxy"),
                          validation_alias=AliasChoices("SUPPORTBOT_HAPROXY", "HAPROXY", "haproxy"))

    @field_validator("wrong_answer_budget")
    @classmethod
    def _budget(cls, value: float) -> float:
        if not 0.001 <= value <= 0.2:
            raise ValueError(f"the wrong-answer budget is a share between 0.001 (0.1 %) and "
                             f"0.2 (20 %); {value!r} is outside it")
        return value

    @field_validator("clarify_confidence", "unanswerable_share_start")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0.05 <= value <= 0.95:
            raise ValueError(f"expected a share between 0.05 and 0.95, not {value!r}")
        return value

    @field_validator("operators", "mail_from", "reply_address", "support_email")
    @classmethod
    def _mail_addresses(cls, value: str | list[str]) -> str | list[str]:
        """Every operator mail carries these: one with a line break or no address at all
        would make each of them fail, so it is refused at start."""
        for entry in [value] if isinstance(value, str) else value:
            address = parseaddr(entry)[1]
            if (has_controls(entry) or "@" not in address
                    or any(c.isspace() for c in address)):
                raise ValueError(f"not an email address: {entry!r}")
        return value

    @field_validator("privacy_url")
    @classmethod
    def _privacy_url(cls, value: str) -> str:
        """Shown to customers as a link: only a plain absolute web address, never a
        javascript: or relative one, nor one with spaces or control characters."""
        url = urlsplit(value.strip())
        if (url.scheme not in ("http", "https") or not url.hostname or len(value) > 2000
                or has_controls(value) or any(c.isspace() for c in value.strip())):
            raise ValueError(f"the privacy page must be an http(s) URL, not {value!r}")
        return value.strip()

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        """Every report and mail uses it: an unknown zone is refused at start, not per report."""
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (expected e.g. Europe/Rome)") from exc
        return value.strip()

    @field_validator("embed_backend")
    @classmethod
    def _embed_backend(cls, value: str) -> str:
        if value not in ("auto", "onnx", "torch"):
            raise ValueError(f"unknown embedding backend {value!r}: use auto, onnx or torch")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        url = urlsplit(value.strip())
        if value.strip() and (url.scheme not in ("redis", "rediss") or not url.hostname
                              or has_controls(value)):
            raise ValueError("the Redis URL must look like redis://host:6379/0 (or rediss://)")
        return value.strip()

    @field_validator("marketing_emails")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        addresses = [a.strip() for a in value if a.strip()]
        if bad := [a for a in addresses if "@" not in a or any(c.isspace() for c in a)]:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        return addresses

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'supportbot.db').resolve()}"

    @property
    def resolved_embedder(self) -> str:
        """MiniLM for English-only deployments, multilingual USE as soon as another language
        is served (measured in BENCHMARKS.md: MiniLM is weak on Italian, USE is not)."""
        if self.embedder != "auto":
            return self.embedder
        return "minilm" if set(self.languages) <= {"en"} else "use-multilingual"

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or self.var_dir / "index"

    @property
    def resolved_sla_policies_file(self) -> Path:
        path = self.sla_policies_file
        return path if path.is_absolute() else ROOT / path

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)  # ZoneInfo caches instances: cheap on hot paths

    @property
    def secret_key_file(self) -> Path:
        return self.var_dir / "secret.key"

    @property
    def resolved_secret_key(self) -> bytes:
        """The configured key, else the one `ensure_secret_key` kept in var_dir. Reading only:
        a missing file is an error of the start-up, not a reason to invent a key here."""
        if self.secret_key:
            return self.secret_key.encode()
        try:
            return self.secret_key_file.read_text(encoding="ascii").strip().encode()
        except FileNotFoundError as exc:
            raise RuntimeError(f"no secret_key set and no {self.secret_key_file}: "
                               "call ensure_secret_key(settings) at start") from exc

    @property
    def resolved_rasa_model_dir(self) -> Path:
        return self.rasa_model_dir or self.var_dir / "rasa-models"

    @property
    def resolved_public_rasa_url(self) -> str:
        return self.public_rasa_url or f"http://{self.host}:{self.rasa_port}"


def ensure_secret_key(settings: Settings) -> None:
    """Create the random key kept in var_dir when no secret_key is configured. Called once
    where the product starts, so that reading the settings never writes a file."""
    if settings.secret_key or settings.secret_key_file.exists():
        return
    import secrets

    settings.secret_key_file.parent.mkdir(parents=True, exist_ok=True)
    settings.secret_key_file.write_text(secrets.token_hex(32), encoding="ascii")
    settings.secret_key_file.chmod(0o600)


@lru_cache
def get_settings() -> Settings:
    return Settings()
