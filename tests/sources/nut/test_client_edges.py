"""What upsd cannot be made to do, played by a loopback fake on real TCP.

Garbage, truncated and over-long lines, a connection dropped mid-list, silence, ERR answers.
Everything upsd can do is tested against the real upsd elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from power_exporter.errors import (
    AuthError,
    ConnectError,
    DecodeError,
    DeviceTimeoutError,
    ProtocolError,
    StaleError,
)
from power_exporter.model import DeviceFault, Reading, Roster
from power_exporter.sources.nut.client import (
    ALLOWED_REQUESTS,
    ForbiddenRequestError,
    NutClient,
    check_request,
)
from power_exporter.sources.nut.lines import MAX_LINE
from power_exporter.sources.nut.source import ClientPool, NutSource, loop_pool
from tests.sources.nut.conftest import nut_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
    from typing import TypeAlias

    Answer: TypeAlias = "bytes | CloseAfter | None"
    Reply: TypeAlias = Callable[[str], "Answer | Awaitable[Answer]"]
GOOD_LIST = (
    b"BEGIN LIST VAR ups\n"
    b'VAR ups battery.charge "87"\n'
    b'VAR ups ups.status "OB DISCHRG"\n'
    b'VAR ups ups.mfr "Say \\"hi\\" C:\\\\"\n'
    b"END LIST VAR ups\n"
)


@dataclass(frozen=True)
class CloseAfter:
    """Send these bytes, then close the connection."""

    payload: bytes


class FakeUpsd:
    """A TCP server on 127.0.0.1 that answers each request line with ``reply(line)``.

    ``reply`` returns the bytes to send, CloseAfter(bytes), or None to close at once.
    """

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.received: list[str] = []
        self.connections = 0
        self.closed_by_client = 0
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port the fake listens on."""
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection."""
        self.connections += 1
        try:
            while raw := await reader.readline():
                line = raw.decode().rstrip("\n")
                self.received.append(line)
                answer = self.reply(line)
                if not isinstance(answer, bytes | CloseAfter | None):
                    answer = await answer
                if answer is None:
                    break
                writer.write(answer.payload if isinstance(answer, CloseAfter) else answer)
                await writer.drain()
                if isinstance(answer, CloseAfter):
                    break
            else:
                self.closed_by_client += 1
        except ConnectionError:
            self.closed_by_client += 1
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@pytest.fixture
async def fake() -> AsyncIterator[Callable[[Reply], Awaitable[FakeUpsd]]]:
    """Start fake upsd servers; all are closed after the test."""
    servers: list[asyncio.Server] = []

    async def start(reply: Reply) -> FakeUpsd:
        fake = FakeUpsd(reply)
        fake.server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
        servers.append(fake.server)
        return fake

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def answers(table: Mapping[str, bytes | CloseAfter | None]) -> Reply:
    """Make a reply function from a table of request lines (LOGOUT always answered)."""

    def reply(line: str) -> bytes | CloseAfter | None:
        if line == "LOGOUT":
            return b"OK Goodbye\n"
        return table[line]

    return reply


class TestMalformedAnswers:
    """Bad bytes from upsd become DecodeError or ConnectError, and the connection is reset."""

    @pytest.mark.parametrize(
        "payload",
        [
            b"BEGIN LIST VAR ups\nthis is not a VAR line\nEND LIST VAR ups\n",
            b'BEGIN LIST VAR ups\nVAR ups battery.charge "87\nEND LIST VAR ups\n',
            b'BEGIN LIST VAR ups\nVAR other battery.charge "87"\nEND LIST VAR ups\n',
            b'BEGIN LIST VAR ups\nVAR ups x "\x01"\nEND LIST VAR ups\n',
        ],
        ids=["garbage", "unterminated-quote", "other-ups", "control-char"],
    )
    async def test_bad_row_fails_that_answer_only(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]], payload: bytes
    ) -> None:
        """A bad row inside a list is that answer's DecodeError; the connection stays."""
        server = await fake(
            answers(
                {"LIST VAR ups": payload, "LIST VAR good": GOOD_LIST.replace(b" ups", b" good")}
            )
        )
        async with NutClient("127.0.0.1", server.port, timeout=2) as client:
            bad, good = await client.list_vars_many(["ups", "good"])
            assert isinstance(bad, DecodeError)
            assert "LIST VAR ups" in str(bad)
            assert isinstance(good, dict)
            assert good
            with pytest.raises(DecodeError):
                await client.list_vars("ups")
        assert server.connections == 1

    async def test_answers_in_one_piece(self, fake: Callable[[Reply], Awaitable[FakeUpsd]]) -> None:
        """A batch's answers arriving in one write are each read whole, and no further."""
        plain = b'BEGIN LIST VAR a\nVAR a ups.load "20"\nVAR a ups.status "OL"\nEND LIST VAR a\n'
        bad = b'BEGIN LIST VAR b\nVAR b ups.load "2\nEND LIST VAR b\n'
        escaped = b'BEGIN LIST VAR c\nVAR c ups.mfr "Say \\"hi\\" C:\\\\"\nEND LIST VAR c\n'
        server = await fake(
            answers(
                {
                    "LIST VAR a": b"",  # held back: all three go out with the last request's
                    "LIST VAR b": b"",
                    "LIST VAR c": plain + bad + escaped,
                    "LIST VAR d": plain.replace(b" a", b" d"),
                }
            )
        )
        async with NutClient("127.0.0.1", server.port, timeout=2) as client:
            first, second, third = await client.list_vars_many(["a", "b", "c"])
            assert first == {"ups.load": "20", "ups.status": "OL"}
            assert isinstance(second, DecodeError)
            assert third == {"ups.mfr": 'Say "hi" C:\\'}
            assert await client.list_vars("d") == first  # the stream is still in step
        assert server.connections == 1

    async def test_del_is_a_character(self, fake: Callable[[Reply], Awaitable[FakeUpsd]]) -> None:
        """DEL (0x7f) is inside upsd's own range (0x20-0x7f): the value keeps it."""
        payload = b'BEGIN LIST VAR ups\nVAR ups ups.serial "AB\x7fCD"\nEND LIST VAR ups\n'
        server = await fake(answers({"LIST VAR ups": payload}))
        async with NutClient("127.0.0.1", server.port) as client:
            assert await client.list_vars("ups") == {"ups.serial": "AB\x7fCD"}

    @pytest.mark.parametrize(
        "payload",
        [b"BEGIN LIST UPS\nEND LIST UPS\n", b"OK\n"],
        ids=["wrong-list", "no-list"],
    )
    async def test_garbage_is_decode_error(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]], payload: bytes
    ) -> None:
        """An answer that is not a list is a DecodeError; the next request uses a new connection."""
        server = await fake(answers({"LIST VAR ups": payload}))
        async with NutClient("127.0.0.1", server.port, timeout=2) as client:
            with pytest.raises(DecodeError):
                await client.list_vars("ups")
            with pytest.raises(DecodeError):
                await client.list_vars("ups")
        assert server.connections == 2

    async def test_truncated_answer_is_connect_error(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]]
    ) -> None:
        """Closing in the middle of a list: ConnectError (a fresh connection is not retried)."""
        server = await fake(answers({"LIST VAR ups": CloseAfter(GOOD_LIST[:50])}))
        async with NutClient("127.0.0.1", server.port, timeout=2) as client:
            with pytest.raises(ConnectError, match="dropped"):
                await client.list_vars("ups")
        assert server.connections == 1

    async def test_over_long_line(self, fake: Callable[[Reply], Awaitable[FakeUpsd]]) -> None:
        """A line over 64 KiB is a DecodeError and the connection is closed."""
        huge = (
            b'BEGIN LIST VAR ups\nVAR ups x "' + b"a" * (MAX_LINE + 10) + b'"\nEND LIST VAR ups\n'
        )
        server = await fake(answers({"LIST VAR ups": huge}))
        async with NutClient("127.0.0.1", server.port, timeout=2) as client:
            with pytest.raises(DecodeError, match="longer than"):
                await client.list_vars("ups")
            await asyncio.sleep(0.05)
            assert server.closed_by_client == 1

    async def test_no_reply_times_out(self, fake: Callable[[Reply], Awaitable[FakeUpsd]]) -> None:
        """Silence is a DeviceTimeoutError within the budget, not a hang."""

        async def silent(line: str) -> bytes:
            await asyncio.sleep(0 if line == "LOGOUT" else 30)
            return b"OK Goodbye\n"

        server = await fake(silent)
        async with NutClient("127.0.0.1", server.port, timeout=0.3) as client:
            async with asyncio.timeout(2):
                with pytest.raises(DeviceTimeoutError, match=r"0\.3s"):
                    await client.list_vars("ups")

    async def test_latin1_is_tolerated(self, fake: Callable[[Reply], Awaitable[FakeUpsd]]) -> None:
        """A value that is not UTF-8 is read as Latin-1."""
        payload = b'BEGIN LIST VAR ups\nVAR ups ups.model "Onduleur \xe9t\xe9"\nEND LIST VAR ups\n'
        server = await fake(answers({"LIST VAR ups": payload}))
        async with NutClient("127.0.0.1", server.port) as client:
            assert await client.list_vars("ups") == {"ups.model": "Onduleur été"}


