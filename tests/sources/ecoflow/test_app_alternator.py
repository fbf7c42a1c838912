"""Alternator Charger on the app API: its own 254/21 layout, built byte by byte.

From the field facts (tolwi's alternator table): 105 alternator power, 425 power to the
station, 139 car battery volts, 603 rated power (floats, fixed32), 262 the station's charge
(float %), 102 the charger's temperature (varint). The charger's report must not be read as a
power station's display upload, where 262 and 102 mean the device's own battery.
"""

from __future__ import annotations

from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.protobuf_families import commands_for
from power_exporter.store import Store
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.sources.ecoflow.test_energy import _field, _float
from tests.sources.ecoflow.test_exposition import promtool_check, render

ALTERNATOR = "F371ZEB49G000001"


def report() -> bytes:
    """Alternator 412.5 W in, 398.0 W to the station, car battery 13.8 V, rated 800 W."""
    floats = ((105, 412.5), (425, 398.0), (139, 13.8), (603, 800.0), (262, 57.0))
    return _field(102, 41) + b"".join(_float(number, value) for number, value in floats)


def test_alternator_report() -> None:
    """Power in and out, the car battery as its input voltage; no battery of its own."""
    assert set(commands_for(ALTERNATOR)) == {(254, 21), (254, 37)}
    device = AppDevice(
        "van",
        ALTERNATOR,
        DeviceIdentity(name="van", source="ecoflow"),
        "alternator",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    payload = envelope(header(report(), (254, 21), src=20, seq=0x55, enc_type=1))
    *_, event = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["254_21.alternatorPower"] == 412.5
    assert event.raw["254_21.temp"] == 41.0
    assert event.measures == {
        Measure.INPUT_POWER: 412.5,
        Measure.OUTPUT_POWER: 398.0,
        Measure.INPUT_VOLTAGE: 13.8,
        Measure.NOMINAL_POWER: 800.0,
    }
    store = Store()
    store.register("van", source="ecoflow", unit="van", interval=15)
    store.update(event, unit="van", interval=15)
    promtool_check(render(store))
