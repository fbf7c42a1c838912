"""Scrape latency: /metrics over real HTTP for a large fleet, against prometheus_client.

The baseline is prometheus_client's ``generate_latest`` over the very same series (a custom
collector holding them, so only rendering is timed), measured in the same run.

The server is the real Renderer behind the real aiohttp app; the scraper is another process
(bench/scrape_client.py, plain http.client on a kept-alive connection), as Prometheus is.
Between two scrapes, readings arrive as polls would deliver them; the renderer renders a device
when its reading arrives (on the loop's next turn), so a scrape finds most rows ready. The
"rendered at the scrape" case denies it that turn: the scrape itself has to render every
changed device (the floor of that work).
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from bench.synthetic import fleet, touch
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


ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def naming(_kind: str) -> NoRawNaming:
    return NoRawNaming()


async def scrape_latencies(
    store: Store,
    scrapes: int,
    changed: float,
    *,
    settle: bool = True,
    gzip: bool = False,
    path: str = "/metrics",
) -> tuple[list[float], list[float]]:
    """Latencies of ``scrapes`` scrapes by another process, and the renderer's time on arrivals."""
    renderer = Renderer(store, naming)
    app = make_app(store, renderer)
    rng = random.Random(2)
    names = [s.name for s in store]

    async def touch_route(request: web.Request) -> web.Response:
        touch(store, names, float(request.query["fraction"]), rng)
        started = time.perf_counter()
        if request.query["settle"] == "0" and renderer._pending is not None:  # noqa: SLF001
            # No turn for the renderer: the changed devices wait for the scrape to render them.
            renderer._pending.cancel()  # noqa: SLF001
            renderer._pending = None  # noqa: SLF001
        if request.query["settle"] == "1":
            # The renderer's turns on the loop (in slices) until every arrival is rendered, as
            # between two real scrapes; the time it took is the column "rendering on arrival".
            while renderer.waiting:  # noqa: ASYNC110 (polls the renderer turn by turn: no event)
                await asyncio.sleep(0)
        return web.Response(text=f"{time.perf_counter() - started}")

    app.router.add_post("/bench/touch", touch_route)
    static = renderer.render()

    async def static_route(_request: web.Request) -> web.Response:
        return web.Response(body=static, content_type="text/plain")

    app.router.add_get("/bench/static", static_route)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.scrape_client",
        str(port),
        path,
        str(scrapes),
        str(changed),
        "1" if settle else "0",
        "1" if gzip else "0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await client.communicate()
    await runner.cleanup()
    store._watchers.clear()  # noqa: SLF001 (the next case brings its own renderer)
    assert client.returncode == 0, client.returncode
    result = json.loads(out)
    return result["latencies"], result["rendering"]


def baseline(store: Store) -> list[float]:
    renderer = Renderer(store, naming)
    page = renderer.render().decode()
    store._watchers.clear()  # noqa: SLF001
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FrozenCollector(page))  # type: ignore[arg-type]
    times = []
    for _ in range(20):
        started = time.perf_counter()
        generate_latest(registry)
        times.append(time.perf_counter() - started)
    return times


def series_count(store: Store) -> int:
    page = Renderer(store, naming).render().decode()
    store._watchers.clear()  # noqa: SLF001
    return sum(1 for line in page.splitlines() if line.startswith("power_"))


CASES = (
    # label, fraction of devices changed between scrapes, renderer gets its turn, gzip, path
    ("/metrics, no device changed", 0.0, True, False, "/metrics"),
    ("/metrics, 10 % of devices changed between scrapes", 0.1, True, False, "/metrics"),
    ("/metrics, every device changed between scrapes", 1.0, True, False, "/metrics"),
    (
        "/metrics, every device changed, rendered at the scrape (floor)",
        1.0,
        False,
        False,
        "/metrics",
    ),
    ("/metrics, gzip (as Prometheus asks), no device changed", 0.0, True, True, "/metrics"),
    ("/metrics, gzip, every device changed between scrapes", 1.0, True, True, "/metrics"),
    ("floor: aiohttp serving a constant body of the same size", 0.0, True, False, "/bench/static"),
)


def run(devices: int = 1000, scrapes: int = 300) -> list[str]:
    store, _ = fleet(devices)
    series = series_count(store)
    gc.collect()
    base_times = baseline(store)
    base = statistics.median(base_times)
    results: dict[str, tuple[float, float]] = {}
    lines = [
        f"### Scrape: {devices} devices, {series} series ({series / devices:.0f} per device)",
        "",
        "Goal: p50 <= 5 ms, p99 <= 20 ms, at least 50x faster than generate_latest.",
        "",
        "| case | p50 ms | p99 ms | vs generate_latest (p50) | rendering on arrival, ms |",
        "| --- | ---: | ---: | ---: | ---: |",
        (
            f"| prometheus_client generate_latest (render only, baseline) | {base * 1e3:.1f} | "
            f"{percentile(base_times, 0.99) * 1e3:.1f} | 1x | |"
        ),
    ]
    for label, changed, settle, gzip, path in CASES:
        count = scrapes if changed < 1 else scrapes // 3
        times, rendering = asyncio.run(
            scrape_latencies(store, count, changed, settle=settle, gzip=gzip, path=path)
        )
        p50, p99 = statistics.median(times), percentile(times, 0.99)
        arrival = f"{statistics.median(rendering) * 1e3:.1f}" if rendering else ""
        lines.append(
            f"| {label} | {p50 * 1e3:.2f} | {p99 * 1e3:.2f} | {base / p50:.0f}x | {arrival} |"
        )
        results[label] = (p50, p99)
    verdicts = [
        f"{label.removeprefix('/metrics, ')}: "
        + ("met" if p50 <= 0.005 and p99 <= 0.020 and base / p50 >= 50 else "NOT met")
        for label, (p50, p99) in results.items()
        if "floor" not in label
    ]
    lines += [
        "",
        "Rendering on arrival: the median time the renderer took, on the loop's turn after the",
        "readings were stored, to render the devices that changed (off the scrape path).",
        "",
        "Goal (p50 <= 5 ms, p99 <= 20 ms, >= 50x) per case: " + "; ".join(verdicts) + ".",
        "Where the floor is: rendering 40 series costs ~20 us per device (a float's repr alone is",
        "~0.3 us here), so a scrape that had to render 1000 changed devices itself could not beat",
        "~20 ms; that work is done as readings arrive instead. What is left at the scrape is the",
        "transfer of ~2.4 MB (the constant-body row) plus joining cached blocks; with gzip, the",
        "compression of 2.4 MB (~2 ms with ISA-L, ~9 ms with zlib).",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
