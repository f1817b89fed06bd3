"""A small fake Telegram Bot API server for tests (aiohttp, 127.0.0.1 only).

python-telegram-bot is pointed at it with `base_url(f"{fake.base_url}/bot")`, so the real
library long-polls `getUpdates` and sends over HTTP exactly as it would to Telegram. Tests
inject updates (messages, edits, stickers, callback queries), read back every call the bot
made, and make methods fail (429 with retry_after, 500, 502) to exercise retries.

The server keeps just enough state to answer like Telegram: chats (private, group, supergroup,
forum), members and their status, messages the bot sent (so edits of unknown messages fail),
forum topics, and the update queue with offset confirmation (an unconfirmed update is handed
out again after a restart, as Telegram does).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JsonDict = dict[str, Any]

# Parameters python-telegram-bot sends JSON-encoded inside form fields.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "allowed_updates",
        "commands",
        "link_preview_options",
        "entities",
        "scope",
    }
)
_INT_FIELDS = frozenset(
    {
        "offset",
        "limit",
        "timeout",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "user_id",
        "cache_time",
        "icon_color",
    }
)


@dataclass(frozen=True, slots=True)
class FakeUser:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = "en"

    def as_json(self) -> JsonDict:
        out: JsonDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            out["username"] = self.username
        if self.language_code:
            out["language_code"] = self.language_code
        return out


@dataclass(slots=True)
class FakeChat:
    id: int
    type: str  # private | group | supergroup | channel
    title: str | None = None
    is_forum: bool = False
    first_name: str | None = None

    def as_json(self) -> JsonDict:
        out: JsonDict = {"id": self.id, "type": self.type}
        if self.title:
            out["title"] = self.title
        if self.first_name:
            out["first_name"] = self.first_name
        if self.is_forum:
            out["is_forum"] = True
        return out


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request the bot made, with its decoded parameters and whether it succeeded."""

    method: str
    params: JsonDict
    ok: bool
    at: float


@dataclass(slots=True)
class _Failure:
    remaining: int
    status: int
    retry_after: int | None
    chat_id: int | None = None  # only calls for this chat fail (Telegram limits per chat)


@dataclass(slots=True)
class _State:
    chats: dict[int, FakeChat] = field(default_factory=dict)
    members: dict[tuple[int, int], str] = field(default_factory=dict)
    messages: dict[tuple[int, int], JsonDict] = field(default_factory=dict)
    topics: dict[tuple[int, int], str] = field(default_factory=dict)
    updates: list[JsonDict] = field(default_factory=list)
    confirmed_offset: int = 0


