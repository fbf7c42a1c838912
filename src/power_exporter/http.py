"""The HTTP face: ``/metrics``, ``/probe``, ``/healthz``, ``/sd``; the status page (``status/``).

Handlers call the exposition and read the store; they never touch a device, except
``/probe``, which asks the runtime for one read of one device within Prometheus's scrape
budget (``fresh=0``: its background state), answered from the probe's own state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from aiohttp import web

from power_exporter.errors import ConfigError
from power_exporter.exposition.gzipped import GzipCache
from power_exporter.exposition.pauses import no_collection
from power_exporter.exposition.text import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    Renderer,
)
from power_exporter.status.routes import add_status_routes

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from aiohttp.typedefs import Middleware

    from power_exporter.runtime import Runtime
    from power_exporter.store import Store

# Like blackbox_exporter's scrape_timeout_offset: leave Prometheus time to receive the answer.
PROBE_TIMEOUT_OFFSET: Final = 0.5
DEFAULT_PROBE_BUDGET: Final = 10.0
_GZIP_MIN: Final = 1024
# Bytes per write of a page sent in pieces: each write waits for the one before to drain, a
# turn of the loop where other work runs, so a 35 MB page in 256 KiB writes took 140 turns.
_CHUNK: Final = 2 * 1024 * 1024
_VARY: Final = "Accept, Accept-Encoding"
OPENMETRICS_TYPE: Final = "application/openmetrics-text"


def _weights(header: str) -> list[tuple[str, float]]:
    """``Accept``-style header -> [(value, q)] in the order given (RFC 9110 section 12.4.2)."""
    out: list[tuple[str, float]] = []
    for item in header.split(","):
        value, *params = (part.strip() for part in item.split(";"))
        if not value:
            continue
        q = 1.0
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(number)))
                except ValueError:
                    q = 0.0
        out.append((value.lower(), q))
    return out


def _weight(weights: list[tuple[str, float]], *names: str) -> float:
    """The q of the first of ``names`` (most specific first) that the header lists, else -1."""
    for name in names:
        for value, q in weights:
            if value == name:
                return q
    return -1.0


def _wants_openmetrics(request: web.Request) -> bool:
    """OpenMetrics when it is asked with a q above 0 and not below the text format's."""
    weights = _weights(request.headers.get("Accept", ""))
    om = _weight(weights, OPENMETRICS_TYPE)
    text = _weight(weights, "text/plain", "text/*", "*/*")
    return om > 0 and om >= text


def _wants_gzip(request: web.Request) -> bool:
    """Compress when ``Accept-Encoding`` lists gzip (or ``*``) with a q above 0."""
    return _weight(_weights(request.headers.get("Accept-Encoding", "")), "gzip", "*") > 0


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
    request: web.Request,
    page: list[bytes],
    rest: list[bytes],
    *,
    openmetrics: bool,
    gzip: GzipCache,
) -> web.StreamResponse:
    """Send a page in pieces, gzipped when asked (``page`` once per version): never joined."""
    content_type = OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE
    response = web.StreamResponse(headers={"Content-Type": content_type, "Vary": _VARY})
    parts = [*page, *rest]
    size = sum(len(part) for part in parts)
    chunks: Iterable[bytes]
    if size >= _GZIP_MIN and _wants_gzip(request):
        body = gzip.body(page, rest, openmetrics=openmetrics)
        response.headers["Content-Encoding"] = "gzip"
        size = sum(len(chunk) for chunk in body)
        chunks = body
    else:
        # Each write's group is joined when its turn comes, not the whole page before the
        # first byte (37 MB at 10,000 devices: 10-40 ms here, while the client waited).
        chunks = _chunks(parts)
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


@dataclass(frozen=True, slots=True)
class SdTarget:
    """What ``/sd`` lists as the target: this exporter as Prometheus reaches it.

    From ``--web.external-url`` or the listen address, never from a request's ``Host``
    header (a client could make the list point anywhere).
    """

    address: str = "localhost:9860"
    scheme: str = "http"
    path_prefix: str = ""

    @classmethod
    def from_url(cls, url: str) -> SdTarget:
        """``https://host[:port][/prefix]`` -> target (the port defaults by scheme)."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL with a host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return cls(f"{host}:{port}", parts.scheme, parts.path.rstrip("/"))

    def labels(self) -> dict[str, str]:
        """The target group labels besides the device's."""
        labels = {"__metrics_path__": f"{self.path_prefix}/probe"}
        if self.scheme != "http":
            labels["__scheme__"] = self.scheme
        return labels


def _sd_group(target: SdTarget, device: str, shard: int | None) -> dict[str, object]:
    """One ``/sd`` target group: the device's ``/probe`` at ``target``."""
    labels = {**target.labels(), "__param_target": device, "device": device}
    if shard is not None:  # for relabelling; Prometheus drops __meta_ labels after it
        labels["__meta_power_exporter_shard"] = str(shard)
    return {"targets": [target.address], "labels": labels}


