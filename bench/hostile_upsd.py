"""A hostile upsd announcing 50,000 UPSes at full size (tests/sources/nut/test_hostile_upsd.py
runs 5,000): the entry holds max_devices devices and RSS stays bounded, with and without the
cap's default. Writes bench/runs/hostile-upsd.md.

    python -m bench.hostile_upsd
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from tests.sources.nut import test_hostile_upsd as hostile
from tests.sources.nut.conftest import nut_config
from tests.sources.nut.test_client_edges import FakeUpsd

from power_exporter.exposition.text import Renderer
from power_exporter.runtime import Runtime
from power_exporter.sources.nut.naming import NUT_NAMING
from power_exporter.store import Store

UPSES = 50_000
OUT = Path(__file__).parent / "runs" / "hostile-upsd.md"


async def attack(max_devices: int) -> tuple[int, float, int, float]:
    """(devices held, RSS growth MB, page bytes, seconds until the cap was reached)."""
    hostile.UPSES = UPSES
    listing = hostile._listing()  # noqa: SLF001

    def reply(line: str) -> bytes:
        if line == "LIST UPS":
            return listing
        if line.startswith("LIST VAR "):
            return hostile._variables(line.split()[2])  # noqa: SLF001
        return b"OK Goodbye\n" if line == "LOGOUT" else b"ERR UNKNOWN-COMMAND\n"

    fake = FakeUpsd(reply)
    fake.server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    cfg = nut_config(
        name="all", server=f"127.0.0.1:{fake.port}", ups="*", interval="1s", max_devices=max_devices
    )
    store = Store()
    renderer = Renderer(store, lambda _kind: NUT_NAMING)
    runtime = Runtime([cfg], store)
    before = hostile._rss_mb()  # noqa: SLF001
    started = time.monotonic()
    runtime.start()
    try:
        while sum(state.up for state in store) < max_devices:  # noqa: ASYNC110 (polls the store)
            await asyncio.sleep(0.1)
        took = time.monotonic() - started
        await asyncio.sleep(3)  # a few more polls of the 50,000-line list
        page = renderer.render()
        grown = hostile._rss_mb() - before  # noqa: SLF001
    finally:
        await runtime.stop()
        fake.server.close()
        await fake.server.wait_closed()
    return len(store), grown, len(page), took


def main() -> int:
    held, grown, size, took = asyncio.run(attack(1000))
    lines = [
        "# A hostile upsd announcing 50,000 UPSes",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `python -m bench.hostile_upsd`,",
        "default cap (max_devices 1000), fake upsd on loopback listing 50,000 UPSes every poll.",
        "",
        "| devices held | RSS growth | /metrics size | cap reached after | goal |",
        "| ---: | ---: | ---: | ---: | --- |",
        (
            f"| {held} | {grown:.1f} MB | {size / 1e6:.2f} MB | {took:.1f} s | "
            f"entry capped, RSS bounded: {'met' if held <= 1000 and grown < 100 else 'not met'} |"
        ),
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
