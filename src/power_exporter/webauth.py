"""The aiohttp middlewares behind ``--web.config.file``: basic auth, SANs, rate limit, headers.

Basic auth checks bcrypt hashes, as the Prometheus exporter-toolkit does. bcrypt is slow by
design (about 70 ms at cost 10), so a check runs in a worker thread, one at a time, and a
successful check is remembered for ``ttl`` seconds under a keyed digest (never the password
itself). An unknown user is checked against a decoy hash so that the time of a refusal does
not tell which users exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
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
CACHE_TTL: Final = 60.0
CACHE_SIZE: Final = 1024
_CHALLENGE: Final = 'Basic realm="power-exporter", charset="UTF-8"'


def _unauthorized() -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(headers={"WWW-Authenticate": _CHALLENGE}, text="Unauthorized\n")


class _BasicAuth:
    """Checks credentials against bcrypt hashes, remembering successes for a while."""

    def __init__(self, users: Mapping[str, str], ttl: float) -> None:
        self.users = {user: hashed.encode() for user, hashed in users.items()}
        self.ttl = ttl
        self.key = secrets.token_bytes(32)
        self.ok: dict[bytes, float] = {}
        self.lock = asyncio.Lock()
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

    async def check(self, user: str, password: str) -> bool:
        digest = self._digest(user, password)
        now = time.monotonic()
        expires = self.ok.get(digest)
        if expires is not None and expires > now:
            return True
        known = user in self.users
        async with self.lock:  # one bcrypt at a time: it is CPU-bound by design
            good = await asyncio.to_thread(self._verify, user, password)
        if good and known:
            self._remember(digest, now)
            return True
        return False

    def _remember(self, digest: bytes, now: float) -> None:
        if len(self.ok) >= CACHE_SIZE:
            self.ok = {d: t for d, t in self.ok.items() if t > now}
            if len(self.ok) >= CACHE_SIZE:
                self.ok.clear()
        self.ok[digest] = now + self.ttl


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
        if not await auth.check(user, password):
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
    """A token bucket: one token every ``interval`` seconds, at most ``burst``; 429 when empty."""
    state = {"tokens": float(burst), "at": time.monotonic()}

    @web.middleware
    async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in open_paths:
            return await handler(request)
        now = time.monotonic()
        state["tokens"] = min(float(burst), state["tokens"] + (now - state["at"]) / interval)
        state["at"] = now
        if state["tokens"] < 1.0:
            raise web.HTTPTooManyRequests(text="Too Many Requests\n")
        state["tokens"] -= 1.0
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
