"""Glacier Classic on the app API: uploads numbered as the power stations', built byte by byte.

From tolwi's Glacier Classic schema (facts: numbers and types): display 3 / 4 total input /
output W (float), 102 battery temperature, 262 charge % (float), 268 remaining minutes, 282
charge state; runtime 68 AC input V (float); the BMS heartbeat as 32/50 (1 num, 6 soc, 7 vol
mV, 9 temp, 14 cycles, 15 soh).
"""

from __future__ import annotations

from power_exporter.model import DeviceIdentity, Flag, Measure, Reading
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.protobuf_families import commands_for
from power_exporter.store import Store
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.sources.ecoflow.test_batteries import pack_report
from tests.sources.ecoflow.test_energy import _field, _float
from tests.sources.ecoflow.test_exposition import promtool_check, render

FRIDGE = "RF45ZEB4ZE000001"


def display() -> bytes:
    """Charging on AC: 62 W in, 45 W out, 71 %, 23 °C, charging (state 2), 5999 "n/a"."""
    floats = ((3, 62.0), (4, 45.0), (262, 71.0))
    varints = ((102, 23), (268, 5999), (282, 2))
    return b"".join(_float(n, v) for n, v in floats) + b"".join(_field(n, v) for n, v in varints)


def test_glacier_classic_uploads() -> None:
    """Charge, power in/out, battery temperature, AC input; no runtime for "n/a"; the pack."""
    assert set(commands_for(FRIDGE)) == {(254, 21), (254, 22), (32, 2), (32, 50)}
    device = AppDevice(
        "fridge",
        FRIDGE,
        DeviceIdentity(name="fridge", source="ecoflow"),
        "glacier_classic",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    payload = envelope(
        header(display(), (254, 21), src=2, seq=0x31, enc_type=1),
        header(_float(68, 118.5), (254, 22), src=2, seq=0x32, enc_type=1),
        header(pack_report(0, (71, 13250, 22, 17, 100)), (32, 50), src=7, seq=0x33, enc_type=1),
    )
    *_, event = device.on_payload(payload, reply=True, now=1.0)
    assert isinstance(event, Reading)
    assert event.measures == {
        Measure.BATTERY_CHARGE: 0.71,
        Measure.BATTERY_TEMPERATURE: 23.0,
        Measure.INPUT_POWER: 62.0,
        Measure.OUTPUT_POWER: 45.0,
        Measure.INPUT_VOLTAGE: 118.5,
    }
    assert event.flags == frozenset({Flag.CHARGING})
    assert event.labelled[Measure.BATTERY_PACK_VOLTAGE] == {(("battery", "0"),): 13.25}
    store = Store()
    store.register("fridge", source="ecoflow", unit="fridge", interval=15)
    store.update(event, unit="fridge", interval=15)
    promtool_check(render(store))
