"""The replay source: dumps served as devices, sequences in time, reloads, bad files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from power_exporter.config import load, validate
from power_exporter.errors import ConnectError, DecodeError, StaleError
from power_exporter.model import DeviceFault, Flag, Measure, Reading
from power_exporter.sources.registry import KINDS
from power_exporter.sources.replay.source import ReplayConfig, ReplaySource

EXAMPLES = Path(__file__).parents[3] / "examples"


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source_for(path: Path, clock: Clock | None = None) -> ReplaySource:
    """A replay source of one file."""
    cfg = ReplayConfig.model_validate({"name": "demo", "source": "replay", "file": str(path)})
    return ReplaySource(cfg, clock=clock or Clock())


async def read(source: ReplaySource) -> Reading:
    """Read one reading (failing on a fault)."""
    (event,) = await source.read()
    assert isinstance(event, Reading), event
    return event


class TestReplay:
    """A dump read as a device."""

    async def test_reading_through_the_nut_table(self, tmp_path: Path) -> None:
        """Values go through the NUT table; the identity's source is replay."""
        dump = tmp_path / "u.dev"
        dump.write_text(
            "battery.charge: 87\nups.status: OL CHRG\nups.load: 20\nups.realpower.nominal: 500\n"
        )
        async with source_for(dump) as source:
            reading = await read(source)
        assert reading.identity.source == "replay"
        assert reading.device == "demo"
        assert reading.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.87)
        assert reading.measures[Measure.OUTPUT_POWER] == pytest.approx(100.0)
        assert reading.flags == {Flag.ONLINE, Flag.CHARGING}
        assert reading.raw["battery.charge"] == 87.0

    async def test_sequence_moves_with_time(self) -> None:
        """The demo's power cut: on line, on battery with falling charge, low battery, back."""
        clock = Clock()
        async with source_for(EXAMPLES / "demo" / "power-cut.seq", clock) as source:
            seen = []
            for _ in range(40):
                reading = await read(source)
                seen.append((frozenset(reading.flags), reading.measures[Measure.BATTERY_CHARGE]))
                clock.now += 5
        flags = [f for f, _ in seen]
        assert flags[0] == {Flag.ONLINE}
        assert {Flag.ON_BATTERY, Flag.DISCHARGING} in flags
        assert {Flag.ON_BATTERY, Flag.DISCHARGING, Flag.LOW_BATTERY} in flags
        assert {Flag.ONLINE, Flag.CHARGING} in flags
        on_battery = [charge for f, charge in seen if Flag.ON_BATTERY in f]
        assert on_battery == sorted(on_battery, reverse=True)
        assert min(on_battery) < 0.35
        assert seen[-1][0] == {Flag.ONLINE}  # recharged by the end of the 200 s loop

    async def test_reloaded_when_the_file_changes(self, tmp_path: Path) -> None:
        """Rewriting the file shows at the next read (a scripted power event)."""
        dump = tmp_path / "u.dev"
        dump.write_text("ups.status: OL\nbattery.charge: 100\n")
        async with source_for(dump) as source:
            assert (await read(source)).flags == {Flag.ONLINE}
            dump.write_text("ups.status: OB DISCHRG\nbattery.charge: 99\n")
            stat = dump.stat()
            os.utime(dump, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
            reading = await read(source)
        assert reading.flags == {Flag.ON_BATTERY, Flag.DISCHARGING}
        assert reading.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.99)

    async def test_wait_is_a_stale_fault(self, tmp_path: Path) -> None:
        """A dump saying WAIT is a device without data: a StaleError fault."""
        dump = tmp_path / "u.dev"
        dump.write_text("ups.status: WAIT\n")
        async with source_for(dump) as source:
            (event,) = await source.read()
        assert isinstance(event, DeviceFault)
        assert isinstance(event.error, StaleError)

    @pytest.mark.parametrize(
        ("content", "error", "message"),
        [
            (None, ConnectError, "cannot read replay file"),
            (b"ups.status: OL\nTIMER x\n", DecodeError, "u.dev:2: TIMER"),
            (b"ups.status: OL\nups.model: caf\xe9\n", DecodeError, "u.dev:2: not UTF-8"),
        ],
    )
    async def test_bad_files(
        self, tmp_path: Path, content: bytes | None, error: type[Exception], message: str
    ) -> None:
        """A file gone since start-up is a ConnectError; a bad one a DecodeError naming the line."""
        dump = tmp_path / "u.dev"
        dump.write_bytes(content or b"ups.status: OL\n")
        async with source_for(dump) as source:
            if content is None:
                dump.unlink()
            with pytest.raises(error, match=message):
                await source.read()

    async def test_devices_started_together_share_one_parse(self, tmp_path: Path) -> None:
        """Devices of one file read at once wait for one parse, and a bad file fails them all."""
        dump = tmp_path / "u.dev"
        dump.write_text("ups.status: OL\nups.load: 20\n")
        sources = [source_for(dump) for _ in range(20)]
        await asyncio.gather(*(source.read() for source in sources))
        assert len({id(source._script) for source in sources}) == 1
        dump.write_text("ups.status: OL\nTIMER x\n")
        results = await asyncio.gather(
            *(source.read() for source in sources), return_exceptions=True
        )
        assert all(isinstance(result, DecodeError) for result in results), results

    def test_a_missing_file_is_a_configuration_error(self, tmp_path: Path) -> None:
        """A file absent at start-up is refused by the config, naming the path."""
        with pytest.raises(ValidationError, match=r"cannot read .*absent\.dev: No such file"):
            source_for(tmp_path / "absent.dev")

    def test_file_beside_the_config(self, tmp_path: Path) -> None:
        """A relative file is found in the config file's folder."""
        (tmp_path / "conf.yaml").write_text(
            "devices:\n  - {name: u, source: replay, file: dumps/u.dev}\n"
        )
        (tmp_path / "dumps").mkdir()
        (tmp_path / "dumps" / "u.dev").write_text("ups.status: OL\n")
        (device,) = load(tmp_path / "conf.yaml").devices
        assert isinstance(device, ReplayConfig)
        assert device.file == str(tmp_path / "dumps" / "u.dev")
        with pytest.raises(Exception, match="file"):
            validate({"devices": [{"name": "u", "source": "replay", "file": ""}]})


class TestDemo:
    """The bundled demo configuration works."""

    async def test_demo_devices_read(self) -> None:
        """Every device of examples/demo.yaml reads, with measures and an identity."""
        config = load(EXAMPLES / "demo.yaml")
        assert len(config.devices) >= 3
        for cfg in config.devices:
            async with KINDS[cfg.source].open(cfg) as source:
                (event,) = await source.read()  # type: ignore[union-attr]
            assert isinstance(event, Reading), event
            assert event.measures
            assert event.identity.vendor == "Acme Power"
