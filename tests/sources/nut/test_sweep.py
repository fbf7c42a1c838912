"""The plausibility policy over all 684 dumps of the NUT device library, through ``source: replay``.

The dumps keep their contributors' sentinels and driver bugs (``65535``, ``255``, ``-1``, x100
frequencies, x60 runtimes). Every dump is replayed, stored and rendered on one page; the page
must pass ``promtool check metrics``, no ``power_*`` sample may hold a sentinel or a value no
mains-powered device can have, and the raw ``network_ups_tools_*`` series must keep what the
device said. The limits below are this test's own statement, not the table under test.
"""

from __future__ import annotations

import math
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
from prometheus_client.parser import text_string_to_metric_families

from power_exporter.exposition.text import Renderer
from power_exporter.model import DeviceFault, Reading
from power_exporter.sources.registry import KINDS
from power_exporter.sources.replay.source import ReplayConfig, ReplaySource
from power_exporter.store import Store
from tests.peers.promtool import check_metrics

if TYPE_CHECKING:
    from collections.abc import Iterator

ARCHIVE: Final = Path(__file__).parents[2] / "fixtures" / "nut-ddl-library" / "dumps.tar.xz"
DUMP_COUNT: Final = 684
# Values devices send for "unknown", as they would reach a power_* series (raw or x 0.01).
SENTINELS: Final = frozenset({65535.0, 4294967295.0, -1.0, 655.35, 42949672.95, -0.01, 2.55})
# What a power_* family may hold at all: (low, high), inclusive.
LIMITS: Final = {
    "power_battery_charge_ratio": (0.0, 1.0),
    "power_battery_health_ratio": (0.0, 1.0),
    "power_load_ratio": (0.0, 2.4999),
    "power_battery_runtime_seconds": (0.0, 24 * 3600.0),
    "power_battery_temperature_celsius": (-40.0, 100.0),
    "power_input_voltage_volts": (0.0, 700.0),
    "power_output_voltage_volts": (0.0, 700.0),
    "power_input_current_amperes": (0.0, 2000.0),
    "power_output_current_amperes": (0.0, 2000.0),
}
FREQUENCIES: Final = ("power_input_frequency_hertz", "power_output_frequency_hertz")


def unpack(folder: Path) -> list[Path]:
    """Unpack the library into ``folder``; its dump files, sorted."""
    with tarfile.open(ARCHIVE) as archive:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: refuse links and odd modes
            archive.extractall(folder, filter="data")
        else:  # pragma: no cover - our own archive of plain files
            archive.extractall(folder)  # noqa: S202
    return sorted((folder / "dumps").glob("*.dev"))


@pytest.fixture(scope="module")
def dump_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The library, unpacked into the test's temporary folder."""
    return unpack(tmp_path_factory.mktemp("nut-ddl-library"))


async def replay_all(files: list[Path]) -> tuple[Store, list[DeviceFault]]:
    """Read every dump once through the replay source into one store."""
    store, faults = Store(), []
    for number, path in enumerate(files):
        cfg = ReplayConfig.model_validate(
            {"name": f"d{number:03}", "source": "replay", "file": str(path)}
        )
        async with ReplaySource(cfg) as source:
            for event in await source.read():
                if isinstance(event, Reading):
                    store.update(event, unit=path.name, interval=15)
                elif isinstance(event, DeviceFault):
                    faults.append(event)
    return store, faults


def samples(page: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """Every sample of the page, parsed by prometheus_client."""
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            yield sample.name, sample.labels, sample.value


class TestSweep:
    """All 684 dumps: no sentinel and nothing impossible in power_*, raw kept, promtool clean."""

    async def test_library_through_replay(self, dump_files: list[Path]) -> None:
        """The whole library on one page (one promtool run checks every dump's lines)."""
        assert len(dump_files) == DUMP_COUNT
        store, faults = await replay_all(dump_files)
        assert len(store) + len(faults) == DUMP_COUNT
        page = Renderer(store, lambda kind: KINDS[kind].naming).render()
        check_metrics(page)
        bad = [
            (name, labels["device"], value)
            for name, labels, value in samples(page.decode())
            if name.startswith("power_")
            and not name.startswith(("power_exporter_", "power_device_", "power_status"))
            and not plausible(name, value)
        ]
        assert bad == []

    async def test_raw_keeps_what_the_device_said(self, dump_files: list[Path]) -> None:
        """Dropped values stay in network_ups_tools_* and are counted by measure and reason."""
        wanted = {
            "Tripp_Lite__SMART1500LCDT__usbhid-ups__2.6.3__01.dev": (
                "network_ups_tools_input_frequency",
                5990.0,
                ("input_frequency", "out_of_range"),
            ),
            "Tripp_Lite__UPS__usbhid-ups__2.6.5__01.dev": (
                "network_ups_tools_ups_load",
                255.0,
                ("load", "sentinel"),
            ),
            "Cyber_Power_Systems__PR2200LCDRT2U__snmp-ups__2.7.2__01.dev": (
                "network_ups_tools_battery_runtime",
                133200.0,
                ("battery_runtime", "out_of_range"),
            ),
        }
        files = [path for path in dump_files if path.name in wanted]
        assert len(files) == len(wanted)
        store, faults = await replay_all(files)
        assert faults == []
        page = list(samples(Renderer(store, lambda kind: KINDS[kind].naming).render().decode()))
        for number, path in enumerate(files):
            raw_name, raw_value, (measure, reason) = wanted[path.name]
            device = f"d{number:03}"
            mine = [(n, labels, v) for n, labels, v in page if labels.get("device") == device]
            assert (raw_name, raw_value) in {(n, v) for n, _, v in mine}
            counted = {
                (labels["measure"], labels["reason"])
                for n, labels, _ in mine
                if n == "power_exporter_implausible_values_total"
            }
            assert (measure, reason) in counted
            assert f"power_{measure}" not in {n.rsplit("_", 1)[0] for n, _, _ in mine}


def plausible(name: str, value: float) -> bool:
    """Whether a power_* sample is something a real device can have (this test's limits)."""
    if not math.isfinite(value) or round(value, 9) in SENTINELS:
        return False
    if name in FREQUENCIES:
        return value == 0.0 or 40.0 <= value <= 70.0
    low, high = LIMITS.get(name, (0.0, 2e6))
    return low <= value <= high
