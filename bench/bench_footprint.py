"""Footprint: RSS of a real ``power-exporter serve`` with 1 and 1000 devices, and its start-up time.

Devices are ``source: replay`` devices (NUT dumps through the NUT tables and raw naming, as a
real UPS would be; devices replaying one file share its parse). Start-up is timed from the
moment the process is spawned to the first ``/metrics`` answer on which every device is up.
RSS is the serving process's VmRSS from /proc after a few scrapes. The floor beside it is
measured in the same run: a fresh interpreter importing, step by step in serve's order, the
libraries serving needs and then the exporter's own serving modules, with VmRSS after each.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.exporter import DUMPS, Exporter, replay_config

SMALL = DUMPS / "Eaton__5E1100iUSB__usbhid-ups__2.7.1__01.dev"
RICH = DUMPS / "Eaton__5PX_2000__usbhid-ups__2.7.4__01.dev"
MB = 2**20
GOAL_ONE = 40 * MB
GOAL_MANY = 60 * MB
GOAL_START = 1.0

# (what, modules imported at that step): serve's imports in its order, cumulative.
FLOOR_STEPS = (
    ("CPython", ()),
    ("asyncio (with ssl: libcrypto)", ("asyncio",)),
    ("aiohttp.web (aiohttp imports its client side too)", ("aiohttp.web",)),
    ("pydantic", ("pydantic",)),
    ("PyYAML", ("yaml",)),
    (
        # `import pydantic` is lazy: BaseModel, and what the first model built loads
        "pydantic's BaseModel and its schema builder (what the first model loads)",
        (
            "pydantic.main",
            "pydantic.fields",
            "pydantic.types",
            "pydantic._internal._validators",
            "pydantic.plugin._loader",
        ),
    ),
    (
        "power-exporter's serving modules and config models",
        ("power_exporter.cli", "power_exporter.sources.replay.source"),
    ),
)
_STEP_CODE = """
import importlib, sys
def rss():
    with open('/proc/self/status') as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith('VmRSS:'))
print(rss())
for step in sys.argv[1:]:
    for module in filter(None, step.split(',')):
        importlib.import_module(module)
    print(rss())
"""


def floor() -> list[tuple[str, int]]:
    """(step, VmRSS bytes after it) for a fresh interpreter importing what serve imports."""
    steps = [",".join(modules) for _, modules in FLOOR_STEPS[1:]]
    out = subprocess.run(
        [sys.executable, "-c", _STEP_CODE, *steps], check=True, capture_output=True, text=True
    ).stdout.split()
    return [(name, int(rss)) for (name, _), rss in zip(FLOOR_STEPS, out, strict=True)]


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
        f"### Footprint: `power-exporter serve` with 1 and {devices} replay devices",
        "",
        (
            f"Goals: RSS <= {GOAL_ONE // MB} MB with one device, <= {GOAL_MANY // MB} MB with "
            f"{devices}; <= {GOAL_START:g} s from start to the first good scrape."
        ),
        "",
        (
            "| dump (series per device) | devices | first scrape with all up, s | RSS MB | "
            "per device KB |"
        ),
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    ones = []
    for dump in (SMALL, RICH):
        first_one, base, _ = measure(1, dump)
        first, rss, series = measure(devices, dump)
        ones.append(base)
        verdicts.append(
            f"{series} series, {devices} devices: RSS {rss / MB:.1f} MB "
            f"{'met' if rss <= GOAL_MANY else 'NOT met'}, "
            f"start {first:.2f} s {'met' if first <= GOAL_START else 'NOT met'} "
            f"(floor: {base / MB:.1f} MB with one device)"
        )
        name = dump.name.split("__")[1]
        lines.append(f"| {name} ({series}) | 1 | {first_one:.2f} | {base / MB:.1f} | |")
        lines.append(
            f"| {name} ({series}) | {devices} | {first:.2f} | {rss / MB:.1f} | "
            f"{(rss - base) / (devices - 1) / 1024:.1f} |"
        )
    steps = floor()
    libraries = steps[-2][1]
    one = max(ones)
    lines += [
        "",
        "Where one device's RSS goes: a fresh interpreter importing what serve imports, in",
        "its order (measured in this run; RSS counts the shared libraries' pages it touches):",
        "",
        "| step | RSS after, MB | step adds, MB |",
        "| --- | ---: | ---: |",
    ]
    previous = 0
    for name, rss in steps:
        lines.append(f"| {name} | {rss / MB:.1f} | {(rss - previous) / MB:.1f} |")
        previous = rss
    verdicts.insert(
        0,
        f"one device: RSS {one / MB:.1f} MB {'met' if one <= GOAL_ONE else 'NOT met'} "
        f"(floor: {libraries / MB:.1f} MB of interpreter and libraries before any exporter code)",
    )
    return [
        *lines,
        "",
        *(f"Goal: {verdict}." for verdict in verdicts),
        "",
        "Why the goals are not met (the floor): CPython, asyncio (which imports ssl, so",
        "libcrypto), aiohttp and pydantic alone are about 40 MB (table above), before the",
        "exporter builds a model; aiohttp's import includes its client, cookie and multipart",
        "code and two default SSL contexts (the CA store, ~2.5 MB), which the server cannot",
        "opt out of. pydantic's BaseModel and the schema builder its first model loads add",
        "~4.5 MB more (its own row above); building the 5 models of a replay config costs",
        "next to nothing (deferring them measured 0.0 MB). The exporter's own modules and",
        "tables are the last ~5 MB (their code is ~0.5 MB marshalled; the rest is pages of",
        "the heap and of pydantic-core touched while they load). PyYAML stays: its C parser",
        "holds the module, so dropping it after the config is read frees nothing (measured:",
        "0.0 MB). Serving imports no Prometheus client, no web config (TLS, basic auth,",
        "bcrypt) unless --web.config.file is given, only the source kinds configured (a",
        "replay device loads the NUT tables, not the upsd client), and the status page's",
        "page and JSON API at their first request (its history records from the start). So",
        "<= 40 MB with one device needs a server other than aiohttp or config validation",
        "without pydantic (pydantic alone is ~9 MB here). Per device (64-series dump, 1000",
        "devices, ~21 kB of RSS; measured once with tracemalloc, ~19 kB of it traced): the",
        "exposition's ~10.5 kB (the page's text joined per block of 32, ~3.9 kB, and the same",
        "text kept per device to rebuild a block when one device changes, ~3.7 kB: a block",
        "that kept offsets into its joined text instead would save it; the device's cached",
        "label and line parts), the Reading (~3.4 kB with its identity), the device's task,",
        "coroutines and runtime state (~2.9 kB), its config model (~0.8 kB), its history ring",
        "(~0.3 kB); the ~2 kB not traced is allocator slack. With the ~51 MB floor that",
        "leaves 9 kB a device for 60 MB.",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
