"""Edges a real apcupsd does not produce on demand, against a local NIS speaking its framing.

The server below answers ``status`` with a recorded reply of the real apcupsd
(tests/fixtures/apcupsd), framed as apcupsd frames it, and misbehaves on cue: closes an idle
connection, says nothing, or sends what no apcupsd sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import TYPE_CHECKING

import pytest

from power_exporter.errors import ConnectError, DecodeError, DeviceTimeoutError
from power_exporter.model import DeviceFault, Reading
from power_exporter.sources.apcupsd.client import ApcupsdClient
from power_exporter.sources.apcupsd.source import ApcupsdSource
from tests.peers.apcupsd import free_port
from tests.sources.apcupsd.conftest import apcupsd_config
from tests.sources.apcupsd.test_table import frames

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable


def reply(*lines: bytes) -> bytes:
    """Lines as one NIS reply, with its end mark."""
    return b"".join(struct.pack(">H", len(line)) + line for line in (*lines, b""))


STATUS = reply(*frames("test-driver.status"))
COMMLOST = reply(*frames("net-commlost.status"))
EVENTS = reply(*frames("test-driver.events"))


class FakeNis:
    """A NIS on 127.0.0.1: ``answer(connection number, command)`` -> bytes, or None to close."""

    def __init__(
        self, answer: Callable[[int, bytes], bytes | None], *, one_reply: bool = False
    ) -> None:
        self.answer = answer
        self.one_reply = one_reply  # close each connection after its first reply
        self.connections = 0
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read framed commands and answer each as told."""
        self.connections += 1
        number = self.connections
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                (length,) = struct.unpack(">H", await reader.readexactly(2))
                command = await reader.readexactly(length)
                answer = self.answer(number, command)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if self.one_reply:
                    break
        writer.close()


@contextlib.asynccontextmanager
async def fake_nis(
    answer: Callable[[int, bytes], bytes | None], *, one_reply: bool = False
) -> AsyncIterator[FakeNis]:
    """Serve a FakeNis until the block ends."""
    nis = FakeNis(answer, one_reply=one_reply)
    nis.server = await asyncio.start_server(nis.handle, "127.0.0.1", 0)
    async with nis.server:
        yield nis


def normal(_number: int, command: bytes) -> bytes:
    """What apcupsd answers."""
    return {b"status": STATUS, b"events": EVENTS}.get(command, reply(b"Invalid command\n\x00"))


class TestClient:
    """The client's connection handling."""

    async def test_idle_drop_retried_once(self) -> None:
        """A kept-alive connection the server closed is retried once, on a fresh one."""
        async with (
            fake_nis(normal, one_reply=True) as nis,
            ApcupsdClient("127.0.0.1", nis.port, timeout=2) as client,
        ):
            for _ in range(3):
                (status,) = await client.query(["status"])
                assert status[0].startswith(b"APC")
                await asyncio.sleep(0.05)  # the server has closed the connection by now
            assert client.connects == 3
            assert nis.connections == 3

    async def test_fresh_connection_closed_is_connect_error(self) -> None:
        """A server that closes a new connection at once is not retried: ConnectError."""
        async with (
            fake_nis(lambda _n, _c: None) as nis,
            ApcupsdClient("127.0.0.1", nis.port, timeout=2) as client,
        ):
            with pytest.raises(ConnectError, match="closed the connection"):
                await client.query(["status"])
            assert nis.connections == 1

    async def test_refused(self) -> None:
        """Nobody listening: ConnectError naming the address."""
        port = free_port()
        async with ApcupsdClient("127.0.0.1", port, timeout=2) as client:
            with pytest.raises(ConnectError, match=f"127.0.0.1:{port}"):
                await client.query(["status"])

    async def test_silence_is_a_timeout_and_the_connection_is_dropped(self) -> None:
        """No answer within the budget: DeviceTimeoutError; the next query starts afresh."""
        silent = {"on": True}

        def maybe(number: int, command: bytes) -> bytes | None:
            return b"" if silent["on"] else normal(number, command)

        async with (
            fake_nis(maybe) as nis,
            ApcupsdClient("127.0.0.1", nis.port, timeout=0.3) as client,
        ):
            with pytest.raises(DeviceTimeoutError, match=r"no answer within 0\.3 s"):
                await client.query(["status"])
            silent["on"] = False
            (status,) = await client.query(["status"])
            assert status
            assert nis.connections == 2

    async def test_only_read_commands(self) -> None:
        """Nothing but status and events is ever sent."""
        async with ApcupsdClient("127.0.0.1", free_port()) as client:
            with pytest.raises(ValueError, match="refusing"):
                await client.query(["rawupsinfo"])


class TestSource:
    """What the source makes of odd answers."""

    async def test_commlost_is_a_fault_of_the_device(self) -> None:
        """A COMMLOST status is a DeviceFault of this device; the connection stays up."""
        answers = {b"status": COMMLOST, b"events": EVENTS}
        async with (
            fake_nis(lambda _n, c: answers[c]) as nis,
            ApcupsdSource(apcupsd_config(name="far", server=f"127.0.0.1:{nis.port}")) as source,
        ):
            (event,) = await source.read()
            assert isinstance(event, DeviceFault)
            assert event.device == "far"
            assert event.error.reason == "stale"
            answers[b"status"] = STATUS
            (event,) = await source.read()
            assert isinstance(event, Reading)
            assert nis.connections == 1

    @pytest.mark.parametrize(
        "status",
        [
            reply(b"Invalid command\n\x00"),
            reply(),
            reply(b"HTTP/1.1 400 Bad Request\n"),
        ],
    )
    async def test_not_a_status_is_a_decode_error(self, status: bytes) -> None:
        """A reply that is no status fails the read with DecodeError (reason decode)."""
        async with (
            fake_nis(lambda _n, c: status if c == b"status" else EVENTS) as nis,
            ApcupsdSource(apcupsd_config(server=f"127.0.0.1:{nis.port}")) as source,
        ):
            with pytest.raises(DecodeError):
                await source.read()

    async def test_events_not_available(self) -> None:
        """An apcupsd without an event log still gives a reading."""
        answers = {b"status": STATUS, b"events": reply(b"Not available\n\x00")}
        async with (
            fake_nis(lambda _n, c: answers[c]) as nis,
            ApcupsdSource(apcupsd_config(server=f"127.0.0.1:{nis.port}")) as source,
        ):
            (event,) = await source.read()
            assert isinstance(event, Reading)
            assert "LASTEVENT" not in event.text
