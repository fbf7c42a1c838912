"""A local stand-in for EcoFlow's cloud: the developer API, over real HTTP(S) on 127.0.0.1.

It checks every request's signature as EcoFlow's developer documentation describes it,
with its own implementation (never the exporter's), so a regression in the exporter's
signing fails here:

- headers ``accessKey``, ``nonce`` (six digits), ``timestamp`` (Unix ms), ``sign``;
- the parameters (the query of a GET; the JSON body when the Content-Type is JSON, as
  EcoFlow does even for a GET) sorted by key and flattened, then ``accessKey``, ``nonce``,
  ``timestamp`` appended; HMAC-SHA256 with the secret key, lowercase hex.

Refusals come as EcoFlow sends them: HTTP 200 with ``{"code", "message"}``. Codes seen
from EcoFlow: 8513 "accessKey is invalid", 8521 "signature is wrong" (also our answer to a
timestamp far from the server's clock: EcoFlow does not document that case, and the seed's
troubleshooting ties "signature is wrong" to the clock), 1006 "current device is not
allowed to get device info".

Extend it for other endpoints (the app account's login and certification) by subclassing
and adding to :meth:`FakeCloud.routes`; script failures per path with :meth:`FakeCloud.fail`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Self

from aiohttp import web

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable, Callable, Mapping
    from types import TracebackType

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEVICE_LIST: Final = "/iot-open/sign/device/list"
QUOTA_ALL: Final = "/iot-open/sign/device/quota/all"
CERTIFICATION: Final = "/iot-open/sign/certification"
MAX_SKEW_MS: Final = 15 * 60 * 1000


def _flat(value: object, key: str, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for name in sorted(value):
            _flat(value[name], f"{key}.{name}" if key else name, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flat(item, f"{key}[{index}]", out)
    elif isinstance(value, bool):
        out.append((key, "true" if value else "false"))
    else:
        out.append((key, "" if value is None else str(value)))


def expected_sign(params: Mapping[str, object], headers: Mapping[str, str], secret: str) -> str:
    """The signature EcoFlow expects for these params and headers."""
    pairs: list[tuple[str, str]] = []
    _flat(dict(params), "", pairs)
    pairs += [(name, headers.get(name, "")) for name in ("accessKey", "nonce", "timestamp")]
    text = "&".join(f"{key}={value}" for key, value in pairs)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


@dataclass
class Device:
    """One device bound to the account."""

    sn: str
    quota: dict[str, object]
    online: int = 1
    name: str | None = None
    product: str | None = None


@dataclass
class Fault:
    """A scripted answer: an HTTP status and body, and a delay before it."""

    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def envelope(code: str, message: str, data: object = None) -> dict[str, object]:
    """EcoFlow's answer envelope."""
    answer: dict[str, object] = {"code": code, "message": message}
    if data is not None:
        answer["data"] = data
    answer["eagleEyeTraceId"] = "0" * 32
    answer["tid"] = ""
    return answer


class FakeCloud:
    """EcoFlow's developer API for one account (``access_key``/``secret_key``)."""

    def __init__(
        self,
        access_key: str = "test-access-key",
        secret_key: str = "test-secret-key",  # noqa: S107 (a test key)
        *,
        clock_offset_ms: int = 0,
    ) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.clock_offset_ms = clock_offset_ms
        self.devices: dict[str, Device] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        # certification answers: the last one repeats
        self.certifications: list[dict[str, object]] = []
        self.certification_calls = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- set-up ---------------------------------------------------------------------------

    def add(self, sn: str, quota: Mapping[str, object], **kwargs: object) -> Device:
        """Bind a device to the account."""
        device = Device(sn, dict(quota), **kwargs)  # type: ignore[arg-type]
        self.devices[sn] = device
        return device

    def fail(self, path: str, *faults: Fault, sn: str | None = None) -> None:
        """Answer the next requests of ``path`` (for ``sn`` only, if given) with these faults."""
        self.faults[path if sn is None else f"{path}?sn={sn}"].extend(faults)

    def routes(self) -> list[web.RouteDef]:
        """Every route; subclasses add theirs."""
        return [
            web.get(DEVICE_LIST, self._signed(self._device_list)),
            web.get(QUOTA_ALL, self._signed(self._quota_all)),
            web.get(CERTIFICATION, self._signed(self._certification)),
        ]

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> Self:
        """Serve on 127.0.0.1, a free port; ``url`` is the base URL."""
        app = web.Application(client_max_size=1 << 20)
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        scheme = "https" if ssl_context else "http"
        host = "localhost" if ssl_context else "127.0.0.1"
        self.url = f"{scheme}://{host}:{port}"
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def count(self, path: str) -> int:
        """How many requests reached ``path``."""
        return sum(1 for seen, _ in self.requests if seen == path)

    # -- the signature ----------------------------------------------------------------------

    async def check(self, request: web.Request) -> dict[str, object] | None:
        """EcoFlow's refusal of a request, or None when its signature is right."""
        headers = request.headers
        if headers.get("accessKey") != self.access_key:
            return envelope("8513", "accessKey is invalid")
        nonce, stamp = headers.get("nonce", ""), headers.get("timestamp", "")
        if len(nonce) != 6 or not nonce.isdigit() or not stamp.isdigit():
            return envelope("8521", "signature is wrong")
        now = time.time_ns() // 1_000_000 + self.clock_offset_ms
        if abs(now - int(stamp)) > MAX_SKEW_MS:
            return envelope("8521", "signature is wrong")
        params: dict[str, object] = dict(request.query)
        if request.content_type.startswith("application/json"):
            # EcoFlow signs the JSON body when the Content-Type says JSON, even on a GET.
            body = await request.read()
            params = json.loads(body) if body else {}
        if not hmac.compare_digest(
            headers.get("sign", ""), expected_sign(params, headers, self.secret_key)
        ):
            return envelope("8521", "signature is wrong")
        return None

    def _signed(self, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self.requests.append((request.path, dict(request.query)))
            queue = self.faults.get(f"{request.path}?sn={request.query.get('sn')}")
            if not queue:
                queue = self.faults.get(request.path)
            if queue:
                fault = queue.popleft()
                await asyncio.sleep(fault.delay)
                return web.Response(status=fault.status, body=fault.body, headers=fault.headers)
            refusal = await self.check(request)
            if refusal is not None:
                return web.json_response(refusal)
            return await handler(request)

        return wrapped

    # -- endpoints --------------------------------------------------------------------------

    async def _device_list(self, request: web.Request) -> web.StreamResponse:  # noqa: ARG002
        rows = []
        for device in self.devices.values():
            row: dict[str, object] = {"sn": device.sn, "online": device.online}
            if device.name is not None:
                row["deviceName"] = device.name
            if device.product is not None:
                row["productName"] = device.product
            rows.append(row)
        return web.json_response(envelope("0", "Success", rows))

    async def _quota_all(self, request: web.Request) -> web.StreamResponse:
        device = self.devices.get(request.query.get("sn", ""))
        if device is None:
            return web.json_response(
                envelope("1006", "current device is not allowed to get device info")
            )
        # Offline devices keep serving their last values, as EcoFlow's cloud does.
        return web.json_response(envelope("0", "Success", device.quota))

    async def _certification(self, request: web.Request) -> web.StreamResponse:  # noqa: ARG002
        index = min(self.certification_calls, len(self.certifications) - 1)
        self.certification_calls += 1
        if index < 0:
            return web.json_response(envelope("1", "no certification configured"))
        return web.json_response(envelope("0", "Success", self.certifications[index]))
