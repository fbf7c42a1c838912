"""SNMP: power-exporter's snmp source beside snmp_exporter, and a 1000-card fleet.

Everything reads one real snmpsim (``snmpsim-command-responder``) serving the APC Smart-UPS
X 750 recording of tests/fixtures/snmp on 127.0.0.1:

- values: Debian's ``prometheus-snmp-exporter`` (0.21; Debian ships no ``snmp.yml``, so an
  ``apcups``-like module is written here by hand, numeric OIDs as its generator emits them)
  and our ``SnmpSource`` read the same objects; every value snmp_exporter reports must equal
  the raw value we report under the same name;
- throughput: devices read per second at the same concurrency, snmp_exporter's ``/snmp``
  scraped by that many concurrent HTTP clients, ours by that many concurrent ``read()``
  loops (each a device of its own, sharing the one engine);
- fleet: 1000 devices (1000 communities, each a copy of the recording) read through the
  shared engine with its gate of 64 reads in flight: the time of one whole pass, the first
  (which also detects each profile) and a second.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml
from tests.peers.snmpsim import FIXTURES, free_udp_port, start_snmpsim

from power_exporter.model import Reading
from power_exporter.sources.snmp.config import SnmpConfig
from power_exporter.sources.snmp.profiles import APC_UPS
from power_exporter.sources.snmp.source import SnmpSource

RECORDING = FIXTURES / "librenms_apc_smt750x-nmc2.snmprec"
COMMUNITY = RECORDING.stem
SECONDS = 5.0
CONCURRENCY = 16
FLEET = 1000
FLEET_BUDGET = 30.0
SNMP_EXPORTER = "/usr/bin/prometheus-snmp-exporter"


def snmp_yml(community: str) -> dict[str, object]:
    """An ``apcups``-like module: the APC profile's subtrees and objects, numeric OIDs."""
    metrics = [
        {
            "name": column.name,
            "oid": ".".join(map(str, column.oid)),
            "type": "gauge",
            "help": f"PowerNet-MIB {column.name}",
        }
        for column in APC_UPS.columns
        if not column.text
    ]
    return {
        "apcups": {
            "walk": [".".join(map(str, tree)) for tree in APC_UPS.subtrees],
            "metrics": metrics,
            "version": 2,
            "max_repetitions": 25,
            "retries": 1,
            "timeout": "5s",
            "auth": {"community": community},
        }
    }


