"""The HTTP face: ``/metrics``, ``/probe``, ``/healthz``, ``/sd``; the status page (``status/``).

Handlers call the exposition and read the store; they never touch a device, except
``/probe``, which asks the runtime for one read of one device within Prometheus's scrape
budget (``fresh=0``: its background state), answered from the probe's own state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

try:  # ISA-L's deflate is four times as fast as zlib's at the same ratio (bench/RESULTS.md)
    from isal.isal_zlib import DEFLATED, compressobj
except ImportError:  # pragma: no cover (a platform without isal wheels)
    from zlib import DEFLATED, compressobj  # type: ignore[assignment]

from aiohttp import web

from power_exporter.exposition.text import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    Renderer,
)
from power_exporter.status.routes import add_status_routes

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aiohttp.typedefs import Middleware

    from power_exporter.runtime import Runtime
    from power_exporter.store import Store

# Like blackbox_exporter's scrape_timeout_offset: leave Prometheus time to receive the answer.
PROBE_TIMEOUT_OFFSET: Final = 0.5
DEFAULT_PROBE_BUDGET: Final = 10.0
_GZIP_MIN: Final = 1024
_GZIP_WBITS: Final = 31  # 16 + 15: a gzip header and trailer around a 32 KiB-window deflate
_CHUNK: Final = 256 * 1024  # bytes per write of a page sent in pieces


def _wants_openmetrics(request: web.Request) -> bool:
    return "application/openmetrics-text" in request.headers.get("Accept", "")


def _chunks(parts: list[bytes]) -> Iterator[bytes]:
    """Group small pieces into writes of about _CHUNK bytes."""
    group: list[bytes] = []
    size = 0
    for part in parts:
        group.append(part)
        size += len(part)
        if size >= _CHUNK:
            yield b"".join(group)
            group, size = [], 0
    if group:
        yield b"".join(group)


async def _stream_exposition(
    request: web.Request, parts: list[bytes], *, openmetrics: bool
) -> web.StreamResponse:
    """Send a page in pieces, gzipped piece by piece when asked: never one copy of it all."""
    content_type = OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE
    response = web.StreamResponse(headers={"Content-Type": content_type})
    size = sum(len(part) for part in parts)
    if "gzip" in request.headers.get("Accept-Encoding", "") and size >= _GZIP_MIN:
        compressor = compressobj(1, DEFLATED, _GZIP_WBITS)
        chunks = [compressor.compress(chunk) for chunk in _chunks(parts)]
        chunks.append(compressor.flush())
        response.headers["Content-Encoding"] = "gzip"
        size = sum(len(chunk) for chunk in chunks)
    else:
        chunks = list(_chunks(parts))
    response.content_length = size
    try:
        await response.prepare(request)
        for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:  # the scraper went away: nothing to answer
        pass
    return response


# ?fresh= values: read the device now (coalesced, at most once per probe_min_interval) or not.
_FRESH: Final[dict[str, bool]] = {"1": True, "true": True, "0": False, "false": False}


def _probe_budget(request: web.Request) -> float:
    header = request.headers.get("X-Prometheus-Scrape-Timeout-Seconds", "")
    try:
        budget = float(header)
    except ValueError:
        return DEFAULT_PROBE_BUDGET
    return max(0.1, budget - PROBE_TIMEOUT_OFFSET)


class Handlers:
    """The routes, bound to one store, renderer and runtime."""

    def __init__(self, store: Store, renderer: Renderer, runtime: Runtime | None) -> None:
        self.store = store
        self.renderer = renderer
        self.runtime = runtime

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        """Every device, from the store."""
        openmetrics = _wants_openmetrics(request)
        parts = self.renderer.render_parts(openmetrics=openmetrics)
        return await _stream_exposition(request, parts, openmetrics=openmetrics)

    async def probe(self, request: web.Request) -> web.StreamResponse:
        """One device: read now within the scrape budget, or (``fresh=0``) its stored state."""
        target = request.query.get("target", "")
        if not target:
            return web.Response(status=400, text="missing parameter: target\n")
        if target not in self.store:
            known = ", ".join(state.name for state in self.store)
            return web.Response(status=400, text=f"unknown target {target!r}; known: {known}\n")
        fresh = _FRESH.get(request.query.get("fresh", "1").lower())
        if fresh is None:
            return web.Response(status=400, text="fresh must be 1 or 0\n")
        openmetrics = _wants_openmetrics(request)
        body = None
        if self.runtime is not None:
            try:
                body = await self.runtime.probe(
                    target, _probe_budget(request), fresh=fresh, openmetrics=openmetrics
                )
            except KeyError:  # retired while we looked
                return web.Response(status=400, text=f"unknown target {target!r}\n")
        if body is None:
            body = self.renderer.render_device(target, openmetrics=openmetrics)
        return await _stream_exposition(request, [body], openmetrics=openmetrics)

    async def healthz(self, _request: web.Request) -> web.Response:
        """The process serves; devices may be down (that is what power_device_up says)."""
        return web.Response(text="ok\n")

    async def sd(self, request: web.Request) -> web.Response:
        """Prometheus HTTP service discovery: one target group per device, for ``/probe``."""
        groups = [
            {"targets": [request.host], "labels": {"__param_target": s.name, "device": s.name}}
            for s in self.store
        ]
        return web.json_response(groups)


def make_app(
    store: Store,
    renderer: Renderer,
    runtime: Runtime | None = None,
    middlewares: tuple[Middleware, ...] = (),
) -> web.Application:
    """The aiohttp application."""
    handlers = Handlers(store, renderer, runtime)
    app = web.Application(middlewares=middlewares)
    add_status_routes(app, store)  # /, /api/v1/devices, /static/: the status page
    app.router.add_get("/metrics", handlers.metrics)
    app.router.add_get("/probe", handlers.probe)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/sd", handlers.sd)
    return app
