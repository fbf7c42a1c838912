"""PowerOcean and the Smart Meter on the app API, built byte by byte from the published fields.

PowerOcean (foxthefox's schema; facts: numbers, wire types, units): 96/33 {1 house load,
2 grid power (positive while drawn from the grid), 3 PV, 4 battery power (negative while it
discharges), W floats; 5 charge %, varint}; 96/7 {1 repeated pack {2 charge %, 3 health %,
9 volts (float), 17 cycles, 30 max cell temperature degC (float)}}; 96/1 {11 AC frequency,
12/13/14 phases A/B/C {1 volts, 2 amperes, 3 active W, 4 reactive var, 5 apparent VA},
31 PV trackers {1 strings {1 volts, 2 amperes, 3 W}}, 59 the packs' W (floats)}: the phase
values are those of a published developer-API reply (tolwi's powerocean.py).
Smart Meter (tolwi's schema): 254/21 {515 the site's grid power, 956/957/771 the phases'
volts, 962/963/772 their watts (floats)}.
"""

from __future__ import annotations

import pytest

from power_exporter.model import DeviceFault, Flag, Measure, Reading
from power_exporter.sources.ecoflow.app_energy_systems import ENERGY_SYSTEM_COMMANDS
from power_exporter.sources.ecoflow.protobuf_families import commands_for
from tests.sources.ecoflow.app_payloads import app_device, envelope, exposed, header
from tests.sources.ecoflow.test_energy import _field, _float

OCEAN_SN = "HJ31ZEB4XXXX0003"
METER_SN = "BK21ZEB4XXXX0004"
FIT_SN = "HC31ZEB4XXXX0005"


def _energy_stream() -> bytes:
    """House 454 W = PV 0 + grid -4 W (fed in) + battery 458 W (bp_pwr -458: discharging)."""
    floats = ((1, 454.0), (2, -4.0), (3, 0.0), (4, -458.0))
    return b"".join(_float(number, value) for number, value in floats) + _field(5, 64)


def _pack(soc: int, soh: int, volts: float, cycles: int, temp: float) -> bytes:
    return (
        _field(2, soc) + _field(3, soh) + _float(9, volts) + _field(17, cycles) + _float(30, temp)
    )


def test_powerocean_energy_stream_and_packs() -> None:
    """Charge, load, PV, grid (signed), discharging; one series per pack, numbered from 1."""
    assert set(commands_for(OCEAN_SN)) == {(96, 1), (96, 33), (96, 7)}
    # the Plus sends the same messages; the DC Fit numbers its 96/33 otherwise
    assert commands_for("R37AZEB4XXXX0001") == commands_for(OCEAN_SN)
    assert set(commands_for(FIT_SN)) == {(96, 33)}
    device = app_device("ocean", OCEAN_SN, "powerocean")
    packs = _field(1, _pack(65, 99, 51.2, 41, 24.0)) + _field(1, _pack(63, 0, 51.0, 40, 25.5))
    payload = envelope(
        header(_energy_stream(), (96, 33), seq=0x21, enc_type=1),
        header(packs, (96, 7), seq=0x22, enc_type=1),
    )
    events = device.on_payload(payload, reply=False, now=1.0)
    (event,) = events
    assert isinstance(event, Reading)
    assert event.raw["sysGridPwr"] == -4.0
    assert event.raw["bpSta[1].bpSoc"] == 63.0
    assert event.measures == {
        Measure.BATTERY_CHARGE: pytest.approx(0.64),
        Measure.OUTPUT_POWER: 454.0,
        Measure.SOLAR_INPUT_POWER: 0.0,
        Measure.GRID_POWER: -4.0,
    }
    assert Flag.DISCHARGING in event.flags
    assert event.labelled[Measure.BATTERY_PACK_CHARGE] == {
        (("battery", "1"),): 0.65,
        (("battery", "2"),): 0.63,
    }
    # a health of 0 means unknown: pack 2 has none
    assert event.labelled[Measure.BATTERY_PACK_HEALTH] == {(("battery", "1"),): 0.99}
    assert event.labelled[Measure.BATTERY_PACK_VOLTAGE][(("battery", "2"),)] == 51.0
    assert event.labelled[Measure.BATTERY_PACK_TEMPERATURE][(("battery", "2"),)] == 25.5
    assert event.labelled[Measure.BATTERY_PACK_CYCLES][(("battery", "1"),)] == 41.0
    text = exposed("ocean", event)
    assert 'power_grid_power_watts{device="ocean"} -4' in text


_PHASES = {  # published reply: volts, amperes, active W, reactive var, apparent VA
    12: (241.8525, 1.7866042, -410.43326, 135.09384, 432.09467),
    13: (244.19281, 1.7850913, -412.5142, 140.87755, 435.90646),
    14: (239.74968, 1.8013728, -407.78058, 142.24654, 431.87854),
}


def _heartbeat() -> bytes:
    phases = b"".join(
        _field(number, b"".join(_float(index, value) for index, value in enumerate(values, 1)))
        for number, values in _PHASES.items()
    )
    strings = _field(1, _float(1, 421.5) + _float(2, 2.0625) + _float(3, 870.25)) + _field(
        1, _float(1, 216.875) + _float(2, 2.9375) + _float(3, 635.5)
    )
    return _float(11, 50.03125) + phases + _field(31, strings) + _float(59, -1210.5)