class TestErrAnswers:
    """ERR lines map onto the error tree; per-UPS ones do not break the pipeline."""

    @pytest.mark.parametrize(
        ("code", "error"),
        [
            ("ACCESS-DENIED", AuthError),
            ("USERNAME-REQUIRED", AuthError),
            ("PASSWORD-REQUIRED", AuthError),
            ("INVALID-PASSWORD", AuthError),
            ("DATA-STALE", StaleError),
            ("DRIVER-NOT-CONNECTED", StaleError),
            ("UNKNOWN-UPS", ProtocolError),
            ("SOMETHING-NEW", ProtocolError),
        ],
    )
    async def test_err_codes(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]], code: str, error: type[Exception]
    ) -> None:
        """``ERR <code>`` for one UPS is that UPS's error; the other UPS in the pipeline is read."""
        server = await fake(
            answers({"LIST VAR bad": f"ERR {code}\n".encode(), "LIST VAR ups": GOOD_LIST})
        )
        async with NutClient("127.0.0.1", server.port) as client:
            bad, good = await client.list_vars_many(["bad", "ups"])
            assert isinstance(bad, error)
            assert code in str(bad)
            assert good == {
                "battery.charge": "87",
                "ups.status": "OB DISCHRG",
                "ups.mfr": 'Say "hi" C:\\',
            }
            with pytest.raises(error):
                await client.list_vars("bad")
        assert server.connections == 1

    async def test_faults_through_the_source(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]]
    ) -> None:
        """Through NutSource: DATA-STALE and status WAIT are StaleError faults; good UPSes read."""
        wait = b'BEGIN LIST VAR wait\nVAR wait ups.status "WAIT"\nEND LIST VAR wait\n'
        table = {
            "LIST UPS": b'BEGIN LIST UPS\nUPS stale ""\nUPS ups "x"\nUPS wait ""\nEND LIST UPS\n',
            "LIST VAR stale": b"ERR DATA-STALE\n",
            "LIST VAR ups": GOOD_LIST,
            "LIST VAR wait": wait,
        }
        server = await fake(answers(table))
        cfg = nut_config(name="lab", server=f"127.0.0.1:{server.port}", ups="*")
        async with NutSource(cfg) as source:
            events = {e.device: e for e in await source.read() if not isinstance(e, Roster)}
        assert isinstance(events["lab/ups"], Reading)
        assert events["lab/ups"].measures
        for name in ("lab/stale", "lab/wait"):
            fault = events[name]
            assert isinstance(fault, DeviceFault)
            assert isinstance(fault.error, StaleError)

    async def test_auth_error_at_login(self, fake: Callable[[Reply], Awaitable[FakeUpsd]]) -> None:
        """A refused PASSWORD is an AuthError (and the password is never in the message)."""
        server = await fake(
            answers(
                {"USERNAME mon": b"OK\n", "PASSWORD s3cr3t-sentinel": b"ERR INVALID-PASSWORD\n"}
            )
        )
        async with NutClient(
            "127.0.0.1", server.port, username="mon", password="s3cr3t-sentinel"
        ) as client:
            with pytest.raises(AuthError) as caught:
                await client.list_ups()
        assert "s3cr3t-sentinel" not in str(caught.value)


