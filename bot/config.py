"""Settings: `config.yml` (non-secret), overridden by environment variables.

Environment overrides use the prefix `SIGNPOST_` and `__` between nested keys, for example
`SIGNPOST_STORAGE__URL`. Secrets are read only from the environment (`SIGNPOST_SECRET_KEY`,
`TELEGRAM_BOT_TOKEN`, `DISCORD_BOT_TOKEN`); a secret written into the file is refused.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

MIN_SECRET_BYTES = 32


class ConfigError(Exception):
    """A bad configuration: the message names the file (or variable), the key and the reason."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(_Section):
    url: str | None = None  # None: SQLite in the data folder
    echo: bool = False
    # every database call (connect, wait for a pooled connection, each statement) gives up
    # after this long, so a hung database never holds back a crisis reply
    timeout_seconds: float = Field(2, gt=0, le=60)


class RetentionSettings(_Section):
    conversation_days: int = Field(30, ge=1, le=365)
    case_days: int = Field(90, ge=1, le=730)


class EscalationSettings(_Section):
    reping_after_minutes: float = Field(10, gt=0)
    unavailable_after_minutes: float = Field(20, gt=0)
    excerpt_chars: int = Field(300, ge=20, le=2000)
    tick_seconds: float = Field(15, gt=0)
    # in a watched group, the bot's brief public reply to one member is not repeated for this
    # long after their last case there (the case itself is never doubled while it is open)
    group_cooldown_minutes: float = Field(30, ge=0, le=1440)


class LimitSettings(_Section):
    """Per-person message limit, counted in the database so every worker sees the same count."""

    enabled: bool = True
    max_messages: int = Field(20, ge=1, le=10_000)
    window_seconds: int = Field(60, ge=1, le=86_400)


class NluSettings(_Section):
    backend: Literal["builtin", "rasa"] = "builtin"
    rasa_url: str = "http://127.0.0.1:5005"
    cache_dir: Path | None = None


class MetricsSettings(_Section):
    """`metrics:` Prometheus `/metrics` plus `/healthz` and `/readyz` on one port, served by
    `signpost run` with a platform (never by the terminal chat). null: off."""

    port: int | None = Field(None, ge=1, le=65535)
    host: str = "127.0.0.1"  # 0.0.0.0 inside a container so the scraper can reach it


class LoggingSettings(_Section):
    """`logging:` text lines for a terminal, or one JSON object per line for a log collector."""

    format: Literal["text", "json"] = "text"


class FollowUpSettings(_Section):
    """`follow_up:` after a moderator resolves a case, ask whether the person wants one check-in
    message; only a "yes" schedules it."""

    enabled: bool = True
    delay_hours: float = Field(24, gt=0, le=24 * 14)


class ReportSettings(_Section):
    """`report:` the weekly moderators' report posted in each platform's moderators' room."""

    weekly: bool = False
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    hour: int = Field(9, ge=0, le=23)  # UTC


TELEGRAM_API = "https://api.telegram.org"


