"""Scale: 10,000 devices in one ``power-exporter serve`` process on this machine.

The devices replay a NUT dump (through the NUT tables and raw naming) every 15 s. Over a window
of three intervals we check that every device was read within its interval (each device's
``power_exporter_messages_total`` must grow by at least window/interval - 1, and every device
stays up), scrape ``/metrics`` twice a second from another process and take its latency, and
read the exporter's RSS and CPU time from /proc. The CPU time per reading gives where one core
runs out (an estimate, labelled as such).

The whole run is made ``RUNS`` times (the p99 goal holds for every run, not for the best), and
after each the same client scrapes a bare asyncio server sending that run's last page
(``bench/bare_server.py``) as often: the floor of moving a page of that size on this machine
at that moment, the run's own baseline.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.bench_footprint import SMALL
from bench.exporter import ROOT, Exporter, free_port, percentile, replay_config, up_count

if TYPE_CHECKING:
    from collections.abc import Callable

INTERVAL = 15.0
RUNS = 5
P99_GOAL = 0.1  # seconds
RSS_GOAL = 300 * 2**20
_MESSAGES = re.compile(rb'^power_exporter_messages_total\{device="([^"]+)"\} (\d+)$', re.MULTILINE)


def messages(page: bytes) -> dict[bytes, int]:
    return {name: int(count) for name, count in _MESSAGES.findall(page)}


@dataclass
class Run:
    """One run: what the exporter did over its window, and its page's floor."""

    first: float
    elapsed: float
    total: int
    late: int
    expected: int
    lowest_up: int
    latencies: list[float]
    size: int
    rss: int
    cpu: float
    floor: list[float]

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)

    @property
    def per_reading(self) -> float:
        return self.cpu / max(self.total, 1)


def scrape_every(
    get: Callable[[], tuple[int, bytes]], seconds: float, every: float = 0.5
) -> tuple[list[float], bytes]:
    """Scrape with ``get`` every ``every`` s for ``seconds``: the latencies and the last page."""
    latencies: list[float] = []
    page = b""
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        sent = time.perf_counter()
        status, page = get()
        latencies.append(time.perf_counter() - sent)
        assert status == 200, status
        time.sleep(max(0.0, every - (time.perf_counter() - sent)))
    return latencies, page


