r"""A small, read-only asyncio client for upsd (the NUT network protocol).

Hand-written rather than taken from aionut: aionut has no STARTTLS, no ``GET``, does not
unescape ``\\"``/``\\\\`` in values, and sends one request at a time, while we pipeline
``LIST VAR`` for every UPS of a upsd in one round trip.

One persistent connection, serialised by one lock; a dropped connection is retried once
(aionut's ``connected_operation``). Every network wait runs under ``asyncio.timeout``. Any
failure in the middle of an exchange closes the connection, since the stream can no longer be
trusted to be in step. A caller that gives up (its own timeout, a cancelled task) does not
cut an exchange short: once the lock is held the exchange runs to its end, or to the client's
own budget, in a task of its own, so a connection other devices share is never dropped
because one of its users stopped waiting. The single write path only lets through the
read-only verbs in :data:`ALLOWED_REQUESTS`: ``SET``, ``INSTCMD``, ``FSD`` and ``LOGIN`` can
never be sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Self, TypeAlias, TypeVar

from power_exporter.errors import (
    ConnectError,
    DecodeError,
    DeviceTimeoutError,
    SourceError,
)
from power_exporter.sources.nut.lines import (
    MAX_LINE,
    decode_line,
    encode_request,
    error_from,
    is_error,
    parse_var_block,
    split_words,
)
from power_exporter.sources.nut.stream import DroppedError, Lines, line_at
from power_exporter.sources.secret import problem_with_secret

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Sequence
    from types import TracebackType

_T = TypeVar("_T")

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 3493

ALLOWED_REQUESTS: Final[dict[str, frozenset[str] | None]] = {
    "VER": None,
    "NETVER": None,
    "LIST": frozenset({"UPS", "VAR"}),
    "GET": frozenset({"VAR", "UPSDESC"}),
    "USERNAME": None,
    "PASSWORD": None,
    "STARTTLS": None,
    "LOGOUT": None,
}
"""Request verb -> the sub-commands allowed after it (None: any arguments). Nothing else is sent."""

UpsVars: TypeAlias = dict[str, str]
ListAnswer: TypeAlias = "dict[str, str] | SourceError"


class ForbiddenRequestError(ValueError):
    """A request outside the read-only allow-list: a bug in the caller, never sent."""


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """How to secure the connection with STARTTLS."""

    ca_file: str | None = None  # None: the system's trust store
    verify: bool = True
    hostname: str | None = None  # the name the certificate must carry; None: the server's host
    check_hostname: bool = True

    def context(self) -> ssl.SSLContext:
        """Build the client SSL context these options describe."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif not self.check_hostname:
            context.check_hostname = False
        return context


def check_request(words: Sequence[str]) -> None:
    """Refuse any request that is not in the read-only allow-list."""
    if not words:
        raise ForbiddenRequestError("empty NUT request")
    verb = words[0].upper()
    if verb not in ALLOWED_REQUESTS:
        raise ForbiddenRequestError(f"refusing to send {verb}: power-exporter never writes to upsd")
    allowed_sub = ALLOWED_REQUESTS[verb]
    if allowed_sub is not None and (len(words) < 2 or words[1].upper() not in allowed_sub):  # noqa: PLR2004
        raise ForbiddenRequestError(f"refusing to send {' '.join(words[:2])}: not a read request")


