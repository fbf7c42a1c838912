"""Scrape latency: /metrics over real HTTP for a large fleet, against prometheus_client.

The baseline is prometheus_client's ``generate_latest`` over the very same series (a custom
collector holding them, so only rendering is timed), measured in the same run.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from bench.synthetic import fleet, series_per_device, touch
from power_exporter.exposition.text import Renderer
from power_exporter.http import make_app
from power_exporter.sources.base import NoRawNaming

if TYPE_CHECKING:
    from collections.abc import Iterator

    from power_exporter.store import Store


class FrozenCollector:
    """Holds parsed families and yields them: generate_latest then only renders."""

    def __init__(self, page: str) -> None:
        self.families = []
        for family in text_string_to_metric_families(page):
            gauge = GaugeMetricFamily(family.name, family.documentation, labels=None)
            gauge.samples = family.samples
            self.families.append(gauge)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def scrape_latencies(store: Store, scrapes: int, changed: float) -> list[float]:
    renderer = Renderer(store, lambda _k: NoRawNaming())
    runner = web.AppRunner(make_app(store, renderer), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rng = random.Random(2)
    names = [s.name for s in store]
    out: list[float] = []
    headers = {"Accept-Encoding": "identity"}
    async with aiohttp.ClientSession() as session:
        for _ in range(scrapes):
            if changed:
                touch(store, names, changed, rng)
            started = time.perf_counter()
            async with session.get(f"http://127.0.0.1:{port}/metrics", headers=headers) as r:
                await r.read()
            out.append(time.perf_counter() - started)
    await runner.cleanup()
    return out


def run(devices: int = 1000, scrapes: int = 200) -> list[str]:
    store, _ = fleet(devices)
    per_device = series_per_device(store)
    page = Renderer(store, lambda _k: NoRawNaming()).render().decode()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FrozenCollector(page))  # type: ignore[arg-type]
    baseline = []
    for _ in range(20):
        started = time.perf_counter()
        generate_latest(registry)
        baseline.append(time.perf_counter() - started)
    base = statistics.median(baseline)
    lines = [
        f"### Scrape: {devices} devices x {per_device:.0f} series = {devices * per_device:.0f}",
        "",
        "| case | p50 ms | p99 ms | vs generate_latest (p50) |",
        "| --- | ---: | ---: | ---: |",
        (
            f"| prometheus_client generate_latest (render only) | {base * 1e3:.1f} | "
            f"{percentile(baseline, 0.99) * 1e3:.1f} | 1x |"
        ),
    ]
    for label, changed in (
        ("no device changed", 0.0),
        ("10 % changed between scrapes", 0.1),
        ("every device changed", 1.0),
    ):
        times = asyncio.run(scrape_latencies(store, scrapes if changed < 1 else 50, changed))
        p50, p99 = statistics.median(times), percentile(times, 0.99)
        lines.append(
            f"| /metrics over HTTP, {label} | {p50 * 1e3:.2f} | {p99 * 1e3:.2f} | "
            f"{base / p50:.0f}x faster |"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
