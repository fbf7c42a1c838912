"""A small asyncio client for apcupsd's Network Information Server.

One kept-alive connection per client, serialised by one lock. A poll writes ``status`` and
``events`` in one write and reads both replies: one round trip (apcupsd answers the commands
of one connection in order). Every wait runs under ``asyncio.timeout``; a failure in the
middle of an exchange closes the connection, since the stream can no longer be trusted to be
in step, and the next exchange reconnects. A kept-alive connection that the server closed
while idle (apcupsd drops idle clients) is retried once on a fresh one. Only the read
commands in :data:`ALLOWED_COMMANDS` are ever sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING, Final, Self

from power_exporter.errors import ConnectError, DeviceTimeoutError
from power_exporter.sources.apcupsd.protocol import FrameBuffer, encode_command

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

log = logging.getLogger(__name__)

ALLOWED_COMMANDS: Final = frozenset({"status", "events"})
"""What we send; apcupsd's NIS has no write command, and we keep to the two we read."""
_CHUNK: Final = 64 * 1024


def _quick_ack(writer: asyncio.StreamWriter) -> None:
    """Acknowledge apcupsd's reply at once, not after Linux's 40 ms delayed-ACK timer.

    apcupsd writes a reply frame by frame with Nagle's algorithm on, so after its first
    segment it waits for our ACK: without quick-ACK a status read takes ~45 ms (21 reads/s
    against 4,300 with it, bench/bench_apcupsd.py). The mode is not sticky, so it is set after
    every request. Linux only; elsewhere nothing is done.
    """
    option = getattr(socket, "TCP_QUICKACK", None)
    sock = writer.get_extra_info("socket")
    if option is not None and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)


class _DroppedError(Exception):
    """The peer closed or reset the connection mid-exchange."""


class ApcupsdClient:
    """A kept-alive connection to one apcupsd NIS (``host``, ``port``)."""

    def __init__(self, host: str, port: int, *, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.connects = 0

    @property
    def where(self) -> str:
        """``host:port`` for messages (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection, if open."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()

    async def query(
        self, commands: Sequence[str], *, budget: float | None = None
    ) -> list[list[bytes]]:
        """Send ``commands`` in one write; return each reply's frames, in order.

        Raises ConnectError (cannot connect, or dropped twice), DeviceTimeoutError (no whole
        answer within ``budget``, default the client's timeout) or DecodeError (not NIS).
        """
        for command in commands:
            if command not in ALLOWED_COMMANDS:
                raise ValueError(f"refusing to send {command!r} to apcupsd: not a read command")
        limit = self.timeout if budget is None else budget
        async with self._lock:
            try:
                async with asyncio.timeout(limit):
                    return await self._query(commands)
            except TimeoutError:
                await self.close()
                raise DeviceTimeoutError(
                    f"apcupsd at {self.where}: no answer within {limit:g} s"
                ) from None
            except BaseException:
                await self.close()
                raise

    async def _query(self, commands: Sequence[str]) -> list[list[bytes]]:
        reused = self._writer is not None
        try:
            return await self._exchange(commands)
        except _DroppedError as exc:
            await self.close()
            if not reused:
                raise ConnectError(
                    f"apcupsd at {self.where} closed the connection: {exc}"
                ) from None
            log.debug("apcupsd at %s dropped an idle connection; reconnecting", self.where)
        try:
            return await self._exchange(commands)
        except _DroppedError as exc:
            raise ConnectError(f"apcupsd at {self.where} closed the connection: {exc}") from None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is not None and self._writer is not None:
            return self._reader, self._writer
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConnectError(f"cannot connect to apcupsd at {self.where}: {reason}") from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader, self._writer = reader, writer
        self.connects += 1
        return reader, writer

    async def _exchange(self, commands: Sequence[str]) -> list[list[bytes]]:
        reader, writer = await self._connect()
        frames = FrameBuffer()
        replies: list[list[bytes]] = []
        try:
            writer.write(b"".join(encode_command(command) for command in commands))
            await writer.drain()
            _quick_ack(writer)
            while len(replies) < len(commands):
                data = await reader.read(_CHUNK)
                if not data:
                    raise _DroppedError("end of stream")
                frames.feed(data)
                replies.extend(frames.take())
        except (ConnectionError, BrokenPipeError) as exc:
            raise _DroppedError(type(exc).__name__) from None
        except OSError as exc:
            raise _DroppedError(exc.strerror or type(exc).__name__) from None
        if len(replies) > len(commands) or frames.pending:
            await self.close()  # more than we asked for: out of step, start afresh next time
        return replies[: len(commands)]
