"""Telegram settings: `telegram:` in config.yml, secrets and overrides from the environment.

The token (`TELEGRAM_BOT_TOKEN`) and the webhook secret (`TELEGRAM_WEBHOOK_SECRET`) are only
ever read from the environment by `bot.config.load_settings` (config.yml may hold neither);
`TELEGRAM_API_BASE_URL` and `TELEGRAM_MODERATOR_CHAT_ID` override the file so one image can
serve several deployments.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

TELEGRAM_API = "https://api.telegram.org"


class TelegramSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