def floor(page: bytes, scrapes: int) -> list[float]:
    """Latencies of ``scrapes`` scrapes of a bare asyncio server sending ``page``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.txt"
        path.write_bytes(page)
        port = free_port()
        command = [sys.executable, "-m", "bench.bare_server", str(port), str(path)]
        with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE) as server:
            try:
                assert server.stdout is not None
                server.stdout.readline()  # "ready"
                bare = Exporter(path, port=port)  # only its HTTP client is used
                latencies, _ = scrape_every(lambda: bare.get(timeout=60), scrapes * 0.5)
            finally:
                server.terminate()
    return latencies


def measure(devices: int, intervals: int) -> Run:
    """One run of ``devices`` over ``intervals`` intervals, then its floor."""
    window = intervals * INTERVAL
    with tempfile.TemporaryDirectory() as folder:
        config = replay_config(Path(folder), devices, interval=f"{INTERVAL:g}s", dump=SMALL)
        with Exporter(config) as exporter:
            first = exporter.wait_up(devices, timeout=300)
            time.sleep(INTERVAL)  # past the start-up burst: readings spread over the interval
            _, page = exporter.get(timeout=60)
            before, cpu_before, started = messages(page), exporter.cpu_seconds(), time.monotonic()
            lowest_up = devices
            sizes: list[int] = []

            def get() -> tuple[int, bytes]:
                nonlocal lowest_up
                status, body = exporter.get(timeout=60)
                sizes.append(len(body))
                lowest_up = min(lowest_up, up_count(body))
                return status, body

            latencies, last = scrape_every(get, window)
            _, page = exporter.get(timeout=60)
            elapsed = time.monotonic() - started
            after, cpu = messages(page), exporter.cpu_seconds() - cpu_before
            rss = exporter.rss()
    reads = [after.get(name, 0) - count for name, count in before.items()]
    expected = int(elapsed // INTERVAL) - 1
    return Run(
        first=first,
        elapsed=elapsed,
        total=sum(reads),
        late=sum(1 for n in reads if n < expected),
        expected=expected,
        lowest_up=lowest_up,
        latencies=latencies,
        size=max(sizes),
        rss=rss,
        cpu=cpu,
        floor=floor(last, len(latencies) // 2),
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f}"


def run(devices: int = 10_000, intervals: int = 3, runs: int = RUNS) -> list[str]:
    results: list[Run] = []
    for number in range(runs):
        print(f"  scale run {number + 1} of {runs} ...", file=sys.stderr)
        results.append(measure(devices, intervals))
    rows = [
        f"| {n} | {r.first:.1f} s | {r.total / r.elapsed:.0f}/s | {r.late} | {r.lowest_up:,} "
        f"| {len(r.latencies)} | {_ms(percentile(r.latencies, 0.5))} | {_ms(r.p99)} "
        f"| {_ms(max(r.latencies))} "
        f"| {_ms(percentile(r.floor, 0.5))} / {_ms(percentile(r.floor, 0.99))} "
        f"| {r.rss / 2**20:.0f} MB | {r.cpu / r.elapsed:.0%} "
        f"| {'met' if r.p99 <= P99_GOAL else 'NOT met'} |"
        for n, r in enumerate(results, 1)
    ]
    p99s = [r.p99 for r in results]
    on_time = all(r.late == 0 and r.lowest_up == devices for r in results)
    rss = max(r.rss for r in results)
    per_reading = sorted(r.per_reading for r in results)[len(results) // 2]
    size = max(r.size for r in results)
    missed = sum(1 for p in p99s if p > P99_GOAL)
    return [
        (
            f"### Scale: {devices:,} replay devices ({SMALL.name.split('__')[1]}), "
            f"{INTERVAL:g} s interval, one process, {runs} runs"
        ),
        "",
        (
            "Goals: every device read within its interval; /metrics p99 <= 100 ms in every run; "
            "RSS <= 300 MB."
        ),
        "",
        (
            f"Each run: {intervals} intervals, /metrics ({size / 2**20:.1f} MB) scraped every "
            "0.5 s from another process. Floor: the same client scraping a bare asyncio server "
            "that sends the run's last page (p50 / p99), right after the run."
        ),
        "",
        (
            "| run | start to all up | readings | late devices | fewest up | scrapes | p50 ms "
            "| p99 ms | max ms | floor ms | RSS | CPU of one core | p99 <= 100 ms |"
        ),
        "| ---: " * 12 + "| --- |",
        *rows,
        "",
        (
            f"Goal (/metrics p99 <= 100 ms in every one of {runs} runs): "
            + ("met" if missed == 0 else f"NOT met ({missed} of {runs} runs over)")
            + f"; p99 {min(p99s) * 1e3:.0f}-{max(p99s) * 1e3:.0f} ms, "
            f"floor p99 {min(percentile(r.floor, 0.99) for r in results) * 1e3:.0f}-"
            f"{max(percentile(r.floor, 0.99) for r in results) * 1e3:.0f} ms."
        ),
        (
            "Goal (every device read within its interval, every run): "
            + ("met" if on_time else "NOT met")
            + f"; (RSS <= 300 MB): {'met' if rss <= RSS_GOAL else 'NOT met'} "
            f"(highest {rss / 2**20:.0f} MB)."
        ),
        (
            f"- estimate: one core would keep up with about "
            f"{INTERVAL / per_reading:,.0f} such devices at a {INTERVAL:g} s interval "
            "(median CPU per reading, scrapes included, measured here)"
        ),
        "",
        "Where the tail came from (runs instrumented with gc.callbacks and every loop callback",
        "timed): full collections of ~410k tracked objects, 0.2-0.3 s, mostly what each entry's",
        "task made after start-up's freeze and each device's current reading; middle-generation",
        "collections of 30-90k objects, 20-160 ms; rendering callbacks of 10-190 ms between the",
        "~145 writes of each page. Since: a second freeze once every device has answered, the",
        "middle generation collected every 2 young collections, no collection and no rendering",
        "while a page is sent, 2 MiB writes, the NUT naming's regexes cached. What is left is the",
        "page itself (~3.7 KB a device), joined and sent at every scrape: its floor is above.",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