def test_powerocean_heartbeat() -> None:
    """96/1: each phase's volts as the grid's (L1..L3), AC frequency; phase power raw."""
    assert (96, 1) in commands_for(OCEAN_SN)
    device = app_device("ocean", OCEAN_SN, "powerocean")
    payload = envelope(
        header(_energy_stream(), (96, 33), seq=0x30, enc_type=1),
        header(_heartbeat(), (96, 1), seq=0x31, enc_type=1),
    )
    (event,) = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["pcsAPhase.actPwr"] == -410.43326
    assert event.raw["pcsCPhase.apparentPwr"] == 431.87854
    assert event.raw["mpptHeartBeat[0].mpptPv[1].pwr"] == 635.5
    assert event.raw["emsBpPower"] == -1210.5
    assert event.measures[Measure.INPUT_FREQUENCY] == 50.03125
    assert event.labelled[Measure.INPUT_PHASE_VOLTAGE] == {
        (("phase", "L1"),): 241.8525,
        (("phase", "L2"),): 244.19281,
        (("phase", "L3"),): 239.74968,
    }
    # the phases' power and current: meaning not established, raw only
    phase_measures = {Measure.INPUT_PHASE_POWER, Measure.OUTPUT_PHASE_POWER}
    assert not phase_measures & set(event.labelled)
    assert Measure.INPUT_PHASE_CURRENT not in event.labelled
    text = exposed("ocean", event)
    assert 'power_input_phase_voltage_volts{device="ocean",phase="L2"} 244.19281' in text


def test_dc_fit_energy_stream() -> None:
    """The DC Fit's own 96/33: charge, PV and house load; its grid and battery power raw."""
    device = app_device("fit", FIT_SN, "powerocean")
    floats = ((1, -812.5), (2, 1390.0), (3, -402.25), (4, 1530.75), (8, 720.5))
    body = b"".join(_float(number, value) for number, value in floats) + _field(7, 58)
    payload = envelope(header(body, (96, 33), seq=0x51, enc_type=1, src=96))
    (event,) = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["96_33.gridPwr"] == -812.5
    assert event.raw["96_33.bpPwr"] == -402.25
    assert event.raw["96_33.dcdcPwr"] == 1390.0
    assert event.measures == {
        Measure.BATTERY_CHARGE: pytest.approx(0.58),
        Measure.SOLAR_INPUT_POWER: 1530.75,
        Measure.OUTPUT_POWER: 720.5,
    }
    assert not event.flags & {Flag.CHARGING, Flag.DISCHARGING}
    text = exposed("fit", event)
    assert 'power_solar_input_power_watts{device="fit"} 1530.75' in text
    # the PowerOcean's layout under the DC Fit's number is not read as the PowerOcean's
    (other,) = device.on_payload(
        envelope(header(_energy_stream(), (96, 33), seq=0x52)), reply=False, now=2.0
    )
    assert isinstance(other, Reading)
    assert "sysLoadPwr" not in other.raw


def test_smart_meter_display() -> None:
    """The site's grid power and each phase's volts and watts, phase-labelled."""
    assert set(commands_for(METER_SN)) == {(254, 21), (254, 22)}
    device = app_device("meter", METER_SN, "smart_meter")
    floats = (
        (515, 812.5),
        (956, 231.5),
        (957, 229.75),
        (771, 232.0),
        (962, 402.25),
        (963, 120.0),
        (772, 290.25),
    )
    body = b"".join(_float(number, value) for number, value in floats)
    runtime = _field(293, 120000)
    payload = envelope(header(body, (254, 21), seq=7), header(runtime, (254, 22), seq=8))
    (event,) = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw["displayPropertyFullUploadPeriod"] == 120000.0
    assert event.measures == {Measure.GRID_POWER: 812.5}
    assert event.labelled[Measure.INPUT_PHASE_VOLTAGE] == {
        (("phase", "L1"),): 231.5,
        (("phase", "L2"),): 229.75,
        (("phase", "L3"),): 232.0,
    }
    assert event.labelled[Measure.INPUT_PHASE_POWER] == {
        (("phase", "L1"),): 402.25,
        (("phase", "L2"),): 120.0,
        (("phase", "L3"),): 290.25,
    }
    text = exposed("meter", event)
    assert 'power_input_phase_power_watts{device="meter",phase="L3"} 290.25' in text


@pytest.mark.parametrize("prefix", sorted(ENERGY_SYSTEM_COMMANDS))
def test_hostile_pdata_is_a_fault(prefix: str) -> None:
    """Truncated, mistyped or nested-too-deep pdata under each new schema: faults, no crash."""
    serial = prefix + "ZEB4XXXX0009"
    device = app_device("hostile", serial, "powerocean")
    hostile = (b"\xff\xff\xff", b"\x0a\x7f\x01", b"\x0a\x02" * 200, b"\x12")
    for cmd in ENERGY_SYSTEM_COMMANDS[prefix]:
        for pdata in hostile:
            events = device.on_payload(envelope(header(pdata, cmd)), reply=False, now=1.0)
            faults = [e for e in events if isinstance(e, DeviceFault)]
            assert faults, (prefix, cmd, pdata[:4])
            assert {f.error.reason for f in faults} == {"decode"}
