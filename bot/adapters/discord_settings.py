"""Discord settings: `discord:` in config.yml, secrets and overrides from the environment.

The token (`DISCORD_BOT_TOKEN`) is only ever read from the environment by
`bot.config.load_settings` (it lives on `Settings.discord_token`); `DISCORD_MODERATOR_CHANNEL_ID`
and `DISCORD_MODERATOR_ROLE_ID` override the file so one image can serve several deployments.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DiscordSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # the text channel where cases are pinged; each case gets a thread on its ping message
    moderator_channel_id: int | None = None
    # when set, only members with this role may claim/resolve, and re-pings mention it
    moderator_role_id: int | None = None
    # sending a reply: attempts before giving up on 5xx/network errors (discord.py waits out 429s)
    send_attempts: int = Field(6, ge=1, le=20)
    # Discord's client-side shard count; None lets Discord recommend one (AutoShardedClient)
    shard_count: int | None = Field(None, ge=1)
