"""Energy counters from the devices' own totals: real captures, a reset mid-run, 254/32."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import pytest

from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.base import PolledSource
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.energy import EnergyCounters, device_totals
from power_exporter.sources.ecoflow.flatten import flatten
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.source import open_source
from tests.sources.ecoflow import data
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.sources.ecoflow.conftest import config

if TYPE_CHECKING:
    from tests.sources.ecoflow.fake_cloud import FakeCloud

WH = 3600.0
DELTA2MAX = "R351ZEB4HF3A0360"
POWERSTREAM = "HW51ZEH4SF5R3047"


def _energy(quota: dict[str, object], serial: str) -> dict[Measure, float]:
    return EnergyCounters().measures(serial, flatten(quota).numbers)


class TestCaptures:
    def test_delta_pro(self) -> None:
        """DELTA Pro (real dump): Ac/Dc spelling, solar, charge and discharge totals in Wh."""
        found = _energy(data.delta_pro(), "DCABZ5ZE0000")
        assert found == {
            Measure.SOLAR_ENERGY: 37064 * WH,
            Measure.INPUT_ENERGY: 444762 * WH,  # chgPowerAc; chgPowerDc is 0
            Measure.OUTPUT_ENERGY: (411377 + 508) * WH,
        }

    def test_delta2max(self) -> None:
        """DELTA 2 Max (real dump): AC/DC spelling; a total of 0 (no solar yet) is no counter."""
        found = _energy(data.delta2max(), DELTA2MAX)
        assert found == {
            Measure.INPUT_ENERGY: (713540 + 21830) * WH,
            Measure.OUTPUT_ENERGY: (51358 + 9763) * WH,
        }

    def test_power_only_device_gets_no_energy(self) -> None:
        """The PowerStream developer-API dump gives power, no totals: no energy is invented."""
        assert _energy(data.powerstream(), POWERSTREAM) == {}


class TestResets:
    async def test_rest_total_that_resets_stays_monotonic(self, cloud: FakeCloud) -> None:
        """A device total that drops mid-run (a reboot) carries on in the exported counter."""
        quota = data.delta2max()
        device = cloud.add(DELTA2MAX, quota)
        source = open_source(config(cloud, serial=DELTA2MAX))
        assert isinstance(source, PolledSource)
        seen: list[float] = []
        async with source:
            for chg_ac in (713540, 713600, 10, 70):
                device.quota["pd.chgPowerAC"] = chg_ac
                (event,) = await source.read()
                assert isinstance(event, Reading)
                seen.append(event.measures[Measure.INPUT_ENERGY] / WH)
        dc = 21830
        assert seen == [713540 + dc, 713600 + dc, 713610 + dc, 713670 + dc]
        # the true energy: 60 Wh before the reset, 70 after it (10 + 60)
        assert seen[-1] - seen[0] == 60 + 70


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: int | bytes) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _float(number: int, value: float) -> bytes:
    """A 32-bit float field (wire type 5)."""
    return _varint(number << 3 | 5) + struct.pack("<f", value)


def energy_report(items: dict[int, list[int]]) -> bytes:
    """254/32 pdata, byte by byte from the field notes (1.7): {1 seq, 2 {1 ts, 2 type, 3 Wh}}."""
    body = _field(1, 5)
    for kind, watth in items.items():
        packed = b"".join(_varint(v) for v in watth)
        item = _field(1, 1_700_000_000) + _field(2, kind) + _field(3, packed)
        body += _field(2, item)
    return body


class TestPowerStreamDayTotals:
    @pytest.fixture
    def device(self) -> AppDevice:
        return AppDevice(
            "balcony",
            POWERSTREAM,
            DeviceIdentity(name="balcony", source="ecoflow"),
            "powerstream",
            OnlineModel(started=0.0),
            keep_for=900.0,
        )

    def _push(self, device: AppDevice, items: dict[int, list[int]], now: float) -> Reading:
        payload = envelope(header(energy_report(items), (254, 32), src=20, seq=9, enc_type=1))
        *_, event = device.on_payload(payload, reply=False, now=now)
        assert isinstance(event, Reading)
        return event

    def test_day_totals_by_kind(self, device: AppDevice) -> None:
        """Types 1, 3, 4, 7+8 become output, battery in/out and solar; 2, 5, 6 are not ours."""
        reading = self._push(
            device, {1: [100, 50], 2: [999], 3: [20], 4: [30, 5], 5: [777], 7: [60], 8: [40]}, 1.0
        )
        energy = {m: v / WH for m, v in reading.measures.items() if m.value.endswith("_energy")}
        assert energy == {
            Measure.OUTPUT_ENERGY: 150.0,
            Measure.BATTERY_CHARGE_ENERGY: 20.0,
            Measure.BATTERY_DISCHARGE_ENERGY: 35.0,
            Measure.SOLAR_ENERGY: 100.0,
        }
        assert reading.raw["254_32.watthItem[0].watth[1]"] == 50.0

    def test_midnight_reset_stays_monotonic(self, device: AppDevice) -> None:
        """The day's total falls at midnight; the counter carries on with the new day's."""
        first = self._push(device, {7: [100, 200]}, 1.0).measures[Measure.SOLAR_ENERGY]
        late = self._push(device, {7: [100, 250]}, 2.0).measures[Measure.SOLAR_ENERGY]
        new_day = self._push(device, {7: [5]}, 3.0).measures[Measure.SOLAR_ENERGY]
        later = self._push(device, {7: [5, 20]}, 4.0).measures[Measure.SOLAR_ENERGY]
        assert [v / WH for v in (first, late, new_day, later)] == [300.0, 350.0, 355.0, 375.0]

    def test_smart_plug_counts_its_own_kind(self) -> None:
        """On a Smart Plug, type 5 (its own energy) is the output; nothing else is."""
        raw = {
            "254_32.watthItem[0].watthType": 5.0,
            "254_32.watthItem[0].watth[0]": 12.0,
            "254_32.watthItem[1].watthType": 1.0,
            "254_32.watthItem[1].watth[0]": 99.0,
        }
        assert {k: v for k, (_, v) in device_totals("HW52ZEH4", raw).items()} == {
            "254_32.type5": 12.0
        }
