"""A fake Discord on 127.0.0.1: REST under /api/v10 and the gateway websocket, speaking what
discord.py expects (READY, GUILD_CREATE, MESSAGE_CREATE, INTERACTION_CREATE, ...). It records
every REST call so a test can check what the bot sent. `fake_discord` starts it and points
discord.py at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from aiohttp import WSMsgType, web

JsonDict = dict[str, Any]
BOT, APP_ID = 1000, 1001
GUILD, MODS, GENERAL = 2000, 2001, 2002
ALICE, MO, RANDO = 42, 7, 99
DM = 3000
VIEW_CHANNEL = 1 << 10
MANAGE_GUILD = 1 << 5
ADMINS = 2100


def user(uid: int, name: str, *, bot: bool = False) -> JsonDict:
    return {
        "id": str(uid),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


def member(uid: int, name: str) -> JsonDict:
    return {
        "user": user(uid, name),
        "roles": [],
        "joined_at": "2026-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
    }


def text_channel(cid: int, name: str, overwrites: list[JsonDict] | None = None) -> JsonDict:
    return {
        "id": str(cid),
        "type": 0,
        "guild_id": str(GUILD),
        "name": name,
        "position": 0,
        "permission_overwrites": overwrites or [],
        "nsfw": False,
        "parent_id": None,
    }


def guild() -> JsonDict:
    # @everyone may view channels, but not the moderators' channel; Mo and the bot may.
    hidden = [
        {"id": str(GUILD), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
        {"id": str(MO), "type": 1, "allow": str(VIEW_CHANNEL), "deny": "0"},
        {"id": str(BOT), "type": 1, "allow": str(VIEW_CHANNEL), "deny": "0"},
    ]
    return {
        "id": str(GUILD),
        "name": "Community",
        "owner_id": "1",
        "unavailable": False,
        "roles": [
            {
                "id": str(GUILD),
                "name": "@everyone",
                "permissions": str(VIEW_CHANNEL | 1 << 11),
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            },
            {
                "id": str(ADMINS),
                "name": "admins",
                "permissions": str(MANAGE_GUILD),
                "position": 1,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            },
        ],
        "channels": [text_channel(MODS, "moderators", hidden), text_channel(GENERAL, "general")],
        "threads": [],
        "members": [member(BOT, "Signpost") | {"user": user(BOT, "Signpost", bot=True)}],
        "emojis": [],
        "stickers": [],
        "features": [],
        "member_count": 4,
        "large": False,
        "joined_at": "2026-01-01T00:00:00+00:00",
    }


@dataclass
class Call:
    method: str
    path: str
    body: JsonDict


@dataclass
class FakeDiscordServer:
    """Discord's REST API and gateway, as far as Signpost uses them."""

    calls: list[Call] = field(default_factory=list)
    identify: JsonDict = field(default_factory=dict)
    events: asyncio.Queue[JsonDict] = field(default_factory=asyncio.Queue)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(50_000))
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    url: str = ""
    thread_ids: list[int] = field(default_factory=list)
    refuse_intents: bool = False

    # REST ------------------------------------------------------------------------------------
    async def rest(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix("/api/v10")
        body: JsonDict = {}
        if request.can_read_body:
            if request.content_type == "multipart/form-data":
                form = await request.post()
                body = json.loads(str(form.get("payload_json", "{}")))
            else:
                body = await request.json()
        self.calls.append(Call(request.method, path, body))
        if request.headers.get("Authorization") == "Bot bad-token":
            refused = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
            return web.Response(
                status=401, body=refused, headers={"Content-Type": "application/json"}
            )
        # discord.py only parses a body whose content type is exactly application/json
        answer = json.dumps(self.answer(request.method, path, body)).encode()
        return web.Response(body=answer, headers={"Content-Type": "application/json"})

    def answer(self, method: str, path: str, body: JsonDict) -> Any:
        if path == "/users/@me":
            return user(BOT, "Signpost", bot=True)
        if path == "/oauth2/applications/@me":
            return {
                "id": str(APP_ID),
                "name": "Signpost",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": user(1, "owner"),
                "verify_key": "x",
                "flags": 0,
            }
        if path == "/gateway/bot":
            return {
                "url": self.url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        if path == "/users/@me/channels":
            return {"id": str(DM), "type": 1, "recipients": [user(ALICE, "Alice")]}
        parts = path.strip("/").split("/")
        if parts[0] == "channels" and parts[-1] == "threads":
            self.thread_ids.append(next(self.ids))
            return {
                "id": str(self.thread_ids[-1]),
                "type": 11,
                "guild_id": str(GUILD),
                "parent_id": parts[1],
                "name": body.get("name", ""),
                "owner_id": str(BOT),
                "message_count": 0,
                "member_count": 1,
                "rate_limit_per_user": 0,
                "flags": 0,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": "2026-01-01T00:00:00+00:00",
                    "locked": False,
                },
            }
        if parts[0] == "channels" and parts[-1] == "messages":
            return self.message(int(parts[1]), user(BOT, "Signpost", bot=True), body)
        if parts[0] == "interactions":
            return {"interaction": {"id": parts[1], "type": 3}}
        if parts[0] == "webhooks":
            return self.message(0, user(BOT, "Signpost", bot=True), body)
        return {}

    def message(self, channel: int, author: JsonDict, body: JsonDict) -> JsonDict:
        return {
            "id": str(next(self.ids)),
            "channel_id": str(channel),
            "author": author,
            "content": body.get("content", ""),
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "components": body.get("components", []),
            "flags": body.get("flags", 0),
        }

    # gateway ---------------------------------------------------------------------------------
    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}})
        pump = asyncio.create_task(self._pump(ws))
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(frame.data)
                if payload["op"] == 2:
                    self.identify = payload["d"]
                    if self.refuse_intents:  # what Discord does when the intent is not enabled
                        await ws.close(code=4014, message=b"Disallowed intent(s).")
                        break
                    await self._dispatch(ws, "READY", self.ready())
                    await self._dispatch(ws, "GUILD_CREATE", guild())
                elif payload["op"] == 1:
                    await ws.send_json({"op": 11})
        finally:
            pump.cancel()
        return ws

    def ready(self) -> JsonDict:
        return {
            "v": 10,
            "user": user(BOT, "Signpost", bot=True),
            "guilds": [{"id": str(GUILD), "unavailable": True}],
            "session_id": "session",
            "resume_gateway_url": self.url,
            "shard": [0, 1],
            "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [],
        }

    async def _dispatch(self, ws: web.WebSocketResponse, event: str, data: JsonDict) -> None:
        await ws.send_json({"op": 0, "t": event, "s": next(self.seq), "d": data})

    async def _pump(self, ws: web.WebSocketResponse) -> None:
        while True:
            event = await self.events.get()
            await self._dispatch(ws, event.pop("t"), event)

    # what tests do ---------------------------------------------------------------------------
    def write(self, channel: int, author: JsonDict, text: str, **extra: Any) -> None:
        data = self.message(channel, author, {"content": text}) | extra
        self.events.put_nowait({"t": "MESSAGE_CREATE", **data})

    def press(self, who: JsonDict, channel: JsonDict, custom_id: str) -> str:
        """A component interaction; returns its id (the callback URL carries it)."""
        iid = str(next(self.ids))
        data: JsonDict = {
            "id": iid,
            "application_id": str(APP_ID),
            "type": 3,
            "token": f"token-{iid}",
            "version": 1,
            "data": {"custom_id": custom_id, "component_type": 2},
            "channel_id": channel["id"],
            "channel": channel,
            "locale": "en-GB",
            "app_permissions": "0",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        }
        if "guild_id" in channel:
            data |= {"guild_id": str(GUILD), "member": who | {"permissions": "0"}}
        else:
            data |= {"user": who}
        self.events.put_nowait({"t": "INTERACTION_CREATE", **data})
        return iid

    def posted(self, channel: int) -> list[JsonDict]:
        return [
            c.body
            for c in self.calls
            if c.method == "POST" and c.path == f"/channels/{channel}/messages"
        ]

    def ephemeral_answer(self, interaction: str) -> str | None:
        """The followup a deferred (ephemeral) interaction got."""
        deferred = any(
            c.path.startswith(f"/interactions/{interaction}/") and c.body.get("type") == 5
            for c in self.calls
        )
        for c in self.calls:
            if deferred and c.path == f"/webhooks/{APP_ID}/token-{interaction}":
                assert c.body.get("flags", 0) & 64, "the answer is only for the presser"
                return str(c.body.get("content"))
        return None

    async def wait_until(self, check: Callable[[], object], timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscordServer]:
    fake = FakeDiscordServer()
    server = web.Application()
    server.router.add_get("/gateway", fake.gateway)
    server.router.add_route("*", "/api/v10/{tail:.*}", fake.rest)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"ws://127.0.0.1:{port}/gateway"
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    try:
        yield fake
    finally:
        await runner.cleanup()
