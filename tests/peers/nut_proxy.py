"""Between the exporter and a real upsd: a TCP proxy that delays upsd's answers and counts.

:class:`DelayProxy` forwards each request line to upsd at once and counts it by the UPS it
names (``LIST VAR eco`` -> ``eco``; ``LIST UPS``, ``VER``, ``LOGOUT`` -> ``""``); upsd's
answers reach the client ``delay`` seconds after upsd sent them (a latency, not a throttle:
answers in a row are not delayed one after the other). ``delay`` may change while serving.

:class:`HungUpsd` plays a upsd that accepts connections and never answers, what upsd cannot
be made to do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Final, Self

_NAMING_UPS: Final = frozenset({"VAR", "UPSDESC", "RW", "CMD", "ENUM", "RANGE", "CLIENT"})


def ups_of(line: str) -> str:
    """The UPS a request line names, or "" for one that names none."""
    words = line.split()
    if len(words) >= 3 and words[0] in {"LIST", "GET"} and words[1] in _NAMING_UPS:
        return words[2]
    return ""


class _Server:
    """A TCP server on 127.0.0.1 at a free port, closing its connections when stopped."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def server(self) -> str:
        """``host:port``, for a NUT config."""
        return f"127.0.0.1:{self.port}"

    async def start(self) -> Self:
        """Listen."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            await self.serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class DelayProxy(_Server):
    """Forwards to the upsd at ``upstream`` (host, port), answers delayed by ``delay`` s."""

    def __init__(self, upstream: tuple[str, int], delay: float = 0.0) -> None:
        super().__init__()
        self.upstream = upstream
        self.delay = delay
        self.requests: Counter[str] = Counter()
        self.lines: list[str] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Pump both ways until either side closes."""
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        answers = asyncio.create_task(self._answers(up_reader, writer))
        try:
            while line := await reader.readline():
                text = line.decode("utf-8", "replace").strip()
                self.lines.append(text)
                self.requests[ups_of(text)] += 1
                up_writer.write(line)
                await up_writer.drain()
        finally:
            up_writer.close()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await answers

    async def _answers(self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def collect() -> None:
            while chunk := await up_reader.read(65536):
                queue.put_nowait((loop.time() + self.delay, chunk))
            queue.put_nowait((loop.time() + self.delay, b""))

        collector = asyncio.create_task(collect())
        try:
            while True:
                due, chunk = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not chunk or writer.is_closing():
                    break
                writer.write(chunk)
                await writer.drain()
        finally:
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await collector
            writer.close()


class HungUpsd(_Server):
    """Accepts connections, reads every request, never answers."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read and say nothing."""
        del writer
        while line := await reader.readline():
            self.lines.append(line.decode("utf-8", "replace").strip())
