"""The exporter's runtime and HTTP app served on 127.0.0.1, asked with a real HTTP client."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from power_exporter.exposition.text import Renderer
from power_exporter.http import make_app
from power_exporter.runtime import Runtime
from power_exporter.sources.base import NoRawNaming, RawNaming
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence

    from power_exporter.sources.base import DeviceConfig, SourceKind

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(body: bytes) -> Samples:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(body: bytes, name: str, **labels: str) -> float | None:
    """One sample's value, or None when the exposition lacks it."""
    return samples(body).get((name, tuple(sorted(labels.items()))))


def device_lines(body: bytes) -> list[str]:
    """The lines of an exposition that belong to devices (what a probe must not change)."""
    return [line for line in body.decode().splitlines() if 'device="' in line]


@dataclass
class Answer:
    """One HTTP answer and how long it took, from sending the request to its last byte."""

    status: int
    body: bytes
    seconds: float


@dataclass
class Served:
    """A running exporter: its store and runtime, and a client to ask it."""

    store: Store
    runtime: Runtime
    base: str
    session: aiohttp.ClientSession = field(repr=False)

    async def get(self, path: str, **headers: str) -> Answer:
        """GET a path; headers as keyword arguments (dashes as they are)."""
        started = time.monotonic()
        async with self.session.get(self.base + path, headers=headers) as response:
            body = await response.read()
            return Answer(response.status, body, time.monotonic() - started)

    async def probe(self, target: str, scrape_timeout: float, query: str = "") -> Answer:
        """GET /probe?target= as Prometheus does, with its scrape-timeout header."""
        header = {"X-Prometheus-Scrape-Timeout-Seconds": f"{scrape_timeout:g}"}
        params = {"target": target}
        started = time.monotonic()
        async with self.session.get(
            f"{self.base}/probe{query}", params=params, headers=header
        ) as response:
            body = await response.read()
            return Answer(response.status, body, time.monotonic() - started)


@contextlib.asynccontextmanager
async def serving(
    devices: Sequence[DeviceConfig], kinds: Mapping[str, SourceKind] = KINDS
) -> AsyncIterator[Served]:
    """Run the runtime for ``devices`` and serve its HTTP app until the block ends."""
    store = Store()
    runtime = Runtime(devices, store, kinds=kinds)

    def naming_for(kind: str) -> RawNaming:
        found = kinds.get(kind)
        return found.naming if found is not None else NoRawNaming()

    runner = web.AppRunner(make_app(store, Renderer(store, naming_for), runtime))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    runtime.start()
    connector = aiohttp.TCPConnector(limit=200)
    session = aiohttp.ClientSession(connector=connector, headers={"Accept-Encoding": "identity"})
    try:
        yield Served(store, runtime, f"http://127.0.0.1:{port}", session)
    finally:
        await session.close()
        await runtime.stop()
        await runner.cleanup()