class TestConnection:
    """Pipelining, the retry on a dropped connection, LOGOUT, secrets."""

    async def test_requests_are_pipelined(self) -> None:
        """All LIST VAR requests are written before any answer is read (else the server waits)."""
        names = [f"u{i}" for i in range(5)]

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            async with asyncio.timeout(1):  # a client waiting for answers would never send all
                requests = [(await reader.readline()).decode().split() for _ in names]
            for _, _, ups in requests:
                writer.write(
                    f'BEGIN LIST VAR {ups}\nVAR {ups} ups.status "OL"\n'
                    f"END LIST VAR {ups}\n".encode()
                )
            await reader.readline()  # LOGOUT
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, NutClient("127.0.0.1", port, timeout=3) as client:
            results = await client.list_vars_many(names)
        assert results == [{"ups.status": "OL"}] * len(names)

    async def test_dropped_connection_retried_once(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]]
    ) -> None:
        """A dropped idle connection costs one reconnect, not an error."""
        served = 0

        def reply(line: str) -> bytes | None:
            nonlocal served
            if line == "LOGOUT":
                return b"OK Goodbye\n"
            served += 1
            return GOOD_LIST if served % 2 else None  # answer, then drop on the next request

        server = await fake(reply)
        async with NutClient("127.0.0.1", server.port) as client:
            assert (await client.list_vars("ups"))["battery.charge"] == "87"
            assert (await client.list_vars("ups"))["battery.charge"] == "87"
        assert server.connections == 2

    async def test_logout_on_close(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Closing says LOGOUT; credentials were sent first; the password is never logged."""
        table = {
            "USERNAME mon": b"OK\n",
            'PASSWORD "pw with space"': b"OK\n",
            "LIST VAR ups": GOOD_LIST,
        }
        server = await fake(answers(table))
        cfg = nut_config(
            name="rack",
            source="nut",
            server=f"127.0.0.1:{server.port}",
            ups="ups",
            username="mon",
            password="pw with space",
        )
        caplog.set_level(logging.DEBUG, logger="power_exporter")
        async with NutSource(cfg) as source:
            await source.read()
        assert server.received == [
            "USERNAME mon",
            'PASSWORD "pw with space"',
            "LIST VAR ups",
            "LOGOUT",
        ]
        assert "connected to upsd" in caplog.text
        assert "pw with space" not in caplog.text


class TestReadOnly:
    """SET, INSTCMD, FSD and LOGIN can never leave the client."""

    @pytest.mark.parametrize(
        "request_words",
        [
            ("SET", "VAR", "ups", "ups.delay.shutdown", "10"),
            ("INSTCMD", "ups", "load.off"),
            ("FSD", "ups"),
            ("LOGIN", "ups"),
            ("login", "ups"),
            ("PRIMARY", "ups"),
            ("MASTER", "ups"),
            ("LIST", "CMD", "ups"),
            ("GET", "TRACKING"),
            (),
        ],
    )
    async def test_refused_and_never_sent(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]], request_words: tuple[str, ...]
    ) -> None:
        """The single write path refuses the request; upsd receives nothing at all."""
        server = await fake(answers({"LIST VAR ups": GOOD_LIST}))
        async with NutClient("127.0.0.1", server.port) as client:
            with pytest.raises(ForbiddenRequestError):
                await client._write([request_words])
            with pytest.raises(ForbiddenRequestError):
                await client._transact([request_words], _read_anything, None)
        assert server.received == []
        assert server.connections == 0

    def test_allow_list_is_read_only(self) -> None:
        """No write verb is in the allow-list."""
        assert not {"SET", "INSTCMD", "FSD", "LOGIN", "PRIMARY", "MASTER"} & set(ALLOWED_REQUESTS)
        check_request(("LIST", "VAR", "ups"))

    async def test_no_injection_through_names(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]]
    ) -> None:
        """A UPS name carrying a newline cannot smuggle a second request."""
        server = await fake(answers({}))
        async with NutClient("127.0.0.1", server.port) as client:
            with pytest.raises(ValueError, match="control characters"):
                await client.list_vars("ups\nINSTCMD ups load.off")
        assert server.received == []
        assert server.connections == 0


async def _read_anything(client: NutClient, request: tuple[str, ...]) -> list[str]:
    del request
    return await client._read_words()


class TestSharedConnection:
    """One client per upsd and config: its lock wait, its SSL context, its pool."""

    async def test_lock_wait_counts_against_the_budget(
        self, fake: Callable[[Reply], Awaitable[FakeUpsd]]
    ) -> None:
        """A request queued behind a slow one times out within its own budget, as busy."""
        release = asyncio.Event()

        async def slow(line: str) -> bytes:
            if line == "LIST VAR slow":
                await release.wait()
                return GOOD_LIST.replace(b" ups", b" slow")
            return b"OK Goodbye\n" if line == "LOGOUT" else GOOD_LIST

        server = await fake(slow)
        async with NutClient("127.0.0.1", server.port, timeout=5) as client:
            first = asyncio.create_task(client.list_vars("slow"))
            await asyncio.sleep(0.05)  # the first request holds the connection
            with pytest.raises(DeviceTimeoutError, match="busy"):
                await client.list_vars("ups", budget=0.2)
            release.set()
            assert await first
        assert server.connections == 1  # the waiting request never touched the connection

    def test_one_pool_per_event_loop(self) -> None:
        """Each event loop (each runtime) has its own pool; within one loop, the same one."""

        async def pools() -> tuple[ClientPool, ClientPool]:
            return loop_pool(), loop_pool()

        first, again = asyncio.run(pools())
        other, _ = asyncio.run(pools())
        assert first is again
        assert other is not first
