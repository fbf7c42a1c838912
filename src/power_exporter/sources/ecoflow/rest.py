"""EcoFlow's developer REST API: signed GETs on one pooled aiohttp session.

Endpoints (``/iot-open/sign/...``): ``device/list`` (cached for ``device_list_cache_ttl``),
``device/quota/all?sn=`` and ``certification`` (the developer MQTT credentials). Read-only:
the ``PUT`` that sets quotas is never sent.

Every attempt is signed afresh and has its own timeout; 429, 5xx, timeouts and dropped
connections are retried with exponential backoff (``http_backoff_factor`` x 2^attempt,
or the server's ``Retry-After``). EcoFlow answers errors with HTTP 200 and an envelope
``{"code": "8521", "message": "signature is wrong"}``; the codes we know become our errors
with the code in the message, unknown codes a :class:`ProtocolError`. aiohttp's exceptions
are mapped in one place, :func:`_mapped`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import urlsplit

import aiohttp

from power_exporter.errors import (
    AuthError,
    ConnectError,
    DecodeError,
    DeviceTimeoutError,
    OfflineError,
    ProtocolError,
    SourceError,
)
from power_exporter.sources.ecoflow.signing import signed_headers
from power_exporter.sources.secret import excerpt

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping
    from types import TracebackType

log = logging.getLogger(__name__)

DEVICE_LIST: Final = "/iot-open/sign/device/list"
QUOTA_ALL: Final = "/iot-open/sign/device/quota/all"
CERTIFICATION: Final = "/iot-open/sign/certification"
MAX_BODY: Final = 4 << 20  # bytes; a quota map is a few kB
# What an error shows of an answer that is not JSON (redacted from this much, then cut to
# 60 characters), and of EcoFlow's own error message.
MAX_EXCERPT_BYTES: Final = 4096
_MESSAGE_LIMIT: Final = 200
_MAX_SLEEP: Final = 30.0
_RETRY_STATUS: Final = frozenset({429, 500, 502, 503, 504})


class DeviceAuthError(AuthError):
    """EcoFlow refused one device (8512), not the account: only that device is down."""


# EcoFlow's error codes (as seen in its answers; EcoFlow documents few of them).
_CODES: Final[Mapping[str, tuple[type[SourceError], str]]] = {
    "8521": (
        AuthError,
        (
            "the signature was refused: check secret_key, and this machine's clock (EcoFlow"
            " refuses timestamps far from its own; a skewed clock is the usual cause)"
        ),
    ),
    "8513": (
        AuthError,
        (
            "the access key was refused: check access_key, and that host is your account's"
            " region (api-e.ecoflow.com Europe, api-a.ecoflow.com Americas, api.ecoflow.com)"
        ),
    ),
    "8512": (
        DeviceAuthError,
        "no permission for this device: it may not be bound to this developer account",
    ),
    "1006": (
        ProtocolError,
        "EcoFlow does not serve this device on the developer API; try api: device",
    ),
    "6012": (OfflineError, "EcoFlow says the device is offline"),
}


class _RetryableError(Exception):
    """An attempt that may succeed when repeated; ``error`` is what to raise if not."""

    def __init__(self, error: SourceError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def api_error(code: str, message: str, path: str) -> SourceError:
    """The error for an EcoFlow envelope with a non-zero code."""
    kind, hint = _CODES.get(code, (ProtocolError, ""))
    text = f"EcoFlow error {code} on {path}: {message or 'no message'}"
    return kind(f"{text} ({hint})" if hint else text)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One row of ``device/list``."""

    sn: str
    name: str = ""
    product_name: str = ""
    online: bool = False


@dataclass(frozen=True, slots=True)
class Certification:
    """The developer MQTT credentials from ``certification``."""

    account: str
    password: str = field(repr=False)
    host: str
    port: int
    protocol: str = "mqtts"


