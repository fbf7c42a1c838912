"""The newer families from payloads built key by key (tests/fixtures/ecoflow/PROVENANCE.md).

Each goes the whole way: the fake cloud serves the quota map over the signed REST API, the
runtime reads it, the renderer serves it, promtool checks the page, and the normalized
values are asserted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from power_exporter.sources.ecoflow.more_families import FAMILIES, family_for
from power_exporter.store import Store
from tests.sources.ecoflow.conftest import config
from tests.sources.ecoflow.data import FIXTURES
from tests.sources.ecoflow.test_exposition import promtool_check, render, run, samples, wait_for

if TYPE_CHECKING:
    from tests.sources.ecoflow.fake_cloud import FakeCloud

Sample = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _fixture(name: str) -> dict[str, object]:
    document = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


async def _page(cloud: FakeCloud, serial: str, fixture: str) -> Sample:
    cloud.add(serial, _fixture(fixture))
    store = Store()
    runtime = await run([config(cloud, name="dev", serial=serial, interval="100ms")], store)
    try:
        await wait_for(lambda: (state := store.get("dev")) is not None and state.up)
        text = render(store)
    finally:
        await runtime.stop()
    promtool_check(text)
    return samples(text)


DEV = (("device", "dev"),)


def _labelled(found: Sample, name: str, label: str, value: str) -> float:
    return found[(name, tuple(sorted(((label, value), *DEV))))]


class TestPowerOcean:
    async def test_grid_load_solar_battery(self, cloud: FakeCloud) -> None:
        """Grid power signed (negative = feeding), load, PV, charge, the battery charging."""
        found = await _page(cloud, "HJ31ZZZZZZZZ0001", "built__powerocean__quota.json")
        assert found[("power_grid_power_watts", DEV)] == -120.0
        assert found[("power_output_power_watts", DEV)] == 512.5
        assert found[("power_solar_input_power_watts", DEV)] == 1180.0
        assert found[("power_battery_charge_ratio", DEV)] == 0.64
        assert found[("power_status", (("device", "dev"), ("flag", "charging")))] == 1
        assert _labelled(found, "power_battery_pack_charge_ratio", "battery", "2") == 0.63
        assert _labelled(found, "power_battery_pack_cycles", "battery", "1") == 41
        assert ("power_battery_pack_health_ratio", (("battery", "2"), *DEV)) not in found


class TestSmartMeter:
    async def test_grid_and_phases(self, cloud: FakeCloud) -> None:
        """The site's grid power, and voltage, current and power per phase."""
        found = await _page(cloud, "BK21ZZZZZZZZ0001", "built__smart_meter__quota.json")
        assert found[("power_grid_power_watts", DEV)] == 842.0
        assert _labelled(found, "power_input_phase_voltage_volts", "phase", "L2") == 229.8
        assert _labelled(found, "power_input_phase_current_amperes", "phase", "L1") == 2.31
        assert _labelled(found, "power_input_phase_power_watts", "phase", "L1") == 512.0


class TestStream:
    async def test_battery_and_energy(self, cloud: FakeCloud) -> None:
        """System charge first, health, no runtime for the 5939 "n/a", lifetime energy."""
        found = await _page(cloud, "BK51ZZZZZZZZ0001", "built__stream_ac__quota.json")
        assert found[("power_battery_charge_ratio", DEV)] == 0.43
        assert found[("power_battery_health_ratio", DEV)] == 1.0
        assert ("power_battery_runtime_seconds", DEV) not in found
        assert found[("power_battery_temperature_celsius", DEV)] == 35
        assert found[("power_battery_charge_energy_joules_total", DEV)] == 3992 * 3600.0
        assert found[("power_battery_discharge_energy_joules_total", DEV)] == 3646 * 3600.0
        assert found[("power_status", (("device", "dev"), ("flag", "charging")))] == 1
        assert ("power_grid_power_watts", DEV) not in found  # sign not established: raw only


class TestDeltaProUltra:
    async def test_station_and_batteries(self, cloud: FakeCloud) -> None:
        """Charge, runtime, in/out, solar HV + LV, AC input volts, each battery by slot."""
        found = await _page(cloud, "Y711ZZZZZZZZ0001", "built__delta_pro_ultra__quota.json")
        assert found[("power_battery_charge_ratio", DEV)] == 0.81
        assert found[("power_battery_runtime_seconds", DEV)] == 412 * 60
        assert found[("power_input_power_watts", DEV)] == 1450
        assert found[("power_output_power_watts", DEV)] == 620
        assert found[("power_solar_input_power_watts", DEV)] == 1150
        assert found[("power_input_voltage_volts", DEV)] == 121.4
        assert _labelled(found, "power_battery_pack_charge_ratio", "battery", "2") == 0.8
        assert _labelled(found, "power_battery_pack_health_ratio", "battery", "1") == (
            pytest.approx(0.9871886)
        )


class TestSmartHomePanel2:
    async def test_panel_circuits_backup(self, cloud: FakeCloud) -> None:
        """Grid in, panel out, backup charge and time, per-circuit power from 1."""
        found = await _page(cloud, "HD31ZZZZZZZZ0001", "built__shp2__quota.json")
        assert found[("power_input_power_watts", DEV)] == 1830
        assert found[("power_output_power_watts", DEV)] == 1790
        assert found[("power_battery_charge_ratio", DEV)] == 0.77
        assert found[("power_battery_runtime_seconds", DEV)] == 1260 * 60
        assert found[("power_input_voltage_volts", DEV)] == 240.3
        circuits = {
            labels[0][1]: value
            for (name, labels), value in found.items()
            if name == "power_circuit_power_watts"
        }
        assert circuits["1"] == 120
        assert circuits["7"] == 995
        assert len(circuits) == 12
        assert _labelled(found, "power_battery_pack_charge_ratio", "battery", "2") == 0.76


def test_detected_by_keys_without_a_serial_family() -> None:
    """A serial devices.json does not know still gets the family its keys betray."""
    assert family_for(None, {"sysLoadPwr": 1.0}) is FAMILIES["powerocean"]
    assert family_for(None, {"powGetSysGrid": 1.0}) is FAMILIES["smart_meter"]