# ``POST /-/reload``: re-reads the configuration; raises ConfigError (text for the client).
Reload = Callable[[], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Fleet:
    """What ``/sd?all=1`` lists: every device of the fleet at the replica that owns it.

    ``peers[n]`` is replica n as Prometheus reaches it (from ``--shard-peers``); ``devices``
    gives (device, owning shard) pairs. Without peers only an unsharded exporter can answer.
    """

    shard: int
    total: int
    peers: tuple[SdTarget, ...]
    devices: Callable[[], Iterable[tuple[str, int]]]

    @classmethod
    def from_template(
        cls,
        template: str | None,
        shard: int,
        total: int,
        devices: Callable[[], Iterable[tuple[str, int]]],
    ) -> Fleet:
        """Peers from a URL template such as ``http://power-exporter-{shard}.pe:9860``."""
        peers: list[SdTarget] = []
        for index in range(total if template else 0):
            url = template.replace("{shard}", str(index)) if template else ""
            try:
                peers.append(SdTarget.from_url(url))
            except ValueError as exc:
                raise ConfigError(str(exc), field="shard-peers") from None
        return cls(shard, total, tuple(peers), devices)


class Handlers:
    """The routes, bound to one store, renderer and runtime."""

    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        runtime: Runtime | None,
        sd_target: SdTarget,
        *,
        reload: Reload | None,
        fleet: Fleet | None = None,
    ) -> None:
        self.store = store
        self.renderer = renderer
        self.gzip = GzipCache()  # the devices part of /metrics, compressed once per version
        self.runtime = runtime
        self.sd_target = sd_target
        self.reload_config = reload
        self.fleet = fleet

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        """Every device, from the store."""
        openmetrics = _wants_openmetrics(request)
        page, rest = self.renderer.render_split(openmetrics=openmetrics)
        with self.renderer.sending(), no_collection():
            return await _stream_exposition(
                request, page, rest, openmetrics=openmetrics, gzip=self.gzip
            )

    async def probe(self, request: web.Request) -> web.StreamResponse:
        """One device: read now within the scrape budget, or (``fresh=0``) its stored state."""
        target = request.query.get("target", "")
        if not target:
            return web.Response(status=400, text="missing parameter: target\n")
        if target not in self.store:
            elsewhere = self._elsewhere(target)
            if elsewhere:
                return web.Response(status=404, text=elsewhere)
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
        # A page of its own: compressed whole (a throwaway cache keeps /metrics' one).
        return await _stream_exposition(
            request, [body], [], openmetrics=openmetrics, gzip=GzipCache()
        )

    def _elsewhere(self, target: str) -> str:
        """Where a device another replica of the fleet owns is served ('' if not known)."""
        fleet = self.fleet
        if fleet is None or fleet.total <= 1:
            return ""
        shard = dict(fleet.devices()).get(target)
        if shard is None or shard == fleet.shard:
            return ""
        where = f" at {fleet.peers[shard].address}" if fleet.peers else ""
        return f"{target!r} is not this replica's: replica {shard} serves it{where}\n"

    async def healthz(self, _request: web.Request) -> web.Response:
        """The process serves; devices may be down (that is what power_device_up says)."""
        return web.Response(text="ok\n")

    async def sd(self, request: web.Request) -> web.Response:
        """Prometheus HTTP service discovery: one target group per device, for ``/probe``.

        ``?all=1``: every device of a sharded fleet, each at the replica that owns it.
        """
        wanted = _FRESH.get(request.query.get("all", "0").lower())
        if wanted is None:
            return web.Response(status=400, text="all must be 1 or 0\n")
        fleet = self.fleet
        if wanted and fleet is not None and fleet.total > 1:
            if not fleet.peers:
                return web.Response(
                    status=400,
                    text="/sd?all=1 needs the replicas' addresses: start every replica with "
                    "--shard-peers URL (a template with {shard}, see docs/scaling.md)\n",
                )
            return web.json_response(
                [_sd_group(fleet.peers[shard], name, shard) for name, shard in fleet.devices()]
            )
        shard = fleet.shard if fleet is not None and fleet.total > 1 else None
        return web.json_response([_sd_group(self.sd_target, s.name, shard) for s in self.store])

    async def reload(self, _request: web.Request) -> web.Response:
        """``POST /-/reload`` (``--web.enable-lifecycle``), as Prometheus's."""
        if self.reload_config is None:
            return web.Response(status=403, text="Lifecycle API is not enabled.\n")
        try:
            summary = await self.reload_config()
        except ConfigError as exc:
            return web.Response(status=500, text=f"failed to reload config: {exc}\n")
        return web.Response(text=f"{summary}\n")


def make_app(
    store: Store,
    renderer: Renderer,
    runtime: Runtime | None = None,
    middlewares: tuple[Middleware, ...] = (),
    *,
    sd_target: SdTarget | None = None,
    reload: Reload | None = None,
    fleet: Fleet | None = None,
) -> web.Application:
    """The aiohttp application; ``reload`` is None unless ``--web.enable-lifecycle``."""
    handlers = Handlers(
        store, renderer, runtime, sd_target or SdTarget(), reload=reload, fleet=fleet
    )
    app = web.Application(middlewares=middlewares)
    app.router.add_post("/-/reload", handlers.reload)
    add_status_routes(app, store)  # /, /api/v1/devices, /static/: the status page
    app.router.add_get("/metrics", handlers.metrics)
    app.router.add_get("/probe", handlers.probe)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/sd", handlers.sd)
    return app
