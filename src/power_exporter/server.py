"""Listening sockets, and the limits every connection meets before a request is parsed.

aiohttp bounds a header line (``max_field_size``), the number of headers (``max_headers``),
the queue of pipelined requests (32, handled one after the other, so one response is in
flight per connection) and idle keep-alive time. It does not bound the time a client takes
to send its request, the total size of a request's head, or the number of connections, and
it logs a malformed request with a traceback. Those are done here, by a thin
``asyncio.Protocol`` around aiohttp's ``RequestHandler``: it runs before any byte reaches
the parser, so it holds before authentication, and refusing a connection over the cap
costs one ``accept`` and one ``close``, no parser and no task.

Sockets are bound here too: ``:PORT`` binds IPv4 and IPv6 (each on its own socket, as Go
does), and systemd socket activation hands over sockets from file descriptor 3.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from power_exporter.errors import ConfigError, ListenError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

SYSTEMD_FIRST_FD: Final = 3
BACKLOG: Final = 128
# File descriptors kept for what is not an HTTP connection: the log, upstream connections
# of devices beyond the per-device estimate, the event loop's own.
FD_RESERVE: Final = 64
FDS_PER_DEVICE: Final = 2
_NO_IPV6: Final = frozenset({errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT})
# Why a bind failed, for people (the errno's own text is terse).
BIND_ERRORS: Final[Mapping[int, str]] = {
    errno.EADDRINUSE: "the address is already in use (is another exporter running there?)",
    errno.EACCES: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
    errno.EADDRNOTAVAIL: "no interface of this machine has that address",
}
_STATUS_LINE: Final[Mapping[int, bytes]] = {
    408: b"HTTP/1.1 408 Request Timeout\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
}


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may make the server hold (``--web.*`` flags)."""

    max_connections: int = 512
    request_timeout: float = 10.0  # from a request's first byte to the end of its head
    max_header_bytes: int = 16 * 1024  # of one request's head, every header together
    idle_timeout: float = 60.0  # an idle keep-alive connection is closed after this
    log_interval: float = 60.0  # one log line per reason per interval, with a count


class _RateLog:
    """Log one line per key and interval, saying how many were not logged."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last: dict[str, float] = {}
        self.quiet: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last.get(key, -self.interval) < self.interval:
            self.quiet[key] = self.quiet.get(key, 0) + 1
            return
        self.last[key] = now
        quiet = self.quiet.pop(key, 0)
        if quiet:
            log.warning("%s (%d more since the last such line)", message % args, quiet)
        else:
            log.warning(message, *args)


_REASONS: Final[Mapping[str, str]] = {
    "timeout": "request not received within the request timeout",
    "header_size": "request head larger than the limit",
    "malformed": "malformed request",
    "evicted": "evicted, waiting longest unserved, to make room for a new connection",
}


@dataclass(slots=True)
class HttpStats:
    """Counts for the self-metrics."""

    open: int = 0
    refused: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_REASONS, 0))


class Guard:
    """Makes the guarded protocols of every listening socket, and counts what they refuse."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.stats = HttpStats()
        self.rate_log = _RateLog(limits.log_interval)
        # Open connections, the one whose current request (or idleness) began first, first.
        self.connections: dict[_Guarded, None] = {}

    def make_room(self) -> bool:
        """At the cap, close the connection that has waited longest without being served.

        A client trickling a request head, or idling, gives way to a new connection; only
        when every connection has a request in a handler is the new one refused. So a flood
        of slow connections cannot lock out a scrape (they are evicted oldest first).
        """
        if self.stats.open < self.limits.max_connections:
            return True
        for connection in self.connections:
            if not connection.serving():
                connection.evict()
                return True
        return False

    def protocol(self, server: web.Server) -> asyncio.Protocol:
        """A protocol for one new connection (``loop.create_server``'s factory)."""
        return _Guarded(self, server)

    def reject(self, reason: str, peer: object) -> None:
        """Count a connection closed for ``reason`` and log it (once per interval)."""
        self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1
        self.rate_log.warning(reason, "closed a connection from %s: %s", peer, _REASONS[reason])


