"""Soak: 50 scrapes per second of a real exporter with 100 devices, for SOAK_SECONDS (3600).

``python -m bench.soak`` (``make soak``). The devices replay NUT dumps every second, half of them
a power cut on a loop (``examples/demo/power-cut.seq``), so readings keep changing. RSS is taken
after a warm-up (a tenth of the run, at least 10 s) and at the end; the goal is no failed scrape
and less than 2 MB of growth. The result goes to bench/runs/soak.md (``make bench`` folds it
into RESULTS.md).
"""

from __future__ import annotations

import http.client
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.exporter import ROOT, Exporter, percentile, up_count

DEVICES = 100
RATE = 50.0
MAX_GROWTH_MB = 2.0
GOAL_MET = {True: "met", False: "NOT met"}
CHANGING = ROOT / "examples" / "demo" / "power-cut.seq"
STEADY = ROOT / "examples" / "demo" / "rack-ups.dev"


def config(folder: Path) -> Path:
    lines = ["log_level: warning", "devices:"]
    for i in range(DEVICES):
        dump = CHANGING if i % 2 else STEADY
        lines += [f"  - name: soak-{i:03d}", "    source: replay", f"    file: {dump}"]
        lines.append("    interval: 1s")
    path = folder / "soak.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def soak(seconds: float) -> list[str]:
    warmup = max(10.0, seconds / 10)
    with tempfile.TemporaryDirectory() as folder, Exporter(config(Path(folder))) as exporter:
        exporter.wait_up(DEVICES)
        conn = http.client.HTTPConnection("127.0.0.1", exporter.port, timeout=5)
        started = time.monotonic()
        rss_start = rss_end = peak = 0
        scrapes = failed = 0
        latencies: list[float] = []
        next_at = started
        while (now := time.monotonic()) - started < seconds + warmup:
            if rss_start == 0 and now - started >= warmup:
                rss_start = exporter.rss()
            sent = time.perf_counter()
            try:
                conn.request("GET", "/metrics")
                response = conn.getresponse()
                body = response.read()
                ok = response.status == 200 and up_count(body) == DEVICES
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", exporter.port, timeout=5)
                ok = False
            latencies.append(time.perf_counter() - sent)
            scrapes += 1
            failed += not ok
            if scrapes % 500 == 0:
                peak = max(peak, exporter.rss())
            next_at += 1 / RATE
            time.sleep(max(0.0, next_at - time.monotonic()))
        rss_end = exporter.rss()
        cpu = exporter.cpu_seconds()
        conn.close()
        alive = exporter.alive()
    rate = scrapes / (seconds + warmup)
    growth = (rss_end - rss_start) / 2**20
    met = alive and failed == 0 and growth < MAX_GROWTH_MB
    return [
        (
            f"### Soak: {DEVICES} replay devices (1 s interval), {RATE:.0f} scrapes/s, "
            f"{seconds:.0f} s after a {warmup:.0f} s warm-up"
        ),
        "",
        "Goal: no failed scrape, RSS growth < 2 MB.",
        "",
        (
            f"- scrapes {scrapes} ({rate:.1f}/s), failed {failed} (an error, a non-200 answer or "
            "a page without every device up); exporter alive at the end: "
            f"{'yes' if alive else 'NO'}"
        ),
        (
            f"- RSS {rss_start / 2**20:.1f} MB after the warm-up, "
            f"{rss_end / 2**20:.1f} MB at the end (growth {growth:+.2f} MB; "
            f"highest seen {max(peak, rss_end) / 2**20:.1f} MB)"
        ),
        (
            f"- scrape latency p50 {percentile(latencies, 0.5) * 1e3:.2f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1e3:.2f} ms; exporter CPU {cpu:.1f} s in all"
        ),
        f"- goal (0 failed scrapes, RSS growth < 2 MB): {GOAL_MET[met]}",
    ]


def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "3600"))
    lines = soak(seconds)
    print("\n".join(lines))
    runs = Path(__file__).with_name("runs")
    runs.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (runs / "soak.md").write_text("\n".join([*lines, "", f"Run {stamp}.", ""]))
    return 0 if lines[-1].endswith(GOAL_MET[True]) else 1


if __name__ == "__main__":
    sys.exit(main())