@contextlib.asynccontextmanager
async def _mapped(host: str, timeout: float) -> AsyncIterator[None]:  # noqa: ASYNC109
    """Map aiohttp's exceptions onto ours (the retryable ones wrapped)."""
    try:
        yield
    except TimeoutError:
        raise _RetryableError(
            DeviceTimeoutError(f"no answer from {host} within {timeout:g} s")
        ) from None
    except aiohttp.ClientConnectorCertificateError as exc:
        raise ConnectError(
            f"TLS certificate of {host} not trusted: {exc.certificate_error}"
        ) from None
    except aiohttp.ClientSSLError as exc:
        raise ConnectError(f"TLS with {host} failed: {exc}") from None
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
        raise _RetryableError(ConnectError(f"{host}: {type(exc).__name__}: {exc}")) from None
    except aiohttp.ClientError as exc:
        raise ConnectError(f"{host}: {type(exc).__name__}: {exc}") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _online(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip() in {"1", "true", "True"}


class RestClient:
    """A client of the developer API for one pair of keys (no secret in its repr)."""

    def __init__(
        self,
        base_url: str,
        access_key: str,
        secret_key: str,
        *,
        http_timeout: float = 10.0,
        retries: int = 3,
        backoff_factor: float = 0.5,
        list_ttl: float = 60.0,
        ca_file: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._keys = (access_key, secret_key)
        self.http_timeout = http_timeout
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.list_ttl = list_ttl
        self.ca_file = ca_file
        self._host = urlsplit(self.base_url).hostname or self.base_url
        self._session: aiohttp.ClientSession | None = None
        self._devices: dict[str, DeviceInfo] = {}
        self._devices_at: float | None = None
        self._list_lock = asyncio.Lock()  # entries sharing the client fetch the list once

    def __repr__(self) -> str:
        return f"RestClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        tls: ssl.SSLContext | bool = True
        if self.ca_file is not None:
            tls = ssl.create_default_context(cafile=self.ca_file)
        connector = aiohttp.TCPConnector(limit=10, ssl=tls)
        self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pooled session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- requests -------------------------------------------------------------------------

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> object:
        """GET a signed endpoint and return the envelope's ``data`` (None when absent)."""
        params = dict(params or {})
        attempt = 0
        while True:
            try:
                return await self._once(path, params)
            except _RetryableError as exc:
                if attempt >= self.retries:
                    raise exc.error from None
                delay = exc.retry_after
                if delay is None:
                    delay = self.backoff_factor * 2**attempt
                delay = min(delay, _MAX_SLEEP)
                log.debug("%s: %s; retry %d in %.2f s", path, exc.error, attempt + 1, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _once(self, path: str, params: dict[str, str]) -> object:
        if self._session is None:
            raise RuntimeError("RestClient used outside `async with`")
        access_key, secret_key = self._keys
        # No Content-Type on a GET: with one, EcoFlow checks the signature against the body.
        headers = signed_headers(params, access_key, secret_key)
        timeout = aiohttp.ClientTimeout(total=self.http_timeout)
        async with (
            _mapped(self._host, self.http_timeout),
            self._session.get(
                self.base_url + path, params=params, headers=headers, timeout=timeout
            ) as response,
        ):
            body = await self._body(response, path)
        return self._envelope(path, response.status, body)

    async def _body(self, response: aiohttp.ClientResponse, path: str) -> bytes:
        if response.status in _RETRY_STATUS:
            error = ProtocolError(f"HTTP {response.status} from {self._host} on {path}")
            raise _RetryableError(error, _retry_after(response.headers.get("Retry-After")))
        length = response.content_length
        if length is not None and length > MAX_BODY:
            raise DecodeError(f"{path}: answer of {length} bytes, more than {MAX_BODY}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > MAX_BODY:
                raise DecodeError(f"{path}: answer larger than {MAX_BODY} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _envelope(self, path: str, status: int, body: bytes) -> object:
        try:
            envelope = json.loads(body)
        except (ValueError, RecursionError):
            if status >= 400:  # noqa: PLR2004
                raise ProtocolError(f"HTTP {status} from {self._host} on {path}") from None
            # Redacted before it is cut: a cut first could leave a key's head in the excerpt.
            snippet = excerpt(body[:MAX_EXCERPT_BYTES].decode("utf-8", "replace"), self._keys)
            raise DecodeError(f"{path}: answer is not JSON: {snippet!r}") from None
        if not isinstance(envelope, dict) or "code" not in envelope:
            if status >= 400:  # noqa: PLR2004
                raise ProtocolError(f"HTTP {status} from {self._host} on {path}")
            raise DecodeError(f"{path}: answer is not EcoFlow's {{code, message, data}}")
        code = str(envelope.get("code"))
        if code != "0":
            message = excerpt(str(envelope.get("message") or ""), self._keys, _MESSAGE_LIMIT)
            raise api_error(code, message, path)
        return envelope.get("data")

    # -- endpoints ------------------------------------------------------------------------

    def list_is_cached(self) -> bool:
        """Whether the next ``device_list()`` would answer from the cache."""
        return self._devices_at is not None and time.monotonic() - self._devices_at < self.list_ttl

    async def device_list(self, *, refresh: bool = False) -> dict[str, DeviceInfo]:
        """The devices bound to the account, by serial (cached for ``list_ttl``)."""
        asked = time.monotonic()
        async with self._list_lock:
            fetched_meanwhile = self._devices_at is not None and self._devices_at >= asked
            if (self.list_is_cached() and not refresh) or fetched_meanwhile:
                return self._devices
            return await self._fetch_list()

    async def _fetch_list(self) -> dict[str, DeviceInfo]:
        data = await self.get(DEVICE_LIST)
        if data is None:
            data = []
        if not isinstance(data, list):
            raise DecodeError(f"{DEVICE_LIST}: data is not a list")
        found: dict[str, DeviceInfo] = {}
        for row in data:
            sn = row.get("sn") if isinstance(row, dict) else None
            if not isinstance(sn, str) or not sn:
                log.debug("%s: skipping a row without sn", DEVICE_LIST)
                continue
            found[sn] = DeviceInfo(
                sn=sn,
                name=str(row.get("deviceName") or ""),
                product_name=str(row.get("productName") or ""),
                online=_online(row.get("online")),
            )
        self._devices, self._devices_at = found, time.monotonic()
        return found

    async def quota_all(self, sn: str) -> dict[str, object]:
        """Every quota of one device (``{}`` when EcoFlow sends no ``data``)."""
        data = await self.get(QUOTA_ALL, {"sn": sn})
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise DecodeError(f"{QUOTA_ALL}: data for {sn} is not an object")
        return data

    async def certification(self) -> Certification:
        """The credentials of the developer MQTT broker."""
        data = await self.get(CERTIFICATION)
        if not isinstance(data, dict):
            raise DecodeError(f"{CERTIFICATION}: data is not an object")
        try:
            account = str(data["certificateAccount"])
            password = str(data["certificatePassword"])
            host = str(data.get("url") or "mqtt.ecoflow.com")
            port = int(str(data.get("port") or 8883))
        except (KeyError, ValueError) as exc:
            raise DecodeError(f"{CERTIFICATION}: missing or bad {exc}") from None
        protocol = str(data.get("protocol") or "mqtts")
        return Certification(account, password, host, port, protocol)
