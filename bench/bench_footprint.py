"""Footprint: RSS of a real ``power-exporter serve`` with 1000 devices, and its start-up time.

Devices are ``source: replay`` devices (NUT dumps through the NUT tables and raw naming, as a
real UPS would be). Start-up is timed from the moment the process is spawned to the first
``/metrics`` answer on which every device is up. RSS is read from /proc after a few scrapes.
The baseline is the same process with one device: what the interpreter and the libraries cost.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.exporter import DUMPS, Exporter, replay_config

SMALL = DUMPS / "Eaton__5E1100iUSB__usbhid-ups__2.7.1__01.dev"
RICH = DUMPS / "Eaton__5PX_2000__usbhid-ups__2.7.4__01.dev"


def measure(devices: int, dump: Path) -> tuple[float, int, int]:
    """(seconds to the first good scrape, RSS bytes, series per device)."""
    with tempfile.TemporaryDirectory() as folder:
        config = replay_config(Path(folder), devices, dump=dump)
        with Exporter(config) as exporter:
            first = exporter.wait_up(devices)
            for _ in range(3):
                _, body = exporter.get()
                time.sleep(0.2)
            rss = exporter.rss()
    series = sum(
        1 for line in body.split(b"\n") if line and not line.startswith((b"#", b"process_"))
    )
    return first, rss, series // devices


def run(devices: int = 1000) -> list[str]:
    lines = [
        f"### Footprint: `power-exporter serve` with {devices} replay devices",
        "",
        "Goals: RSS <= 60 MB with 1000 devices; <= 1 s from start to the first good scrape.",
        "",
        (
            "| dump (series per device) | devices | first scrape with all up, s | RSS MB | "
            "per device KB |"
        ),
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for dump in (SMALL, RICH):
        first_one, base, _ = measure(1, dump)
        first, rss, series = measure(devices, dump)
        verdicts.append(
            f"{series} series: RSS {'met' if rss <= 60 * 2**20 else 'NOT met'}, "
            f"start {'met' if first <= 1.0 else 'NOT met'}"
        )
        name = dump.name.split("__")[1]
        lines.append(f"| {name} ({series}) | 1 | {first_one:.2f} | {base / 2**20:.1f} | |")
        lines.append(
            f"| {name} ({series}) | {devices} | {first:.2f} | {rss / 2**20:.1f} | "
            f"{(rss - base) / (devices - 1) / 1024:.1f} |"
        )
    return [
        *lines,
        "",
        "Goals: " + "; ".join(verdicts) + ".",
        "Where the floor is: the process with one device is ~52 MB before any device data:",
        "CPython with asyncio, ssl, aiohttp, pydantic (and the config models it builds) and",
        "PyYAML imported (RSS counts their shared libraries); source kinds that are not",
        "configured are not imported. Per device the exporter keeps its last Reading,",
        "its rendered text twice (per device, to re-render a block, and per block of 32, for",
        "scrapes) and its poll task; the text alone is ~60 bytes a series. So 1000 devices fit",
        "in 60 MB only with a much smaller interpreter footprint (lazy imports of what serving",
        "does not need, no pydantic at run time), not by trimming per-device data.",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