class NutClient:
    """A persistent, pipelining, read-only connection to one upsd."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: TlsOptions | None = None,
        timeout: float = 5.0,
    ) -> None:
        if password is not None and problem_with_secret(password) is not None:
            # Refused here too, not only by the configuration: quoting it for upsd would fail
            # at every poll, in an error quoting it.
            raise ValueError(f"the NUT password {problem_with_secret(password)}")
        self.host = host
        self.port = port
        self._username = username
        self._password = password
        self._tls = tls
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._ssl: ssl.SSLContext | None = None  # built once, at the first STARTTLS
        self._lines: Lines | None = None  # what is read from upsd, in whole lines
        self._writer: asyncio.StreamWriter | None = None
        self._inflight: asyncio.Task[object] | None = None

    def __repr__(self) -> str:
        return f"NutClient({self.host!r}, {self.port}, username={self._username!r})"

    @property
    def where(self) -> str:
        """``host:port`` for messages."""
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

    # ---- public requests ---------------------------------------------------------------

    async def version(self, *, budget: float | None = None) -> str:
        """Ask upsd for its ``VER`` text."""
        (answer,) = await self._transact([("VER",)], _read_single_line, budget)
        return answer

    async def list_ups(self, *, budget: float | None = None) -> dict[str, str]:
        """``LIST UPS``: every UPS upsd serves -> its description."""
        (answer,) = await self._transact([("LIST", "UPS")], _read_list_ups, budget)
        if isinstance(answer, SourceError):
            raise answer
        return answer

    async def get_upsdesc(self, ups: str, *, budget: float | None = None) -> str:
        """``GET UPSDESC``: the description of one UPS."""
        (answer,) = await self._transact([("GET", "UPSDESC", ups)], _read_upsdesc, budget)
        if isinstance(answer, SourceError):
            raise answer
        return answer

    async def list_vars(self, ups: str, *, budget: float | None = None) -> UpsVars:
        """``LIST VAR``: every variable of one UPS."""
        (answer,) = await self.list_vars_many([ups], budget=budget)
        if isinstance(answer, SourceError):
            raise answer
        return answer

    async def list_vars_many(
        self, upses: Sequence[str], *, budget: float | None = None
    ) -> list[ListAnswer]:
        """Pipeline ``LIST VAR`` for several UPSes: per UPS its variables or upsd's error."""
        if not upses:
            return []
        requests = [("LIST", "VAR", ups) for ups in upses]
        return await self._transact(requests, _read_list_var, budget)

    async def list_ups_and_vars(
        self, upses: Sequence[str], *, budget: float | None = None
    ) -> tuple[dict[str, str], list[ListAnswer]]:
        """``LIST UPS`` and ``LIST VAR`` for ``upses``, in one pipelined round trip."""
        requests = [("LIST", "UPS"), *(("LIST", "VAR", ups) for ups in upses)]
        listed, *rest = await self._transact(requests, _read_list_any, budget)
        if isinstance(listed, SourceError):
            raise listed
        return listed, rest

    async def list_vars_once(self, ups: str, *, budget: float | None = None) -> ListAnswer:
        """``LIST VAR`` and ``LOGOUT`` in one round trip, then close: a one-shot connection."""
        try:
            answer, _bye = await self._transact(
                [("LIST", "VAR", ups), ("LOGOUT",)], _read_list_or_bye, budget
            )
        finally:
            await self._drop()
        if answer is None:  # pragma: no cover - the first answer is always the list's
            raise DecodeError("upsd answered LOGOUT before LIST VAR")
        return answer

    async def close(self) -> None:
        """Say LOGOUT (best effort) and close the connection."""
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            inflight.cancel()  # the last user is leaving: nobody waits for that answer
            await asyncio.wait([inflight])
        async with self._lock:
            writer, lines = self._writer, self._lines
            if writer is None or lines is None:
                return
            with contextlib.suppress(OSError, TimeoutError, DroppedError, DecodeError):
                async with asyncio.timeout(1.0):
                    writer.write(encode_request(("LOGOUT",)))
                    await writer.drain()
                    await lines.line()
            await self._drop()

    # ---- connection ----------------------------------------------------------------------

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_LINE)
        self._lines, self._writer = Lines(reader, self.where), writer
        if self._tls is not None:
            if self._ssl is None:  # loading CAs takes tens of ms: off the loop, once per client
                self._ssl = await asyncio.to_thread(self._tls.context)
            await self._exchange_ok(("STARTTLS",), "OK STARTTLS")
            await writer.start_tls(self._ssl, server_hostname=self._tls.hostname or self.host)
        if self._username is not None:
            await self._exchange_ok(("USERNAME", self._username), "OK")
        if self._password is not None:
            await self._exchange_ok(("PASSWORD", self._password), "OK", secret=True)
        log.debug("connected to upsd at %s", self.where)
        return reader, writer

    async def _exchange_ok(
        self, words: tuple[str, ...], expected: str, *, secret: bool = False
    ) -> None:
        shown = words[0] if secret else " ".join(words)
        await self._write([words])
        answer = await self._read_words()
        if is_error(answer):
            raise error_from(answer, shown)
        if " ".join(answer) != expected:
            got = " ".join(answer)
            raise DecodeError(f"upsd answered {got!r} to {shown}, expected {expected!r}")

    async def _drop(self) -> None:
        writer = self._writer
        self._lines, self._writer = None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()

    async def _write(self, requests: Sequence[Sequence[str]]) -> None:
        """Send requests: the only way out to upsd, checked against the allow-list first."""
        for words in requests:
            check_request(words)
        payload = b"".join(encode_request(words) for words in requests)
        if self._writer is None:  # pragma: no cover - callers connect first
            raise DroppedError("not connected")
        self._writer.write(payload)
        await self._writer.drain()
        _quick_ack(self._writer)

    async def _read_line(self) -> bytes:
        """Read one whole line; a DecodeError here leaves the stream out of step."""
        if self._lines is None:  # pragma: no cover - callers connect first
            raise DroppedError("not connected")
        return await self._lines.line()

    async def _read_block(self, until: bytes | None = None) -> bytes:
        """Every whole line received so far (at least one) up to ``until``; see :class:`Lines`."""
        if self._lines is None:  # pragma: no cover - callers connect first
            raise DroppedError("not connected")
        return await self._lines.block(until)

    def _unread(self, data: bytes) -> None:
        if self._lines is not None:
            self._lines.unread(data)

    async def _read_words(self) -> list[str]:
        return split_words(decode_line(await self._read_line()))

    async def _transact(
        self,
        requests: Sequence[tuple[str, ...]],
        read_answer: Callable[[NutClient, tuple[str, ...]], Awaitable[_T]],
        budget: float | None,
    ) -> list[_T]:
        for words in requests:  # refuse before connecting: nothing of a bad batch is sent
            check_request(words)
            encode_request(words)
        budget = self.timeout if budget is None else budget
        deadline = asyncio.get_running_loop().time() + budget
        # Waiting for our turn on the shared connection counts against the budget; a cancelled
        # or timed-out wait for the lock is harmless: nothing has been sent. Once the lock is
        # held, the exchange is a task of its own that releases the lock when it ends, and the
        # caller only waits for it: the caller's cancellation stops the wait, not the exchange.
        try:
            async with asyncio.timeout_at(deadline):
                await self._lock.acquire()
        except TimeoutError:
            message = f"upsd at {self.where}: the shared connection stayed busy for {budget:g}s"
            raise DeviceTimeoutError(message) from None
        try:
            task = asyncio.create_task(self._exchange(requests, read_answer, budget, deadline))
        except BaseException:  # pragma: no cover - create_task does not fail in practice
            self._lock.release()
            raise
        self._inflight = task
        task.add_done_callback(self._exchange_done)
        return await asyncio.shield(task)

    def _exchange_done(self, task: asyncio.Task[object]) -> None:
        self._lock.release()
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # seen here, so an abandoned exchange's error is never "unretrieved"

    async def _exchange(
        self,
        requests: Sequence[tuple[str, ...]],
        read_answer: Callable[[NutClient, tuple[str, ...]], Awaitable[_T]],
        budget: float,
        deadline: float,
    ) -> list[_T]:
        """Send the requests and read every answer (the lock is held for us), by ``deadline``."""
        for attempt in (1, 2):
            fresh = self._writer is None
            try:
                with self._mapped_errors(budget):
                    async with asyncio.timeout_at(deadline):
                        if self._writer is None:
                            await self._connect()
                        await self._write(requests)
                        return [await read_answer(self, words) for words in requests]
            except DroppedError as exc:
                await self._drop()
                if attempt == 2 or fresh:  # noqa: PLR2004
                    raise ConnectError(f"upsd at {self.where} dropped the connection") from exc
                log.debug("upsd at %s dropped the connection; retrying once", self.where)
            except BaseException:
                await self._drop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def _mapped_errors(self, budget: float) -> Iterator[None]:
        """Map socket, TLS and timeout errors to ours: the one boundary where that happens."""
        try:
            yield
        except (SourceError, DroppedError, ForbiddenRequestError):
            raise
        except TimeoutError as exc:
            message = f"no answer from upsd at {self.where} within {budget:g}s"
            raise DeviceTimeoutError(message) from exc
        except ssl.SSLCertVerificationError as exc:
            raise ConnectError(
                f"TLS certificate of upsd at {self.where} not trusted: {exc.verify_message}"
            ) from exc
        except ssl.SSLError as exc:
            raise ConnectError(f"TLS with upsd at {self.where} failed: {exc.reason}") from exc
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise DroppedError(str(exc)) from exc
        except OSError as exc:
            raise ConnectError(f"cannot reach upsd at {self.where}: {exc.strerror or exc}") from exc