class TelegramSettings(_Section):
    """`telegram:` in config.yml. The token and webhook secret come only from the environment
    (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_WEBHOOK_SECRET`)."""

    token: SecretStr | None = None
    api_base_url: str = TELEGRAM_API
    moderator_chat_id: int | None = None
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout: float = Field(30, ge=0, le=60)  # seconds one getUpdates long poll may wait
    # webhook mode: Telegram posts to webhook_url; each worker listens on listen:port/path
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_path: str = "telegram"
    webhook_secret_token: SecretStr | None = None
    # how long a "is this person in the moderators' group?" answer is trusted
    moderator_cache_seconds: float = Field(60, ge=0, le=3600)
    # sending a reply: attempts before giving up on 5xx/network errors (429 waits don't count)
    send_attempts: int = Field(6, ge=1, le=20)
    # how long to wait for Telegram's answer to a send. Telegram may already have posted the
    # message when an answer is late, and a retry would post it twice, so this is well above
    # its worst case rather than the library's 5 s
    answer_timeout: float = Field(30, ge=5, le=300)

    @property
    def enabled(self) -> bool:
        return self.token is not None and bool(self.token.get_secret_value().strip())

    @property
    def bot_api_url(self) -> str:
        """What python-telegram-bot calls `base_url`: requests go to `<this><token>/<method>`."""
        return f"{self.api_base_url}/bot"

    @property
    def file_api_url(self) -> str:
        return f"{self.api_base_url}/file/bot"

    @field_validator("api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _bare_path(cls, value: str) -> str:
        return value.strip().strip("/")

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSettings:
        if self.mode == "webhook" and not self.webhook_url:
            raise ValueError("mode webhook needs webhook_url (the public HTTPS address)")
        return self


class DiscordSettings(_Section):
    """`discord:` in config.yml. The token comes only from the environment (`DISCORD_BOT_TOKEN`)."""

    token: SecretStr | None = None

    # the text channel where cases are pinged; each case gets a thread on its ping message
    moderator_channel_id: int | None = None
    # when set, only members with this role may claim/resolve, and re-pings mention it
    moderator_role_id: int | None = None
    # sending a reply: attempts before giving up on 5xx/network errors (discord.py waits out 429s)
    send_attempts: int = Field(6, ge=1, le=20)
    # Discord's client-side shard count; None lets Discord recommend one (AutoShardedClient)
    shard_count: int | None = Field(None, ge=1)

    @property
    def enabled(self) -> bool:
        return self.token is not None and bool(self.token.get_secret_value().strip())


class Settings(_Section):
    locale: str = "en"
    default_region: str | None = None
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "signpost")
    content_dir: Path | None = None
    storage: StorageSettings = StorageSettings()
    retention: RetentionSettings = RetentionSettings()
    escalation: EscalationSettings = EscalationSettings()
    limits: LimitSettings = LimitSettings()
    nlu: NluSettings = NluSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    metrics: MetricsSettings = MetricsSettings()
    logging: LoggingSettings = LoggingSettings()
    report: ReportSettings = ReportSettings()
    follow_up: FollowUpSettings = FollowUpSettings()
    max_message_chars: int = Field(4000, ge=100, le=100_000)
    # secrets: environment only
    secret_key: SecretStr | None = None

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # a short key lets anyone holding the database reverse pseudonymous ids by brute force
        if value is not None and len(value.get_secret_value().encode("utf-8")) < MIN_SECRET_BYTES:
            raise ValueError(
                f"must be at least {MIN_SECRET_BYTES} bytes (for example: openssl rand -hex 32)"
            )
        return value

    @field_validator("default_region")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @property
    def database_url(self) -> str:
        return self.storage.url or f"sqlite+aiosqlite:///{self.data_dir / 'signpost.db'}"

    @property
    def cache_dir(self) -> Path:
        return self.nlu.cache_dir or Path.home() / ".cache" / "signpost" / "models"

    @property
    def platforms_configured(self) -> list[str]:
        found = []
        if self.telegram.token is not None:
            found.append("telegram")
        if self.discord.token is not None:
            found.append("discord")
        return found

    def secret_bytes(self) -> bytes:
        """The key for pseudonymous ids and button signatures.

        Without SIGNPOST_SECRET_KEY (a terminal chat) a random one is made for this process:
        ids then only live as long as the process, which is what a local trial wants.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode("utf-8")
        return secrets.token_bytes(32)


_SECRET_KEYS = {"secret_key"}
_ENV_SECRETS = {
    "SIGNPOST_SECRET_KEY": ("secret_key",),
    "DISCORD_BOT_TOKEN": ("discord", "token"),
    "TELEGRAM_BOT_TOKEN": ("telegram", "token"),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret_token"),
    "TELEGRAM_API_BASE_URL": ("telegram", "api_base_url"),
    "TELEGRAM_MODERATOR_CHAT_ID": ("telegram", "moderator_chat_id"),
    "DISCORD_MODERATOR_CHANNEL_ID": ("discord", "moderator_channel_id"),
    "DISCORD_MODERATOR_ROLE_ID": ("discord", "moderator_role_id"),
}
_PREFIX = "SIGNPOST_"


def _database_url_alias(raw: str) -> str:
    """`DATABASE_URL` as hosting platforms write it (postgres://...) in SQLAlchemy's async form."""
    for scheme in ("postgres://", "postgresql://"):
        if raw.startswith(scheme):
            return "postgresql+asyncpg://" + raw[len(scheme) :]
    return raw


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _env_value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        return raw


def load_settings(path: Path | None, environ: dict[str, str] | None = None) -> Settings:
    """Read the YAML file, apply environment overrides and validate. Raises ConfigError."""
    env = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    label = str(path) if path else "<defaults>"
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{label}: file not found") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{label}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{label}: the top level must be a mapping of keys")
        data = loaded or {}
        leaked = _SECRET_KEYS & set(data) | {
            f"{section}.{key}"
            for section, key in (
                ("telegram", "token"),
                ("telegram", "webhook_secret_token"),
                ("discord", "token"),
            )
            if isinstance(data.get(section), dict) and key in data[section]
        }
        if leaked:
            raise ConfigError(
                f"{label}: {', '.join(sorted(leaked))}: secrets must come from the environment"
            )
    for name, value in env.items():
        if name in _ENV_SECRETS and name != "SIGNPOST_SECRET_KEY" and not value.strip():
            # set but empty (compose's `${TELEGRAM_BOT_TOKEN:-}`): the same as unset; an empty
            # secret key, though, is refused like any key shorter than 32 bytes
            continue
        if name in _ENV_SECRETS:
            _set(data, _ENV_SECRETS[name], _env_value(value) if "ID" in name else value)
        elif name.startswith(_PREFIX) and name != "SIGNPOST_SECRET_KEY":
            keys = tuple(part.lower() for part in name[len(_PREFIX) :].split("__"))
            if keys[0] in Settings.model_fields and keys[0] not in _SECRET_KEYS:
                _set(data, keys, _env_value(value))
    alias = env.get("DATABASE_URL", "").strip()
    if alias and not env.get("SIGNPOST_STORAGE__URL"):  # the explicit variable wins
        _set(data, ("storage", "url"), _database_url_alias(alias))
    cache = env.get("SIGNPOST_CACHE_DIR")
    nlu = data.setdefault("nlu", {}) if isinstance(data.get("nlu", {}), dict) else None
    if cache and nlu is not None and not nlu.get("cache_dir"):
        nlu["cache_dir"] = str(Path(cache) / "models")  # the same place `signpost nlu train` uses
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "<root>"
            problems.append(f"{label}: {key}: {err['msg']}")
        raise ConfigError("\n".join(problems)) from None
