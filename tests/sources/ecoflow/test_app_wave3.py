"""WAVE 3 on the app API: display upload numbered as the power stations', built byte by byte.

From tolwi's wave3 schema (facts: numbers and types): 3 / 4 total input / output W (float),
262 / 263 system charge / health % (float), 268 remaining minutes, 282 charge state,
361 PV W (float), 62 AC input Hz, 68 AC input V (runtime, float).
"""

from __future__ import annotations

from power_exporter.model import DeviceIdentity, Flag, Measure, Reading
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.protobuf_families import commands_for
from power_exporter.store import Store
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.sources.ecoflow.test_energy import _field, _float
from tests.sources.ecoflow.test_exposition import promtool_check, render

WAVE3 = "AC71ZEB4ZE000001"


def display() -> bytes:
    """Cooling from the battery: 0 W in, 410 W out, 62 % / 98 %, 95 min left, PV 0."""
    floats = ((3, 0.0), (4, 410.0), (262, 62.0), (263, 98.0), (361, 120.0))
    varints = ((268, 95), (282, 1), (62, 50))
    return b"".join(_float(n, v) for n, v in floats) + b"".join(_field(n, v) for n, v in varints)


def runtime() -> bytes:
    """The AC input voltage (field 68, float)."""
    return _float(68, 229.5)


def test_wave3_uploads() -> None:
    """Charge, health, runtime, power in/out, PV, AC input; discharging by state 1."""
    assert set(commands_for(WAVE3)) == {(254, 21), (254, 22)}
    device = AppDevice(
        "cooler",
        WAVE3,
        DeviceIdentity(name="cooler", source="ecoflow"),
        "wave3",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    payload = envelope(
        header(display(), (254, 21), src=2, seq=0x21, enc_type=1),
        header(runtime(), (254, 22), src=2, seq=0x22, enc_type=1),
    )
    *_, event = device.on_payload(payload, reply=True, now=1.0)
    assert isinstance(event, Reading)
    assert event.measures == {
        Measure.BATTERY_CHARGE: 0.62,
        Measure.BATTERY_HEALTH: 0.98,
        Measure.BATTERY_RUNTIME: 95 * 60.0,
        Measure.INPUT_POWER: 0.0,
        Measure.OUTPUT_POWER: 410.0,
        Measure.SOLAR_INPUT_POWER: 120.0,
        Measure.INPUT_VOLTAGE: 229.5,
        Measure.INPUT_FREQUENCY: 50.0,
    }
    assert event.flags == frozenset({Flag.DISCHARGING})
    store = Store()
    store.register("cooler", source="ecoflow", unit="cooler", interval=15)
    store.update(event, unit="cooler", interval=15)
    promtool_check(render(store))