class FakeTelegramApi:
    """Start with `await fake.start()`, stop with `await fake.stop()` (or `async with`)."""

    def __init__(self, token: str = "123456:TEST-TOKEN", bot_username: str = "signpost_test_bot"):
        self.token = token
        self.bot = FakeUser(
            id=int(token.split(":")[0]),
            first_name="Signpost",
            username=bot_username,
            is_bot=True,
            language_code=None,
        )
        self.calls: list[ApiCall] = []
        self._state = _State()
        self._failures: dict[str, list[_Failure]] = {}
        # method -> seconds: the call is carried out at once, its answer arrives this late
        # (Telegram posted the message, the client has not heard yet)
        self.slow_answers: dict[str, float] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._topic_ids = itertools.count(500)
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Event()  # replaced after each change; waiters hold the old one
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.webhook_url = ""

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> FakeTelegramApi:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Without the `/bot` suffix: pass `f"{base_url}/bot"` to python-telegram-bot."""
        return f"http://127.0.0.1:{self.port}"

    # ---- world setup -------------------------------------------------------------------------

    def add_chat(self, chat: FakeChat) -> FakeChat:
        self._state.chats[chat.id] = chat
        return chat

    def private_chat(self, user: FakeUser) -> FakeChat:
        return self.add_chat(FakeChat(id=user.id, type="private", first_name=user.first_name))

    def set_member(self, chat_id: int, user: FakeUser, status: str = "member") -> None:
        """status: creator | administrator | member | left | kicked."""
        self._state.members[(chat_id, user.id)] = status

    # ---- failures ----------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        times: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        *,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (for `chat_id`, if given) fail with `status`;
        a 429 carries `retry_after` as Telegram's does."""
        self._failures.setdefault(method, []).append(
            _Failure(times, status, retry_after if status == 429 else None, chat_id)
        )

    def _take_failure(self, method: str, params: JsonDict) -> _Failure | None:
        queue = self._failures.get(method, [])
        for failure in queue:
            if failure.chat_id is None or failure.chat_id == params.get("chat_id"):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.remove(failure)
                return failure
        return None

    # ---- injecting updates -------------------------------------------------------------------

    def push_update(self, kind: str, payload: JsonDict) -> int:
        update_id = next(self._update_ids)
        self._state.updates.append({"update_id": update_id, kind: payload})
        self._notify()
        return update_id

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, deadline: float) -> bool:
        """Wait for the next change or the deadline; False when the deadline passed."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(self._changed.wait(), remaining)
        except TimeoutError:
            return False
        return True

    def _message_json(self, chat: FakeChat, user: FakeUser, **extra: Any) -> JsonDict:
        msg: JsonDict = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat.as_json(),
            "from": user.as_json(),
        }
        msg.update({k: v for k, v in extra.items() if v is not None})
        self._state.messages[(chat.id, msg["message_id"])] = msg
        return msg

    def send_text(
        self,
        chat: FakeChat,
        user: FakeUser,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to: JsonDict | None = None,
    ) -> JsonDict:
        """A person (or moderator) writes `text`; returns the message as the bot will see it."""
        self._state.chats.setdefault(chat.id, chat)
        extra: JsonDict = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if thread_id is not None:
            extra["message_thread_id"] = thread_id
            extra["is_topic_message"] = chat.is_forum
        if reply_to is not None:
            extra["reply_to_message"] = reply_to
        msg = self._message_json(chat, user, **extra)
        self.push_update("message", msg)
        return msg

    def edit_text(self, message: JsonDict, text: str) -> JsonDict:
        edited = dict(message, text=text, edit_date=int(time.time()))
        self.push_update("edited_message", edited)
        return edited

    def send_attachment(self, chat: FakeChat, user: FakeUser, kind: str) -> JsonDict:
        """kind: sticker | photo | voice | document."""
        file = {"file_id": f"{kind}-file", "file_unique_id": f"{kind}-u"}
        content: dict[str, Any] = {
            "sticker": {
                **file,
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
                "emoji": "🙂",
            },
            "photo": [{**file, "width": 90, "height": 90}],
            "voice": {**file, "duration": 3},
            "document": {**file, "file_name": "notes.pdf"},
        }
        msg = self._message_json(chat, user, **{kind: content[kind]})
        self.push_update("message", msg)
        return msg

    def press_button(
        self, user: FakeUser, message: JsonDict, data: str, *, inaccessible: bool = False
    ) -> str:
        """`user` presses the button carrying `data` under `message`; returns the query id.

        `inaccessible`: Telegram no longer gives the bot the message (old or deleted), only
        its chat and id, with date 0."""
        query_id = f"cbq-{next(self._callback_ids)}"
        if inaccessible:
            message = {"chat": message["chat"], "message_id": message["message_id"], "date": 0}
        self.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.as_json(),
                "chat_instance": f"ci-{message['chat']['id']}",
                "message": message,
                "data": data,
            },
        )
        return query_id

    # ---- reading what the bot did ------------------------------------------------------------

    def calls_of(self, method: str, *, ok: bool | None = True) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def sent_to(self, chat_id: int, *, thread_id: int | None = None) -> list[JsonDict]:
        """Parameters of successful sendMessage calls to a chat (and topic, when given)."""
        return [
            c.params
            for c in self.calls_of("sendMessage")
            if int(c.params["chat_id"]) == chat_id
            and (thread_id is None or c.params.get("message_thread_id") == thread_id)
        ]

    def sent_message(self, chat_id: int, message_id: int) -> JsonDict:
        return self._state.messages[(chat_id, message_id)]

    def last_sent_message(self, chat_id: int) -> JsonDict:
        own = [
            m
            for (c, _), m in self._state.messages.items()
            if c == chat_id and m["from"]["id"] == self.bot.id
        ]
        return own[-1]

    @property
    def last_update(self) -> JsonDict:
        """The most recent injected update, e.g. to POST it to a webhook instead."""
        return self._state.updates[-1]

    @property
    def topics(self) -> dict[tuple[int, int], str]:
        return dict(self._state.topics)

    @property
    def pending_updates(self) -> int:
        return sum(1 for u in self._state.updates if u["update_id"] >= self._state.confirmed_offset)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds: checked whenever the bot calls the API, and a few
        times a second for conditions outside the fake (a process that exited)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                raise TimeoutError(
                    "condition not met; last calls: "
                    + ", ".join(c.method for c in self.calls[-30:])
                )
            await self._wait_change(min(deadline, loop.time() + 0.25))

    async def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 10.0, thread_id: int | None = None
    ) -> list[JsonDict]:
        await self.wait_until(
            lambda: len(self.sent_to(chat_id, thread_id=thread_id)) >= count, timeout
        )
        return self.sent_to(chat_id, thread_id=thread_id)

    # ---- HTTP --------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> JsonDict:
        raw: dict[str, Any]
        if request.content_type == "application/json":
            raw = await request.json()
        else:
            raw = dict(await request.post())
            raw.update(request.query)
            for key in list(raw):
                if key in _JSON_FIELDS and isinstance(raw[key], str):
                    raw[key] = json.loads(raw[key])
                elif key in _INT_FIELDS or key == "chat_id":
                    with contextlib.suppress(TypeError, ValueError):
                        raw[key] = int(raw[key])
                elif raw[key] in ("true", "false"):
                    raw[key] = raw[key] == "true"
        return raw

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params = await self._params(request)
        failure = self._take_failure(method, params)
        if failure is not None:
            self._record(method, params, ok=False)
            if failure.status == 429:
                return _error(
                    429,
                    f"Too Many Requests: retry after {failure.retry_after}",
                    {"retry_after": failure.retry_after},
                )
            return _error(failure.status, "Internal Server Error")
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self._record(method, params, ok=False)
            return _error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, web.Response):
            self._record(method, params, ok=False)
            return result
        self._record(method, params, ok=True)
        delay = self.slow_answers.get(method)
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": result})

    def _record(self, method: str, params: JsonDict, *, ok: bool) -> None:
        if method != "getUpdates" or not ok:  # successful long polls would drown the log
            self.calls.append(ApiCall(method, params, ok, time.monotonic()))
        self._notify()

    # ---- methods -----------------------------------------------------------------------------

    async def _api_getMe(self, params: JsonDict) -> JsonDict:
        return {
            **self.bot.as_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
        }

    async def _api_deleteWebhook(self, params: JsonDict) -> bool:
        if params.get("drop_pending_updates"):
            self._state.confirmed_offset = next(self._update_ids)
        self.webhook_url = ""
        return True

    async def _api_setWebhook(self, params: JsonDict) -> bool:
        self.webhook_url = str(params.get("url", ""))
        return True

    async def _api_setMyCommands(self, params: JsonDict) -> bool:
        return True

    async def _api_sendChatAction(self, params: JsonDict) -> bool:
        return True

    async def _api_answerCallbackQuery(self, params: JsonDict) -> bool:
        return True

    async def _api_getUpdates(self, params: JsonDict) -> list[JsonDict]:
        offset = int(params.get("offset") or 0)
        if offset:
            self._state.confirmed_offset = max(self._state.confirmed_offset, offset)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)

        def ready() -> list[JsonDict]:
            return [
                u for u in self._state.updates if u["update_id"] >= self._state.confirmed_offset
            ][:limit]

        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := ready()) and await self._wait_change(deadline):
            pass
        return found

    def _chat(self, chat_id: Any) -> FakeChat | None:
        try:
            return self._state.chats.get(int(chat_id))
        except (TypeError, ValueError):
            return None

    async def _api_sendMessage(self, params: JsonDict) -> JsonDict | web.Response:
        chat = self._chat(params.get("chat_id"))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        text = str(params.get("text", ""))
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        thread_id = params.get("message_thread_id")
        if thread_id is not None and (chat.id, int(thread_id)) not in self._state.topics:
            return _error(400, "Bad Request: message thread not found")
        extra: JsonDict = {"text": text}
        if "reply_markup" in params:
            extra["reply_markup"] = params["reply_markup"]
        if thread_id is not None:
            extra["message_thread_id"] = int(thread_id)
            extra["is_topic_message"] = True
        reply = params.get("reply_parameters") or {}
        reply_to_id = reply.get("message_id") or params.get("reply_to_message_id")
        if reply_to_id is not None:
            original = self._state.messages.get((chat.id, int(reply_to_id)))
            if original is None:
                return _error(400, "Bad Request: message to be replied not found")
            extra["reply_to_message"] = original
        return self._message_json(chat, self.bot, **extra)

    def _editable(self, params: JsonDict) -> JsonDict | web.Response:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        message = self._state.messages.get(key)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot.id:
            return _error(400, "Bad Request: message can't be edited")
        return message

    async def _api_editMessageText(self, params: JsonDict) -> JsonDict | web.Response:
        message = self._editable(params)
        if isinstance(message, web.Response):
            return message
        message["text"] = params["text"]
        message["edit_date"] = int(time.time())
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message

    async def _api_editMessageReplyMarkup(self, params: JsonDict) -> JsonDict | web.Response:
        message = self._editable(params)
        if isinstance(message, web.Response):
            return message
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message

    async def _api_createForumTopic(self, params: JsonDict) -> JsonDict | web.Response:
        chat = self._chat(params.get("chat_id"))
        if chat is None or not chat.is_forum:
            return _error(400, "Bad Request: the chat is not a forum")
        topic_id = next(self._topic_ids)
        name = str(params.get("name", ""))
        self._state.topics[(chat.id, topic_id)] = name
        return {"message_thread_id": topic_id, "name": name, "icon_color": 7322096}

    async def _api_getChat(self, params: JsonDict) -> JsonDict | web.Response:
        chat = self._chat(params.get("chat_id"))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        return {
            **chat.as_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _api_getChatMember(self, params: JsonDict) -> JsonDict | web.Response:
        chat = self._chat(params.get("chat_id"))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        user_id = int(params["user_id"])
        status = self._state.members.get((chat.id, user_id), "left")
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        member: JsonDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    flag: False
                    for flag in (
                        "can_be_edited",
                        "is_anonymous",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                        "can_promote_members",
                    )
                }
            )
            member.update(
                {
                    flag: True
                    for flag in (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_change_info",
                        "can_invite_users",
                    )
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member


def _error(status: int, description: str, parameters: JsonDict | None = None) -> web.Response:
    body: JsonDict = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


# ---- running the real adapter against the fake -------------------------------------------------


@contextlib.asynccontextmanager
async def running_telegram(
    core: Any, fake: FakeTelegramApi, *, moderator_chat_id: int | None = None, **overrides: Any
) -> AsyncIterator[asyncio.Task[None]]:
    """Run `bot.adapters.telegram.run_telegram` (real python-telegram-bot) against `fake`.

    `core` is the real `App` or anything with the same surface. Yields the adapter's task.
    """
    from bot.adapters.telegram import run_telegram
    from bot.config import TelegramSettings

    settings = TelegramSettings(
        token=fake.token,
        api_base_url=fake.base_url,
        moderator_chat_id=moderator_chat_id,
        poll_timeout=1,
        moderator_cache_seconds=0,
        **overrides,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(core, settings, stop, backoff=0.05))
    try:
        await fake.wait_until(
            lambda: (
                bool(fake.calls_of("deleteWebhook") or fake.calls_of("setWebhook")) or task.done()
            )
        )
        if task.done():
            task.result()
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