# ---- answer readers: each reads exactly one answer from the stream -------------------------


def _quick_ack(writer: asyncio.StreamWriter) -> None:
    """Acknowledge upsd's answer at once rather than after the 40 ms delayed-ACK timer.

    upsd writes its answer line by line with Nagle's algorithm on, so after the first segment
    it waits for our ACK; Linux delays that ACK, and every poll then takes ~40 ms (measured in
    bench/RESULTS.md: 25 polls/s against 13,000 with this). Quick-ACK mode is not sticky, so
    it is set after every request. Linux only; elsewhere nothing is done.
    """
    option = getattr(socket, "TCP_QUICKACK", None)
    sock = writer.get_extra_info("socket")
    if option is not None and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)


async def _read_single_line(client: NutClient, request: tuple[str, ...]) -> str:
    words = await client._read_words()  # noqa: SLF001
    if is_error(words):
        raise error_from(words, " ".join(request))
    return " ".join(words)


async def _read_upsdesc(client: NutClient, request: tuple[str, ...]) -> str | SourceError:
    words = await client._read_words()  # noqa: SLF001
    if is_error(words):
        return error_from(words, " ".join(request))
    if len(words) != 3 or words[:2] != ["UPSDESC", request[2]]:  # noqa: PLR2004
        raise DecodeError(f"unexpected answer to GET UPSDESC: {' '.join(words)!r}")
    return words[2]


