"""Smart Plug on the app API: its 2/1 heartbeat and 254/32 energy, built byte by byte.

The heartbeat is encoded by hand from the field facts (notes 1.8: 6 temp, 7 freq, 8 current
in mA, 9 volt in V, 10 watts in 0.1 W, 11 switchSta), masked as a device masks it, and must
come out under the developer API's names (``2_1.watts``...) so that the Smart Plug table
normalizes both APIs alike.
"""

from __future__ import annotations

from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.naming import NAMING
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.protobuf_families import commands_for
from power_exporter.store import Store
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.sources.ecoflow.test_energy import _field, energy_report
from tests.sources.ecoflow.test_exposition import promtool_check, render

PLUG = "HW52ZEH4SF5R0001"


def heartbeat() -> bytes:
    """2/1: temp 31 °C, 50 Hz, 812 mA, 229 V, 1843 (184.3 W), switched on."""
    fields = ((6, 31), (7, 50), (8, 812), (9, 229), (10, 1843), (11, 1))
    return b"".join(_field(number, value) for number, value in fields)


def test_plug_heartbeat_and_energy() -> None:
    """Output power, voltage, current, frequency; energy from type 5; the raw names."""
    assert set(commands_for(PLUG)) == {(2, 1), (254, 32)}
    device = AppDevice(
        "kettle",
        PLUG,
        DeviceIdentity(name="kettle", source="ecoflow"),
        "smart_plug",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    beat = header(heartbeat(), (2, 1), src=53, seq=0x1234, enc_type=1)
    energy = header(energy_report({5: [120, 30], 6: [90]}), (254, 32), src=53, seq=7, enc_type=1)
    *_, event = device.on_payload(envelope(beat, energy), reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["2_1.watts"] == 1843.0
    assert event.raw["2_1.switchSta"] == 1.0
    assert event.measures[Measure.OUTPUT_POWER] == 184.3
    assert event.measures[Measure.OUTPUT_VOLTAGE] == 229.0
    assert event.measures[Measure.OUTPUT_CURRENT] == 0.812
    assert event.measures[Measure.OUTPUT_FREQUENCY] == 50.0
    assert event.measures[Measure.OUTPUT_ENERGY] == 150 * 3600.0
    names = {sample.family.name for sample in NAMING.samples(event)}
    assert {"ecoflow_2_1_watts", "ecoflow_2_1_volt", "ecoflow_254_32_watth_item_watth"} <= names
    store = Store()
    store.register("kettle", source="ecoflow", unit="kettle", interval=15)
    store.update(event, unit="kettle", interval=15)
    text = render(store)
    promtool_check(text)
    assert 'power_output_energy_joules_total{device="kettle"} 540000' in text