class _Guarded(asyncio.Protocol):
    """One connection: counted against the cap, its request heads timed and measured."""

    def __init__(self, guard: Guard, server: web.Server) -> None:
        self.guard = guard
        self.server = server
        self.inner: RequestHandler | None = None
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.pending = 0  # bytes of the request being received
        self.parsed = 0  # requests aiohttp has parsed on this connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 (a stream server's)
        self.transport = transport
        stats = self.guard.stats
        if not self.guard.make_room():
            stats.refused += 1
            self.guard.rate_log.warning(
                "refused",
                "refusing connections: %d open, every one being served (--web.max-connections)",
                stats.open,
            )
            transport.abort()
            return
        stats.open += 1
        self.inner = self.server()
        self.inner.connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.guard.limits.request_timeout, self._too_slow)
        self.pending = 0
        self._to_back()

    def _to_back(self) -> None:
        self.guard.connections.pop(self, None)
        self.guard.connections[self] = None

    def serving(self) -> bool:
        """Whether a handler is answering a request of this connection now."""
        # aiohttp's own flag (private; without it every connection counts as evictable).
        return self.timer is None and bool(getattr(self.inner, "_request_in_progress", False))

    def evict(self) -> None:
        """Close at once, to make room for a new connection."""
        self.guard.connections.pop(self, None)
        if self.transport is not None:
            self.guard.reject("evicted", self.transport.get_extra_info("peername"))
            self.transport.abort()

    def _too_slow(self) -> None:
        self.timer = None
        self._close("timeout", 408)

    def _close(self, reason: str, status: int) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.guard.reject(reason, self.transport.get_extra_info("peername"))
        self.transport.write(
            _STATUS_LINE[status] + b"Connection: close\r\nContent-Length: 0\r\n\r\n"
        )
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            return
        if self.timer is None:
            self._arm()  # the first bytes of the next request
        self.inner.data_received(data)
        # aiohttp counts the requests it has parsed; a new one means a whole head arrived.
        # (A private attribute, read with a default: aiohttp has no public hook at parse
        # time. tests/e2e/test_hostile.py fails if a new aiohttp drops it.)
        parsed: int = getattr(self.inner, "_request_count", 0)
        if parsed != self.parsed:
            self.parsed = parsed
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            self._to_back()
            return
        self.pending += len(data)
        if self.pending > self.guard.limits.max_header_bytes:
            self._close("header_size", 431)

    def eof_received(self) -> None:
        if self.inner is not None:
            self.inner.eof_received()

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.connections.pop(self, None)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.inner is not None:
            self.guard.stats.open -= 1
            inner, self.inner = self.inner, None
            inner.connection_lost(exc)


