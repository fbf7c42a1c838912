"""STREAM on the app API: a published push, a display upload and BMS heartbeats built by hand.

The push is a real STREAM Ultra 254/21 (fixture, provenance in tests/fixtures/ecoflow_app). The
built messages follow foxthefox's STREAM schema (facts: numbers, wire types, units): 259 the
main pack's max cell temperature (degC, varint), 262/263 system charge/health (%, floats), 268
remaining discharge minutes (5939 = not applicable), 282 the system's charge state (2 charging),
515 the site's grid power (W, float); the BMS heartbeat 32/50 numbered as the power stations'.
"""

from __future__ import annotations

import re

import pytest

from power_exporter.model import Flag, Measure, Reading
from power_exporter.sources.ecoflow.protobuf_families import commands_for
from tests.sources.ecoflow.app_payloads import FIXTURES, app_device, envelope, exposed, header
from tests.sources.ecoflow.test_energy import _field, _float

STREAM_SN = "BK11ZEB4XXXX0002"
CAPTURE = FIXTURES / "tess1o-issue24__stream-ultra__device-property-push__protobuf.hex"


def test_published_push_is_decoded() -> None:
    """The STREAM Ultra's own push: house load = PV + battery, as the device reported them."""
    assert set(commands_for(STREAM_SN)) == {(254, 21), (254, 22), (32, 2), (32, 50)}
    device = app_device("stream", STREAM_SN, "stream")
    payload = bytes.fromhex(CAPTURE.read_text(encoding="ascii").strip())
    *_, event = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["powGetSysLoad"] == 561.25134
    assert event.raw["powGetPvSum"] == 79.0
    assert event.raw["powGetBpCms"] == -482.25134  # the battery discharging
    assert event.raw["powGetSysLoadFromBp"] == 482.25134
    assert event.raw["gridConnectionPower"] == 572.7018  # raw only: its sign is not established
    assert event.measures == {
        Measure.SOLAR_INPUT_POWER: 79.0,
        Measure.OUTPUT_POWER: 561.25134,
    }
    text = exposed("stream", event)
    assert 'power_solar_input_power_watts{device="stream"} 79' in text
    assert re.search(r'ecoflow_pow_get_bp_cms\{device="stream",[^}]*\} -482.25134', text)


def _display() -> bytes:
    floats = ((262, 46.3), (263, 100.0), (515, -135.0), (517, 2051.5), (516, 0.0))
    body = b"".join(_float(number, value) for number, value in floats)
    return body + _field(259, 35) + _field(268, 5939) + _field(269, 88) + _field(282, 2)


def _pack(num: int, soc: int, cycles: int) -> bytes:
    """32/50: 1 num, 6 soc %, 7 vol mV, 9 temp degC, 14 cycles, 15 soh %, 79 Wh charged."""
    fields = ((1, num), (6, soc), (7, 20161), (9, 35), (14, cycles), (15, 100), (79, 1000 * cycles))
    return b"".join(_field(number, value) for number, value in fields)


def test_built_display_and_packs() -> None:
    """Charge, health, temperature, charging; no runtime (5939 = n/a); one series per pack."""
    device = app_device("stream-b", STREAM_SN, "stream")
    payload = envelope(
        header(_display(), (254, 21), seq=0x5A, enc_type=1),
        header(_pack(0, 46, 1), (32, 50), src=7),
        header(_pack(1, 52, 12), (32, 50), src=7),
    )
    events = device.on_payload(payload, reply=False, now=1.0)
    assert not [e for e in events if not isinstance(e, Reading)]
    (event,) = events
    assert isinstance(event, Reading)
    assert event.raw["powGetSysGrid"] == -135.0  # raw only
    assert event.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.463)
    assert event.measures[Measure.BATTERY_HEALTH] == 1.0
    assert event.measures[Measure.BATTERY_TEMPERATURE] == 35.0
    assert event.measures[Measure.SOLAR_INPUT_POWER] == 2051.5
    assert Measure.BATTERY_RUNTIME not in event.measures
    assert Measure.GRID_POWER not in event.measures
    assert Flag.CHARGING in event.flags
    # the packs' lifetime charge energy (1 kWh + 12 kWh), summed, in joules
    assert event.measures[Measure.BATTERY_CHARGE_ENERGY] == 13000 * 3600.0
    assert event.labelled[Measure.BATTERY_PACK_CHARGE] == {
        (("battery", "0"),): 0.46,
        (("battery", "1"),): 0.52,
    }
    assert event.labelled[Measure.BATTERY_PACK_CYCLES][(("battery", "1"),)] == 12.0
    assert event.labelled[Measure.BATTERY_PACK_VOLTAGE][(("battery", "0"),)] == 20.161
    text = exposed("stream-b", event)
    assert 'power_battery_pack_charge_ratio{device="stream-b",battery="1"} 0.52' in text
