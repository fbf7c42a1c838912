"""Sharded scale: 30,000 devices over 3 replicas of ``power-exporter serve`` on this machine.

The three processes share one config of replay devices (a NUT dump through the NUT tables
and raw naming) read every 15 s, each started with ``POWER_EXPORTER_SHARD=N`` and
``POWER_EXPORTER_TOTAL_SHARDS=3`` as a StatefulSet pod or a systemd instance would be. Over
three intervals we check that every device was read within its interval by the replica that
owns it (its ``power_exporter_messages_total`` grows by at least window/interval - 1), that
the replicas' devices together are the 30,000 exactly once, and take each replica's
``/metrics`` latency (each scraped once a second by a process of its own, with gzip as
Prometheus asks), RSS and CPU.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_footprint import SMALL
from bench.bench_scale import messages
from bench.exporter import ROOT, Exporter, percentile, replay_config, up_count

INTERVAL = 15.0
SHARDS = 3
SCRAPE_EVERY = 1.0


def scrape(exporter: Exporter, *, unzip: bool = True) -> tuple[float, bytes]:
    """One gzip scrape of ``/metrics``: (seconds to the last byte, the page, unzipped if asked)."""
    sent = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", exporter.port, timeout=60)
    try:
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, response.status
    finally:
        conn.close()
    elapsed = time.perf_counter() - sent
    if unzip and response.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return elapsed, body


def wait_all_up(replicas: list[Exporter], devices: int) -> float:
    """Seconds from the first start to the replicas together showing every device up.

    The parts are not known in advance here, so the sum of the replicas' counts decides.
    """
    deadline = time.monotonic() + 600
    while True:
        counts = []
        for replica in replicas:
            try:
                counts.append(up_count(scrape(replica)[1]))
            except OSError:
                counts.append(0)
        if sum(counts) >= devices:
            return time.monotonic() - min(replica.started for replica in replicas)
        if time.monotonic() > deadline or not all(r.alive() for r in replicas):
            raise RuntimeError(f"not every device up: {counts}")
        time.sleep(0.5)


@dataclass
class Watch:
    """One replica over the window: its scrapes and what they showed."""

    replica: Exporter
    devices: int
    latencies: list[float] = field(default_factory=list)
    size: int = 0
    lowest_up: int = 0
    before: dict[bytes, int] = field(default_factory=dict)
    after: dict[bytes, int] = field(default_factory=dict)
    cpu: float = 0.0
    rss: int = 0

    def row(self, index: int, elapsed: float, expected: int) -> tuple[str, int]:
        """The table row, and how many of its devices were read late."""
        reads = [self.after.get(name, 0) - count for name, count in self.before.items()]
        late = sum(1 for n in reads if n < expected)
        times = self.latencies
        return (
            f"| {index} | {len(self.after):,} | {sum(reads) / elapsed:.0f} | {late} "
            f"| {self.lowest_up:,} | {self.size / 2**20:.1f} "
            f"| {percentile(times, 0.5) * 1e3:.0f} | {percentile(times, 0.99) * 1e3:.0f} "
            f"| {max(times) * 1e3:.0f} | {self.rss / 2**20:.0f} | {self.cpu / elapsed:.0%} |"
        ), late


def scraper(port: int, window: float, offset: float) -> None:
    """A scraper process, as a Prometheus of its own: one gzip scrape a second for ``window``.

    Prints JSON: every latency, the largest page and the fewest devices up. Each replica has
    its own, so that no scraper waits on another's parsing (one process would time its GIL),
    and only every 10th page is unzipped and counted: parsing 33 MB a second in each of three
    scrapers took a core of the two from the replicas being measured.
    """
    replica = Exporter(Path(), port=port)
    time.sleep(offset)
    latencies: list[float] = []
    size, lowest = 0, -1
    end = time.monotonic() + window
    while time.monotonic() < end:
        sent = time.perf_counter()
        check = len(latencies) % 10 == 0
        seconds, body = scrape(replica, unzip=check)
        latencies.append(seconds)
        if check:
            size = max(size, len(body))
            up = up_count(body)
            lowest = up if lowest < 0 else min(lowest, up)
        time.sleep(max(0.0, SCRAPE_EVERY - (time.perf_counter() - sent)))
    json.dump({"latencies": latencies, "size": size, "lowest_up": lowest}, sys.stdout)


def measure(replicas: list[Exporter], devices: int, window: float) -> tuple[list[Watch], float]:
    """Watch every replica for ``window`` seconds; returns the watches and the time taken."""
    watches = [Watch(replica, devices) for replica in replicas]
    for watch in watches:
        watch.before = messages(scrape(watch.replica)[1])
        watch.cpu = -watch.replica.cpu_seconds()
    started = time.monotonic()
    scrapers = [
        subprocess.Popen(
            [
                sys.executable,
                *("-m", "bench.bench_shard", "scrape"),
                *(str(watch.replica.port), str(window), str(i * SCRAPE_EVERY / SHARDS)),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        for i, watch in enumerate(watches)
    ]
    for watch, process in zip(watches, scrapers, strict=True):
        found = json.loads(process.communicate(timeout=window + 120)[0])
        watch.latencies, watch.size, watch.lowest_up = (
            found["latencies"],
            found["size"],
            found["lowest_up"],
        )
    for watch in watches:
        watch.after = messages(scrape(watch.replica)[1])
        watch.cpu += watch.replica.cpu_seconds()
        watch.rss = watch.replica.rss()
    return watches, time.monotonic() - started


def run(devices: int = 30_000, intervals: int = 3) -> list[str]:
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        config = replay_config(Path(folder), devices, interval=f"{INTERVAL:g}s", dump=SMALL)
        replicas = [
            stack.enter_context(
                Exporter(
                    config,
                    env={
                        "POWER_EXPORTER_SHARD": str(shard),
                        "POWER_EXPORTER_TOTAL_SHARDS": str(SHARDS),
                    },
                )
            )
            for shard in range(SHARDS)
        ]
        first = wait_all_up(replicas, devices)
        time.sleep(INTERVAL)  # past the start-up burst: readings spread over the interval
        watches, elapsed = measure(replicas, devices, intervals * INTERVAL)
    expected = int(elapsed // INTERVAL) - 1
    owned = [set(watch.after) for watch in watches]
    every = set().union(*owned)
    twice = sum(len(part) for part in owned) - len(every)
    rows = [watch.row(index, elapsed, expected) for index, watch in enumerate(watches)]
    late = sum(count for _, count in rows)
    worst_p99 = max(percentile(watch.latencies, 0.99) for watch in watches)
    return [
        (
            f"### Sharded: {devices:,} replay devices ({SMALL.name.split('__')[1]}), "
            f"{INTERVAL:g} s interval, {SHARDS} replicas on this machine"
        ),
        "",
        "Goals: every device read within its interval by exactly one replica; each replica's",
        "/metrics p99 <= 100 ms (gzip, as Prometheus scrapes).",
        "",
        f"- start to every device up across the replicas: {first:.1f} s",
        f"- devices served: {len(every):,} of {devices:,}; by two replicas: {twice}",
        "",
        (
            "| replica | devices | readings/s | late | fewest up | /metrics MB | p50 ms "
            "| p99 ms | max ms | RSS MB | CPU of a core |"
        ),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(row for row, _ in rows),
        "",
        (
            "- goals: read within interval, once "
            + ("met" if late == 0 and twice == 0 and len(every) == devices else "NOT met")
            + f"; p99 {'met' if worst_p99 <= 0.1 else 'NOT met'} (worst {worst_p99 * 1e3:.0f} ms)"
        ),
        "",
        "Each replica parses the whole config (every replica must agree on the fleet) and",
        "runs its third of it: a replica costs the one-process figure of its part, plus the",
        "config. Here the three replicas share 2 cores with each other and the scrapers.",
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["scrape"]:
        scraper(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    else:
        print("\n".join(run()))
