"""Smart Home Panel 2 on the app API, its heartbeat and state push built byte by byte.

From foxthefox's Smart Home Panel 2 schema (facts: numbers, wire types, units): 12/1 {1 master
{1 grid W (float)}, 2 loads {1 each circuit's W, repeated, circuit 1 first}, 3 backup {2 backup
minutes left}, 4 power {1 grid W, 21 all circuits' W}}; 12/32 {80 backup {3 charge %, 80/81
battery 1/2 {8 charge %}}, 82 master {3 grid volts}}; 12/33 {10 the main breaker's rated
current A, 22/23 unnamed (varints)}.
"""

from __future__ import annotations

import re

import pytest

from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.protobuf_families import commands_for
from power_exporter.store import Store
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.sources.ecoflow.test_energy import _field, _float, _varint
from tests.sources.ecoflow.test_exposition import promtool_check, render

PANEL_SN = "HD31ZEB4XXXX0006"


def _heartbeat() -> bytes:
    circuits = b"".join(_varint(watts) for watts in (120, 0, 845))  # packed repeated int32
    return (
        _field(1, _float(1, 1530.5))
        + _field(2, _field(1, circuits))
        + _field(3, _field(2, 245))
        + _field(4, _field(1, 1530) + _field(21, 965))
    )


def _state() -> bytes:
    backup = _field(3, 76) + _field(80, _field(8, 80)) + _field(81, _field(8, 72))
    return _field(80, backup) + _field(82, _field(3, 240))


def test_heartbeat_and_state() -> None:
    """Grid in, circuits out, backup charge and time, grid volts; per circuit, per battery."""
    assert set(commands_for(PANEL_SN)) == {(12, 1), (12, 32), (12, 33)}
    device = AppDevice(
        "panel2",
        PANEL_SN,
        DeviceIdentity(name="panel2", source="ecoflow"),
        "shp2",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    payload = envelope(
        header(_heartbeat(), (12, 1), seq=0x11, enc_type=1),
        header(_state(), (12, 32), seq=0x12, enc_type=1),
    )
    (event,) = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["masterInfo.gridWatt"] == 1530.5
    assert event.raw["loadInfo.hall1Watt[2]"] == 845.0
    assert event.measures == {
        Measure.INPUT_POWER: 1530.0,
        Measure.OUTPUT_POWER: 965.0,
        Measure.BATTERY_CHARGE: pytest.approx(0.76),
        Measure.BATTERY_RUNTIME: 245 * 60.0,
        Measure.INPUT_VOLTAGE: 240.0,
    }
    assert event.labelled[Measure.CIRCUIT_POWER] == {
        (("circuit", "1"),): 120.0,
        (("circuit", "2"),): 0.0,
        (("circuit", "3"),): 845.0,
    }
    assert event.labelled[Measure.BATTERY_PACK_CHARGE] == {
        (("battery", "1"),): 0.8,
        (("battery", "2"),): 0.72,
    }
    store = Store()
    store.register("panel2", source="ecoflow", unit="panel2", interval=15)
    store.update(event, unit="panel2", interval=15)
    text = render(store)
    promtool_check(text)
    assert 'power_circuit_power_watts{device="panel2",circuit="3"} 845' in text


def test_settings_are_raw() -> None:
    """12/33: the breaker's rating and two unnamed values, raw only, beside the heartbeat's."""
    device = AppDevice(
        "panel2",
        PANEL_SN,
        DeviceIdentity(name="panel2", source="ecoflow"),
        "shp2",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    settings = _field(10, 100) + _field(22, 1) + _field(23, 3)
    payload = envelope(
        header(_heartbeat(), (12, 1), seq=0x21, enc_type=1),
        header(settings, (12, 33), seq=0x22, enc_type=1),
    )
    (event,) = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert {key: event.raw[key] for key in event.raw if key.startswith("12_33.")} == {
        "12_33.maxCurrentAmp": 100.0,
        "12_33.value22": 1.0,
        "12_33.value23": 3.0,
    }
    assert event.measures[Measure.INPUT_POWER] == 1530.0
    assert Measure.INPUT_CURRENT not in event.measures
    store = Store()
    store.register("panel2", source="ecoflow", unit="panel2", interval=15)
    store.update(event, unit="panel2", interval=15)
    text = render(store)
    promtool_check(text)
    series = r'^ecoflow_12_33_max_current_amp\{device="panel2",[^}]*\} 100$'
    assert re.search(series, text, re.MULTILINE)
