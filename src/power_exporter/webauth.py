"""The aiohttp middlewares behind ``--web.config.file``: basic auth, SANs, rate limit, headers.

Basic auth checks bcrypt hashes, as the Prometheus exporter-toolkit does. bcrypt is slow by
design (about 70 ms at cost 10, 280 ms at 12), so a check runs in a worker thread, one at a
time, and its result is remembered for ``ttl`` seconds under a keyed digest of the user, the
stored hash and the password (never the password itself): a scrape with known credentials
costs no bcrypt, and neither does a wrong password tried again. So that a client sending
wrong passwords cannot starve the others, each client address has at most one check running
and ``PENDING_PER_CLIENT`` waiting; past that it gets 429 at once. Checks of different
clients take turns (one per address in the queue), and an address that gave good
credentials before goes ahead of those that did not. An unknown user
is checked against a decoy hash so that the time of a refusal does not tell which users
exist.

The rate limit is a token bucket per client address; with basic auth it applies after a
successful check, so that a flood without credentials does not spend a scraper's tokens.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import heapq
import hmac
import ipaddress
import itertools
import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Final

import bcrypt
from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from aiohttp.typedefs import Handler, Middleware

log = logging.getLogger(__name__)

# Paths served without credentials: health checks (Docker HEALTHCHECK, kubelet probes) carry
# none, and the answer says nothing but "ok".
OPEN_PATHS: Final = frozenset({"/healthz"})
BCRYPT_HASH: Final = re.compile(r"^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$")
CACHE_TTL: Final = 3600.0
CACHE_SIZE: Final = 1024
PENDING_PER_CLIENT: Final = 2  # bcrypt checks of one address waiting behind its running one
BUCKETS: Final = 4096  # rate-limit buckets kept (one per client address)
_CHALLENGE: Final = 'Basic realm="power-exporter", charset="UTF-8"'


def _unauthorized() -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(headers={"WWW-Authenticate": _CHALLENGE}, text="Unauthorized\n")


class _Turns:
    """One bcrypt check at a time; addresses that gave good credentials before go first.

    A scraper whose cached credentials expire, or whose file changed, then waits for the
    check running now and not behind a queue of strangers' guesses.
    """

    def __init__(self) -> None:
        self.busy = False
        self.waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self.order = itertools.count()

    async def acquire(self, *, first: bool) -> None:
        if not self.busy:
            self.busy = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiters, (0 if first else 1, next(self.order), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # the turn was handed to us as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self.waiters:
            _, _, turn = heapq.heappop(self.waiters)
            if not turn.done():
                turn.set_result(None)  # the turn passes on; busy stays True
                return
        self.busy = False


class _BasicAuth:
    """Checks credentials against bcrypt hashes, remembering successes for a while."""

    def __init__(self, users: Mapping[str, str], ttl: float) -> None:
        self.users = {user: hashed.encode() for user, hashed in users.items()}
        self.ttl = ttl
        self.key = secrets.token_bytes(32)
        self.known: dict[bytes, tuple[bool, float]] = {}  # digest -> (good, expiry)
        self.turns = _Turns()  # one bcrypt at a time: it is CPU-bound by design
        self.clients: dict[str, asyncio.Lock] = {}  # one check in the queue per client
        self.waiting: dict[str, int] = {}
        self.proven: dict[str, float] = {}  # address -> until when it counts as a known client
        self.decoy: bytes | None = None

    def _digest(self, user: str, password: str) -> bytes:
        message = user.encode() + b"\0" + self.users.get(user, b"") + b"\0" + password.encode()
        return hmac.new(self.key, message, hashlib.sha256).digest()

    def _decoy(self, hashed: bytes) -> bytes:
        # A hash of a random password at the cost of a real one, made the first time it is needed.
        if self.decoy is None:
            rounds = int(hashed.split(b"$")[2])
            self.decoy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds))
        return self.decoy

    def _verify(self, user: str, password: str) -> bool:
        hashed = self.users.get(user) or self._decoy(next(iter(self.users.values())))
        try:
            return bcrypt.checkpw(password.encode(), hashed)
        except ValueError:  # bcrypt refuses passwords over 72 bytes; none can match
            return False

    async def check(self, user: str, password: str, client: str = "") -> bool:
        """Whether the credentials are good; 429 (raised) when the client has too many pending."""
        digest = self._digest(user, password)
        now = time.monotonic()
        known = self.known.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        if self.waiting.get(client, 0) > PENDING_PER_CLIENT:
            raise web.HTTPTooManyRequests(text="Too Many Requests\n")
        self.waiting[client] = self.waiting.get(client, 0) + 1
        try:
            mine = self.clients.setdefault(client, asyncio.Lock())
            first = self.proven.get(client, 0.0) > now
            async with mine:
                await self.turns.acquire(first=first)
                try:
                    good = await asyncio.to_thread(self._verify, user, password)
                finally:
                    self.turns.release()
        finally:
            self.waiting[client] -= 1
            if not self.waiting[client]:
                del self.waiting[client]
                self.clients.pop(client, None)
        good = good and user in self.users
        self._remember(digest, good, time.monotonic())
        if good:
            self.proven.pop(client, None)
            self.proven[client] = time.monotonic() + self.ttl
            if len(self.proven) > CACHE_SIZE:
                del self.proven[next(iter(self.proven))]
        return good

    def _remember(self, digest: bytes, good: bool, now: float) -> None:  # noqa: FBT001
        if len(self.known) >= CACHE_SIZE:
            self.known = {d: v for d, v in self.known.items() if v[1] > now and v[0]}
            while len(self.known) >= CACHE_SIZE:  # oldest first (insertion order)
                del self.known[next(iter(self.known))]
        self.known[digest] = (good, now + self.ttl)


def parse_basic_auth(header: str) -> tuple[str, str] | None:
    """``Basic base64(user:password)`` -> (user, password), or None when malformed.

    Hand-written because aiohttp deprecates its ``BasicAuth`` (3.14) and has no decoder
    besides it; credentials are UTF-8 (RFC 7617).
    """
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def basic_auth_middleware(
    users: Mapping[str, str],
    *,
    open_paths: Collection[str] = OPEN_PATHS,
    ttl: float = CACHE_TTL,
) -> Middleware:
    """Require HTTP basic auth (``user -> bcrypt hash``) on every path but ``open_paths``."""
    if not users:
        raise ValueError("basic auth needs at least one user")
    auth = _BasicAuth(users, ttl)

    @web.middleware
    async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in open_paths:
            return await handler(request)
        credentials = parse_basic_auth(request.headers.get("Authorization", ""))
        if credentials is None:
            raise _unauthorized()
        user, password = credentials
        if not await auth.check(user, password, request.remote or ""):
            log.info("refused basic auth for user %r from %s", user, request.remote)
            raise _unauthorized()
        return await handler(request)

    return basic_auth


def _normalized_san(kind: str, value: str) -> str:
    if kind == "IP Address":
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            return value.strip()
    return value


def allowed_sans_middleware(
    sans: Collection[str], *, open_paths: Collection[str] = OPEN_PATHS
) -> Middleware:
    """Refuse (403) a verified client certificate none of whose SANs is in ``sans``.

    The toolkit refuses such a client during the handshake; Python's ssl cannot, so the
    check runs on each request, before any handler.
    """
    allowed = {_normalized_san("IP Address", san) for san in sans}

    @web.middleware
    async def allowed_sans(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in open_paths:
            return await handler(request)
        cert = request.transport.get_extra_info("peercert") if request.transport else None
        names = cert.get("subjectAltName", ()) if isinstance(cert, dict) else ()
        if not any(_normalized_san(kind, value) in allowed for kind, value in names):
            raise web.HTTPForbidden(text="client certificate not allowed\n")
        return await handler(request)

    return allowed_sans


def rate_limit_middleware(
    interval: float, burst: int, *, open_paths: Collection[str] = OPEN_PATHS
) -> Middleware:
    """A token bucket per client address: one token every ``interval`` s, at most ``burst``."""
    buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when)

    @web.middleware
    async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in open_paths:
            return await handler(request)
        now = time.monotonic()
        client = request.remote or ""
        tokens, at = buckets.pop(client, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) / interval)
        if len(buckets) >= BUCKETS:  # forget the least recently seen client (a full bucket)
            del buckets[next(iter(buckets))]
        if tokens < 1.0:
            buckets[client] = (tokens, now)
            raise web.HTTPTooManyRequests(text="Too Many Requests\n")
        buckets[client] = (tokens - 1.0, now)
        return await handler(request)

    return rate_limit


def headers_middleware(headers: Mapping[str, str]) -> Middleware:
    """Set ``headers`` on every response, errors included."""
    fixed = dict(headers)

    @web.middleware
    async def set_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(fixed)
            raise
        response.headers.update(fixed)
        return response

    return set_headers