async def _read_list_any(client: NutClient, request: tuple[str, ...]) -> ListAnswer:
    if request[1] == "UPS":
        return await _read_list_ups(client, request)
    return await _read_list_var(client, request)


async def _read_list_or_bye(client: NutClient, request: tuple[str, ...]) -> ListAnswer | None:
    if request[0] == "LOGOUT":
        await client._read_words()  # noqa: SLF001 ("OK Goodbye"; upsd then closes)
        return None
    return await _read_list_var(client, request)


async def _read_list_ups(client: NutClient, request: tuple[str, ...]) -> ListAnswer:
    return await _read_list(client, request, _ups_row)


async def _read_list_var(client: NutClient, request: tuple[str, ...]) -> ListAnswer:
    return await _read_list(client, request, _var_row)


def _ups_row(words: list[str], request: tuple[str, ...]) -> tuple[str, str] | None:
    del request
    if len(words) == 3 and words[0] == "UPS":  # noqa: PLR2004
        return words[1], words[2]
    return None


def _var_row(words: list[str], request: tuple[str, ...]) -> tuple[str, str] | None:
    if len(words) == 4 and words[0] == "VAR" and words[1] == request[2]:  # noqa: PLR2004
        return words[2], words[3]
    return None


async def _read_list(
    client: NutClient,
    request: tuple[str, ...],
    row: Callable[[list[str], tuple[str, ...]], tuple[str, str] | None],
) -> ListAnswer:
    """``BEGIN LIST <x>`` / rows / ``END LIST <x>``, or one ``ERR`` line.

    A bad row makes the answer a DecodeError (that UPS's fault), read to its end; a bad first
    line raises, since the stream can no longer be trusted to be in step.
    """
    what = list(request[1:])
    shown = " ".join(request)
    begin = ["BEGIN", "LIST", *what]
    line = await client._read_line()  # noqa: SLF001
    if line != (" ".join(begin) + "\n").encode():  # as upsd writes it: no need to split it
        first = split_words(decode_line(line))
        if is_error(first):
            return error_from(first, shown)
        if first != begin:
            message = f"expected BEGIN LIST {' '.join(what)}, upsd sent {' '.join(first)!r}"
            raise DecodeError(message)
    end = ["END", "LIST", *what]
    # LIST VAR answers come in blocks of whole lines, each parsed at once when plain.
    marker = (" ".join(end) + "\n").encode() if request[1] == "VAR" else None
    rows: dict[str, str] = {}
    problem: DecodeError | None = None
    while True:
        block = await client._read_block(marker)  # noqa: SLF001 (no further than our END)
        if marker is not None:
            at = line_at(block, marker)
            parsed = parse_var_block(block if at < 0 else block[:at], request[2])
            if parsed is not None:
                if rows:
                    rows.update(parsed)
                else:  # the whole answer, or its first part: no copy
                    rows = parsed
                if at < 0:
                    continue
                return rows if problem is None else problem  # the END line ends the block
        problem, rest = _rows_by_line(block, request, row, rows, problem)
        if rest is not None:
            client._unread(rest)  # noqa: SLF001 (the next answers)
            return rows if problem is None else problem


