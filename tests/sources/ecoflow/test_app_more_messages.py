"""Messages decoded for their raw series, built byte by byte from the published field facts.

PowerStream 20/4, OCEAN Pro 32/177, Glacier Classic's cooler, DELTA 3 Plus's second PV input
in its display upload.

Facts (tests/fixtures/ecoflow_app/PROVENANCE.md, "Built payloads"): PowerStream 20/4 is
foxthefox's InverterHeartbeat2 (int32 fields 1-52; 7 upper and 8 lower battery limit, %);
OCEAN Pro 32/177 is tolwi's per-pack report (5 slot, 44 power in W, float or varint, positive
while charging); Glacier Classic's display is tolwi's schema (736/737 set points and 742/743
compartment temperatures as floats, 744 lid, 512 temperature unit; 102 the battery's
temperature, 262 charge); DELTA 3 Plus sends 70 PV2 power, 71 PV2 current, 440 PV2 temperature
and 442 PV2 voltage (floats) in its 254/21 (tolwi's DELTA 3 schema).
"""

from __future__ import annotations

import pytest

from power_exporter.model import Measure, Reading
from power_exporter.store import Store
from tests.sources.ecoflow.app_payloads import app_device, envelope, header
from tests.sources.ecoflow.test_batteries import _varint
from tests.sources.ecoflow.test_energy import _float
from tests.sources.ecoflow.test_exposition import promtool_check, render, samples


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _page(event: Reading) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The device's /metrics page, checked by promtool, as samples."""
    store = Store()
    store.register(event.device, source="ecoflow", unit=event.device, interval=15)
    store.update(event, unit=event.device, interval=15)
    text = render(store)
    promtool_check(text)
    return samples(text)


def test_powerstream_second_heartbeat() -> None:
    """20/4 beside 20/1: its fields raw under ``20_4.``, nothing normalized from them."""
    device = app_device("balcony", "HW51ZEH4SF5R3047", "powerstream")
    first = _int(38, 1843) + _int(36, 2301)  # 184.3 W fed, 230.1 V
    second = _int(7, 100) + _int(8, 15) + _int(32, 86400) + _int(52, -41)
    payload = envelope(header(first, (20, 1)), header(second, (20, 4), seq=2))
    *_, event = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["20_4.upperLimit"] == 100.0
    assert event.raw["20_4.lowerLimit"] == 15.0
    assert event.raw["20_4.value32"] == 86400.0
    assert event.raw["20_4.value52"] == -41.0
    assert event.measures == {Measure.OUTPUT_POWER: 184.3, Measure.OUTPUT_VOLTAGE: 230.1}
    found = _page(event)
    assert any(name.startswith("ecoflow_") and value == -41.0 for (name, _), value in found.items())


def test_ocean_pro_pack_power() -> None:
    """32/177: each pack's power raw (a float or a varint, negative while discharging)."""
    device = app_device("ocean", "HR51ZAZZZZ000001", "ocean_pro")
    pack1 = _int(5, 1) + _float(44, -850.5)
    pack2 = _int(5, 2) + _int(44, -300)
    display = _float(262, 64.0)
    payload = envelope(
        header(display, (254, 21)),
        header(pack1, (32, 177), src=3, seq=0x41, enc_type=1),
        header(pack2, (32, 177), src=3, seq=0x42, enc_type=1),
    )
    *_, event = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["ocean_pack[1].bp_power"] == -850.5
    assert event.raw["ocean_pack[2].bp_power"] == -300.0
    assert event.measures == {Measure.BATTERY_CHARGE: 0.64}  # the packs' power stays raw
    _page(event)


def _glacier_display() -> bytes:
    floats: list[tuple[int, float]] = [(3, 62.0), (4, 45.0), (262, 71.0), (736, 4.0)]
    floats += [(737, -18.0), (742, 5.5), (743, -17.25)]
    ints = ((1, 0), (102, 23), (213, 0), (282, 2), (512, 0), (744, 1), (745, 2), (741, 1))
    return b"".join(_float(n, v) for n, v in floats) + b"".join(_int(n, v) for n, v in ints)


def test_glacier_classic_cooler_fields() -> None:
    """The cooler's set points and compartments raw; the battery's temperature stays field 102."""
    device = app_device("fridge", "RF45ZEB4ZE000001", "glacier_classic")
    payload = envelope(header(_glacier_display(), (254, 21), src=2, seq=0x31, enc_type=1))
    *_, event = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["set_point_left"] == 4.0
    assert event.raw["set_point_right"] == -18.0
    assert event.raw["temp_monitor_left"] == 5.5
    assert event.raw["temp_monitor_right"] == -17.25
    assert event.raw["lid_status"] == 1.0
    assert event.raw["temp_unit"] == 0.0
    assert event.measures[Measure.BATTERY_TEMPERATURE] == 23.0
    assert event.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.71)
    assert event.labelled[Measure.DEVICE_ERROR_CODE] == {
        (("component", "system"),): 0.0,
        (("component", "pd"),): 0.0,
    }
    temperatures = {
        name: value
        for (name, _), value in _page(event).items()
        if name.startswith("power_") and "temperature" in name
    }
    assert temperatures == {"power_battery_temperature_celsius": 23.0}


def test_delta3_plus_second_pv_in_display() -> None:
    """DELTA 3 Plus: its PV2 current, voltage and temperature in 254/21, raw; PV2 power summed."""
    device = app_device("cabin", "P351ZEB4ZE000001", "protobuf_json")
    body = _float(361, 100.0) + _float(70, 210.0) + _float(71, 5.25)
    body += _float(440, 31.0) + _float(442, 40.1)
    *_, event = device.on_payload(envelope(header(body, (254, 21))), reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["plug_in_info_pv2_amp"] == 5.25
    assert event.raw["plug_in_info_pv2_vol"] == 40.1
    assert event.raw["temp_pv2"] == 31.0
    assert event.measures[Measure.SOLAR_INPUT_POWER] == 310.0
    _page(event)