def parse(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def config(host: str, name: str, community: str = COMMUNITY) -> SnmpConfig:
    return SnmpConfig.model_validate(
        # raw: the snmp_exporter-named values, compared with snmp_exporter's own
        {
            "name": name,
            "source": "snmp",
            "host": host,
            "community": community,
            "timeout": "10s",
            "raw": True,
        }
    )


async def exporter_rate(url: str, concurrency: int, seconds: float) -> tuple[float, str]:
    count = 0
    body = ""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:

        async def loop() -> None:
            nonlocal count, body
            while time.monotonic() < deadline:
                async with session.get(url) as response:
                    body = await response.text()
                    assert response.status == 200, body
                count += 1

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    return count / seconds, body


async def our_rate(host: str, concurrency: int, seconds: float) -> tuple[float, Reading]:
    count = 0
    sources = [SnmpSource(config(host, f"ups{i}")) for i in range(concurrency)]
    last: list[Reading] = []
    for source in sources:
        await source.__aenter__()
    try:
        for source in sources:  # detection once, outside the timed loop (as snmp_exporter's module)
            await source.read()
        deadline = time.monotonic() + seconds

        async def loop(source: SnmpSource) -> None:
            nonlocal count
            while time.monotonic() < deadline:
                events = await source.read()
                reading = events[0]
                assert isinstance(reading, Reading)
                last[:] = [reading]
                count += 1

        await asyncio.gather(*(loop(s) for s in sources))
    finally:
        for source in sources:
            await source.__aexit__(None, None, None)
    return count / seconds, last[0]


async def fleet_passes(host: str, communities: list[str]) -> tuple[list[tuple[float, float]], int]:
    sources = [SnmpSource(config(host, f"card{i}", c)) for i, c in enumerate(communities)]
    for source in sources:
        await source.__aenter__()
    try:
        times = []
        good = 0
        for _ in range(3):
            start, cpu = time.monotonic(), time.process_time()
            results = await asyncio.gather(*(s.read() for s in sources), return_exceptions=True)
            times.append((time.monotonic() - start, time.process_time() - cpu))
            good = sum(1 for r in results if not isinstance(r, BaseException))
    finally:
        for source in sources:
            await source.__aexit__(None, None, None)
    return times, good


def side_by_side(tmp: Path) -> list[str]:
    sim = start_snmpsim(tmp / "one", [RECORDING], wait_for=COMMUNITY)
    exporter = None
    try:
        if not Path(SNMP_EXPORTER).exists():
            return ["(snmp_exporter missing: apt-get install prometheus-snmp-exporter)"]
        conf = tmp / "snmp.yml"
        conf.write_text(yaml.safe_dump(snmp_yml(COMMUNITY), sort_keys=False))
        port = free_udp_port()
        exporter = subprocess.Popen(
            [SNMP_EXPORTER, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/snmp?target={sim.host}&module=apcups"
        deadline = time.monotonic() + 10
        while True:
            try:
                theirs_rate, body = asyncio.run(exporter_rate(url, 1, 0.2))
                break
            except (aiohttp.ClientError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        theirs_rate, body = asyncio.run(exporter_rate(url, CONCURRENCY, SECONDS))
        ours_rate, reading = asyncio.run(our_rate(sim.host, CONCURRENCY, SECONDS))
    finally:
        if exporter is not None:
            exporter.send_signal(signal.SIGTERM)
            exporter.wait(timeout=5)
        sim.stop()
    theirs = {k: v for k, v in parse(body).items() if not k.startswith("snmp_scrape")}
    agree = [name for name, value in theirs.items() if reading.raw.get(name) == value]
    differ = sorted(set(theirs) - set(agree))
    return [
        "### SNMP: power-exporter beside snmp_exporter 0.21 (one snmpsim, APC Smart-UPS recording)",
        "",
        f"Values: snmp_exporter reports {len(theirs)} objects of the hand-written `apcups`-like",
        f"module; {len(agree)} equal our raw value of the same name"
        + (f"; differ or missing: {', '.join(differ)}." if differ else ", all of them."),
        "",
        f"| reader ({CONCURRENCY} concurrent) | devices/s | vs snmp_exporter |",
        "| --- | ---: | ---: |",
        f"| snmp_exporter `/snmp?module=apcups` over HTTP | {theirs_rate:.0f} | 100 % |",
        f"| power-exporter SnmpSource.read() | {ours_rate:.0f} | {ours_rate / theirs_rate:.0%} |",
        "",
        f"Goal (ours >= 50 % of snmp_exporter): {'met' if ours_rate >= 0.5 * theirs_rate else 'NOT met'}.",  # noqa: E501
        "Both wait on the same single-process Python agent, which bounds both rates on this",
        "2-core machine; ours reads in the background, so `/metrics` never waits on SNMP.",
    ]


def fleet(tmp: Path) -> list[str]:
    data = tmp / "fleet"
    data.mkdir()
    communities = [f"card{i:04d}" for i in range(FLEET)]
    recordings = []
    for community in communities:
        path = data / f"{community}.snmprec"
        shutil.copy(RECORDING, path)
        recordings.append(path)
    sim = start_snmpsim(tmp / "sim", recordings, wait_for=communities[0])
    try:
        times, good = asyncio.run(fleet_passes(sim.host, communities))
    finally:
        sim.stop()
    return [
        f"### SNMP: a fleet of {FLEET} cards on one snmpsim ({FLEET} communities)",
        "",
        "| pass | wall seconds | our CPU seconds | devices read |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {label} | {wall:.1f} | {cpu:.1f} | {good} |"
            for label, (wall, cpu) in zip(
                ("first (detects each profile; snmpsim indexes each file)", "second", "third"),
                times,
                strict=True,
            )
        ),
        "",
        f"Goal (all {FLEET} within a {FLEET_BUDGET:.0f} s interval, after the first pass): "
        + (
            "met." if max(w for w, _ in times[1:]) <= FLEET_BUDGET and good == FLEET else "NOT met."
        ),
        "The rest of each pass's wall time is the simulator's: one Python process answering",
        "every request on the same two cores.",
    ]


def run() -> list[str]:
    os.environ.setdefault("SNMPSIM_ALLOW_ROOT", "true")
    with tempfile.TemporaryDirectory() as tmp:
        return [*side_by_side(Path(tmp)), "", *fleet(Path(tmp))]


if __name__ == "__main__":
    print("\n".join(run()))