class RequestLog(logging.Logger):
    """aiohttp's request logger: a malformed request is one counted line, never a traceback.

    aiohttp logs a request it cannot parse with ``logger.exception``; a client sending
    garbage would fill the log with tracebacks. An error of our own handlers (not an HTTP
    parse error) keeps its traceback: that is a bug to see.
    """

    def __init__(self, guard: Guard) -> None:
        super().__init__(f"{__name__}.requests")
        self.parent = log
        self.guard = guard

    def exception(  # type: ignore[override]
        self,
        msg: object,
        *args: object,
        exc_info: bool | BaseException | None = True,
        stack_info: bool = False,
        stacklevel: int = 1,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        """Log an error of a request: one counted line for a parse error, else a traceback."""
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(error, HttpProcessingError):
            reason = "malformed"
            self.guard.stats.rejected[reason] = self.guard.stats.rejected.get(reason, 0) + 1
            message = str(error.message or type(error).__name__).splitlines()[0][:120]
            self.guard.rate_log.warning(reason, "malformed request: %r", message)
            return
        super().exception(
            msg, *args, exc_info=exc_info, stack_info=stack_info, stacklevel=stacklevel, extra=extra
        )


class GuardedSite(web.SockSite):
    """A site on a bound socket whose connections go through the guard."""

    __slots__ = ("_guard",)

    def __init__(
        self,
        runner: web.BaseRunner,
        sock: socket.socket,
        guard: Guard,
        ssl_context: object | None = None,
    ) -> None:
        super().__init__(runner, sock, ssl_context=ssl_context, backlog=BACKLOG)  # type: ignore[arg-type]
        self._guard = guard

    async def start(self) -> None:
        """Register with the runner and serve the socket."""
        await web.BaseSite.start(self)
        server = self._runner.server
        assert isinstance(server, web.Server)  # noqa: S101 (set by runner.setup())
        loop = asyncio.get_running_loop()
        # A TLS handshake happens before the guard sees the connection: bound it too.
        tls = self._ssl_context is not None
        self._server = await loop.create_server(
            lambda: self._guard.protocol(server),
            sock=self._sock,
            ssl=self._ssl_context,
            backlog=self._backlog,
            ssl_handshake_timeout=self._guard.limits.request_timeout if tls else None,
        )


# -- sockets ------------------------------------------------------------------------------------


def parse_listen(text: str) -> tuple[str | None, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (every address, IPv4 and IPv6)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:  # noqa: PLR2004 (the last port)
        raise ConfigError(
            f"listen address {text!r} must be HOST:PORT, [IPV6]:PORT or :PORT", field="listen"
        )
    host = host.strip("[]")
    return (host or None), int(port)


def _bind(family: socket.AddressFamily, address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)  # noqa: FBT003 (the socket API)
    except OSError:
        sock.close()
        raise
    return sock


def bind(text: str) -> list[socket.socket]:
    """Listening sockets for one ``--web.listen-address``."""
    host, port = parse_listen(text)
    try:
        if host is None:
            sockets = [_bind(socket.AF_INET, ("0.0.0.0", port))]  # noqa: S104 (":PORT" means all)
            port = sockets[0].getsockname()[1]  # the same port on IPv6 when :0 was asked
            try:
                sockets.append(_bind(socket.AF_INET6, ("::", port)))
            except OSError as exc:
                if exc.errno not in _NO_IPV6:
                    for sock in sockets:
                        sock.close()
                    raise
                log.info("IPv6 is not available here; listening on IPv4 only")
            return sockets
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        sockets = []
        for family, _type, _proto, _name, address in dict.fromkeys(infos):
            sockets.append(_bind(family, (str(address[0]), port)))
    except OSError as exc:
        reason = BIND_ERRORS.get(exc.errno or 0) or str(exc.strerror or exc).lower()
        raise ListenError(text, reason) from None
    return sockets


def systemd_sockets(environ: Mapping[str, str] | None = None) -> list[socket.socket]:
    """The sockets systemd passed (``LISTEN_PID``, ``LISTEN_FDS``, from descriptor 3)."""
    env = os.environ if environ is None else environ
    if env.get("LISTEN_PID", "") != str(os.getpid()):
        raise ConfigError(
            "--web.systemd-socket: no sockets were passed to this process "
            "(LISTEN_PID is not its pid; is the .socket unit active?)",
            field="web.systemd-socket",
        )
    try:
        count = int(env.get("LISTEN_FDS", "0"))
    except ValueError:
        count = 0
    if count < 1:
        raise ConfigError("--web.systemd-socket: LISTEN_FDS names no socket")
    sockets = []
    for fd in range(SYSTEMD_FIRST_FD, SYSTEMD_FIRST_FD + count):
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)  # noqa: FBT003 (the socket API)
        sockets.append(sock)
    return sockets


def describe(sock: socket.socket) -> str:
    """``host:port`` of a listening socket, IPv6 in brackets."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"


# -- file limit ---------------------------------------------------------------------------------


def files_needed(limits: Limits, devices: int) -> int:
    """Descriptors the connection cap and the devices may take together."""
    return limits.max_connections + FDS_PER_DEVICE * devices + FD_RESERVE


def check_file_limit(limits: Limits, devices: int, warn: Callable[..., None] = log.warning) -> int:
    """Raise the soft RLIMIT_NOFILE towards what is needed (as Go does); warn if still short.

    Returns the soft limit in force afterwards.
    """
    needed = files_needed(limits, devices)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        warn(
            "the file limit (RLIMIT_NOFILE %d) is below what %d connections and %d device(s) "
            "may need (%d): raise LimitNOFILE / ulimit -n, or lower --web.max-connections",
            soft,
            limits.max_connections,
            devices,
            needed,
        )
    return soft
