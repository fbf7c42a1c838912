"""A hostile upsd announcing thousands of UPSes cannot make one entry hold them all.

upsd itself cannot be made to list 5,000 UPSes here (each needs a driver), so the loopback
fake of test_client_edges plays it, on real TCP.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import TYPE_CHECKING

from power_exporter.exposition.text import Renderer
from power_exporter.runtime import Runtime
from power_exporter.sources.nut.naming import NUT_NAMING
from power_exporter.store import Store
from tests.sources.nut.conftest import nut_config
from tests.sources.nut.test_client_edges import FakeUpsd
from tests.support import until

if TYPE_CHECKING:
    import pytest

UPSES = 5_000  # the attack used 50,000; 5,000 keeps the test within a few seconds
MAX_DEVICES = 100
# Measured with the page rendered: RSS grew 74 MB for 5,000 UPSes without the cap, 2.7 MB with
# max_devices 100; the budget leaves room for allocator noise on a loaded machine.
RSS_BUDGET_MB = 25


def _listing() -> bytes:
    rows = b"".join(b'UPS u%d "hostile UPS %d"\n' % (n, n) for n in range(UPSES))
    return b"BEGIN LIST UPS\n" + rows + b"END LIST UPS\n"


def _variables(ups: str) -> bytes:
    rows = "".join(
        f'VAR {ups} {name} "{value}"\n'
        for name, value in (
            ("battery.charge", "87"),
            ("ups.status", "OL"),
            ("input.voltage", "230.1"),
            ("ups.load", "12"),
            ("device.model", "Hostile 5000"),
        )
    )
    return f"BEGIN LIST VAR {ups}\n{rows}END LIST VAR {ups}\n".encode()


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:  # noqa: PTH123
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


async def test_entry_is_capped(caplog: pytest.LogCaptureFixture) -> None:
    """5,000 UPSes listed, max_devices 100: 100 devices, 100 read, the rest counted, RSS flat."""
    listing = _listing()

    def reply(line: str) -> bytes:
        if line == "LIST UPS":
            return listing
        if line.startswith("LIST VAR "):
            return _variables(line.split()[2])
        return b"OK Goodbye\n" if line == "LOGOUT" else b"ERR UNKNOWN-COMMAND\n"

    fake = FakeUpsd(reply)
    fake.server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    cfg = nut_config(
        name="all",
        server=f"127.0.0.1:{fake.port}",
        ups="*",
        interval="200ms",
        max_devices=MAX_DEVICES,
    )
    store = Store()
    renderer = Renderer(store, lambda _kind: NUT_NAMING)
    runtime = Runtime([cfg], store)
    before = _rss_mb()
    caplog.set_level(logging.INFO)
    runtime.start()
    try:
        await until(lambda: store.dropped_devices.get("all", 0) >= 3 * (UPSES - MAX_DEVICES), 15)
        await until(lambda: sum(state.up for state in store) == MAX_DEVICES, 15)
        page = renderer.render().decode()
        grown = _rss_mb() - before
    finally:
        await runtime.stop()
        fake.server.close()
        await fake.server.wait_closed()
    assert len(store) == MAX_DEVICES
    assert page.count("power_device_up{") == MAX_DEVICES
    assert 'power_exporter_devices_dropped_total{entry="all"}' in page
    read = {line.split()[2] for line in fake.received if line.startswith("LIST VAR ")}
    assert len(read) == MAX_DEVICES  # upsd is never asked for the variables of the others
    warnings = [r for r in caplog.records if "max_devices" in r.getMessage()]
    assert len(warnings) == 1
    assert len(caplog.text) < 50_000  # no log line lists the 5,000 names
    assert grown < RSS_BUDGET_MB, f"RSS grew by {grown:.1f} MB"