def _rows_by_line(
    block: bytes,
    request: tuple[str, ...],
    row: Callable[[list[str], tuple[str, ...]], tuple[str, str] | None],
    rows: dict[str, str],
    problem: DecodeError | None,
) -> tuple[DecodeError | None, bytes | None]:
    """Read a block's lines one by one into ``rows``.

    Returns the answer's first problem, and what follows its END line (None: the answer goes
    on in the next block).
    """
    shown = " ".join(request)
    end = ["END", "LIST", *request[1:]]
    # Lines after the first END line as upsd writes it are the next answers': not split here.
    at = line_at(block, (" ".join(end) + "\n").encode())
    after = 0  # where the next line starts
    for raw in (block if at < 0 else block[: block.index(b"\n", at) + 1]).split(b"\n")[:-1]:
        after += len(raw) + 1
        # A row that does not decode spoils this answer only: the lines are whole, so the
        # stream stays in step, and the other answers of the batch are read as usual.
        try:
            words = split_words(decode_line(raw))
        except DecodeError as exc:
            problem = problem or DecodeError(f"in the answer to {shown}: {exc}")
            continue
        if words == end:
            return problem, block[after:]  # the block is whole lines: so is what follows
        parsed = row(words, request)
        if parsed is None:
            message = f"unexpected line in the answer to {shown}: {' '.join(words)!r}"
            problem = problem or DecodeError(message)
            continue
        rows[parsed[0]] = parsed[1]
    return problem, None


__all__ = [
    "ALLOWED_REQUESTS",
    "DEFAULT_PORT",
    "ForbiddenRequestError",
    "NutClient",
    "TlsOptions",
    "check_request",
]
