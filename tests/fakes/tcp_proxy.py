"""A TCP proxy in front of a real database that can be made to hang.

`hang()`: every open connection stops carrying bytes and new connections are accepted but never
answered; exactly what a PostgreSQL server that is wedged (or a network that blackholes) looks
like to a client. `restore()`: hung connections are dropped and new ones are carried again.
`refuse()`: new connections are closed at once (a database that is down).
"""

from __future__ import annotations

import asyncio
import contextlib


class HangableProxy:
    def __init__(self, upstream_host: str = "127.0.0.1", upstream_port: int = 5432) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode = "pass"  # pass | hang | refuse
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumed = asyncio.Event()
        self._resumed.set()

    async def start(self) -> HangableProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._drop_all()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def __aenter__(self) -> HangableProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def hang(self) -> None:
        self.mode = "hang"
        self._resumed.clear()

    def refuse(self) -> None:
        self.mode = "refuse"
        self._drop_all()
        self._resumed.set()

    def restore(self) -> None:
        self.mode = "pass"
        self._drop_all()
        self._resumed.set()

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            writer.close()
            return
        self._writers.add(writer)
        if self.mode == "hang":  # accepted, never answered
            await self._resumed.wait()
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        for source, target in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pipe(source, target))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await source.read(65536)
                if not data:
                    break
                if self.mode == "hang":  # bytes are swallowed: the peer hears nothing
                    await self._resumed.wait()
                    return
                target.write(data)
                await target.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            target.close()
