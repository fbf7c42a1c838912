"""Smart Home Panel 3 on the app API: its display upload, built byte by byte.

From tolwi's Smart Home Panel 3 decoder (facts: numbers, wire types, units): 262 backup charge
% (float), 515 grid power and 516 home load W (floats), 956/957 the legs' volts, 958/959 their
grid amperes, 962/963 their grid watts (floats), 1015 + i circuit i + 1 as {1 V, 2 W with
consumption negative, 3 A} (floats).
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

PANEL = "HR63ZAZZZZ000001"


def _circuit(volts: float, watts: float, amps: float) -> bytes:
    return _float(1, volts) + _float(2, watts) + _float(3, amps)


def display() -> bytes:
    """Grid 1250 W in, home 1830 W, leg 1 at 121.5 V / 6.5 A / 790 W; circuits 1 and 3 drawing."""
    floats = (
        (262, 54.0),
        (515, 1250.0),
        (516, 1830.0),
        (956, 121.5),
        (958, 6.5),
        (962, 790.0),
    )
    body = b"".join(_float(number, value) for number, value in floats)
    body += _field(1015, _circuit(121.5, -640.0, 5.25))  # circuit 1
    body += _field(1017, _circuit(121.0, -95.5, 0.75))  # circuit 3
    return body


def test_panel_display() -> None:
    """Backup charge, grid (drawn: positive), home load, leg 1, circuits drawing as positive W."""
    assert set(commands_for(PANEL)) == {(254, 21)}
    device = AppDevice(
        "panel",
        PANEL,
        DeviceIdentity(name="panel", source="ecoflow"),
        "shp3",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    payload = envelope(header(display(), (254, 21), src=2, seq=0x44, enc_type=1))
    *_, event = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["shp3.ch3.watt"] == -95.5
    assert event.measures == {
        Measure.BATTERY_CHARGE: 0.54,
        Measure.GRID_POWER: 1250.0,
        Measure.OUTPUT_POWER: 1830.0,
    }
    assert event.labelled[Measure.CIRCUIT_POWER] == {
        (("circuit", "1"),): 640.0,
        (("circuit", "3"),): 95.5,
    }
    assert event.labelled[Measure.INPUT_PHASE_VOLTAGE] == {(("phase", "L1"),): 121.5}
    assert event.labelled[Measure.INPUT_PHASE_CURRENT] == {(("phase", "L1"),): 6.5}
    assert event.labelled[Measure.INPUT_PHASE_POWER] == {(("phase", "L1"),): 790.0}
    store = Store()
    store.register("panel", source="ecoflow", unit="panel", interval=15)
    store.update(event, unit="panel", interval=15)
    text = render(store)
    promtool_check(text)
    assert 'power_circuit_power_watts{device="panel",circuit="1"} 640' in text


def test_ocean_smart_panel_has_forty_circuits() -> None:
    """The OCEAN Smart Panel: the same layout, circuits up to 40 (field 1054)."""
    device = AppDevice(
        "ocean-panel",
        "HR61ZAZZZZ000001",
        DeviceIdentity(name="ocean-panel", source="ecoflow"),
        "shp3",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    body = _float(516, 900.0) + _field(1054, _circuit(240.0, -310.0, 1.3))
    *_, event = device.on_payload(envelope(header(body, (254, 21))), reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.labelled[Measure.CIRCUIT_POWER] == {(("circuit", "40"),): 310.0}


def test_ocean_pro_inverter() -> None:
    """OCEAN Pro inverter: charge, PV strings summed (a value over 5500 W per string is not PV)."""
    device = AppDevice(
        "ocean",
        "HR51ZAZZZZ000001",
        DeviceIdentity(name="ocean", source="ecoflow"),
        "ocean_pro",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    assert set(commands_for("HR51ZAZZZZ000001")) == {(254, 21), (32, 177)}
    floats = ((262, 81.0), (53, -2150.0), (1476, 1210.5), (1477, 980.0), (1478, 91234.0))
    body = b"".join(_float(number, value) for number, value in floats)
    *_, event = device.on_payload(envelope(header(body, (254, 21))), reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["ocean.pcs_pwr"] == -2150.0
    assert event.measures == {Measure.BATTERY_CHARGE: 0.81, Measure.SOLAR_INPUT_POWER: 2190.5}
