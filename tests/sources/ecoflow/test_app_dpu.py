"""DELTA Pro Ultra on the app API, its heartbeats built byte by byte from the published fields.

From foxthefox's and rabits/ha-ef-ble's DELTA Pro Ultra schemas (facts: numbers, wire types,
units): 2/1 {21 charge %, 22 packs, 26 remaining minutes (varints); 41/42 total in/out W,
57/58 low-/high-voltage PV W (floats)}; 2/2 {91/92 the AC input's volts/amperes, 97 a
temperature (floats)}; 2/4 {1 repeated pack {1 its number (1 = the first), 3 charge %,
4 power W (float), 11 temperature degC}}. A published BLE log of the same message reads
soc 41, bp_num 3, remain_time 14939 (no discharge under way: not a time).
"""

from __future__ import annotations

import pytest

from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.protobuf_families import commands_for
from power_exporter.store import Store
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.sources.ecoflow.test_energy import _field, _float
from tests.sources.ecoflow.test_exposition import promtool_check, render

DPU_SN = "Y711ZEB4XXXX0005"
SHOW = "hs_yj751_pd_appshow_addr."


def _show(remain: int) -> bytes:
    varints = _field(21, 41) + _field(22, 3) + _field(26, remain)
    floats = ((41, 1250.5), (42, 730.0), (57, 300.0), (58, 950.5))
    return varints + b"".join(_float(number, value) for number, value in floats)


def _device() -> AppDevice:
    return AppDevice(
        "dpu",
        DPU_SN,
        DeviceIdentity(name="dpu", source="ecoflow"),
        "delta_pro_ultra",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )


def test_heartbeats() -> None:
    """Charge, in/out, PV (both trackers summed), AC input volts; 14939 min is no runtime."""
    assert set(commands_for(DPU_SN)) == {(2, 1), (2, 2), (2, 4)}
    device = _device()
    backend = _float(91, 240.5) + _float(92, 5.25) + _float(97, 31.5)
    payload = envelope(
        header(_show(14939), (2, 1), seq=0x3C, enc_type=1),
        header(backend, (2, 2), seq=0x3D, enc_type=1),
    )
    (event,) = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.raw[SHOW + "bpNum"] == 3.0
    assert event.raw["hs_yj751_pd_backend_addr.inAcC20Amp"] == 5.25
    assert event.measures == {
        Measure.BATTERY_CHARGE: pytest.approx(0.41),
        Measure.INPUT_POWER: 1250.5,
        Measure.OUTPUT_POWER: 730.0,
        Measure.SOLAR_INPUT_POWER: 1250.5,
        Measure.INPUT_VOLTAGE: 240.5,
    }
    # a discharge under way: the remaining time is one
    (later,) = device.on_payload(envelope(header(_show(312), (2, 1))), reply=False, now=2.0)
    assert isinstance(later, Reading)
    assert later.measures[Measure.BATTERY_RUNTIME] == 312 * 60.0
    store = Store()
    store.register("dpu", source="ecoflow", unit="dpu", interval=15)
    store.update(later, unit="dpu", interval=15)
    text = render(store)
    promtool_check(text)
    assert 'power_battery_runtime_seconds{device="dpu"} 18720' in text


def _pack(soc: int, power: float, temp: int, number: int | None) -> bytes:
    numbered = _field(1, number) if number is not None else b""
    return numbered + _field(3, soc) + _float(4, power) + _field(11, temp)


def test_battery_packs() -> None:
    """2/4: each pack under its own number, as the developer API's battery="N" series."""
    device = _device()
    packs = (
        _field(1, _pack(82, -310.5, 27, 1))
        + _field(1, _pack(79, -295.0, 29, 2))
        + _field(1, _pack(50, 0.0, 30, None))  # no number: raw under its place only
    )
    payload = envelope(header(_show(312), (2, 1), seq=0x40), header(packs, (2, 4), seq=0x41))
    (event,) = device.on_payload(payload, reply=False, now=1.0)
    assert isinstance(event, Reading)
    slave = "hs_yj751_bms_slave_addr."
    assert event.raw[slave + "2.bpPwr"] == -295.0
    assert event.raw[slave + "1.bpNo"] == 1.0
    assert event.raw["bpInfo[2].soc"] == 50.0
    assert event.labelled[Measure.BATTERY_PACK_CHARGE] == {
        (("battery", "1"),): pytest.approx(0.82),
        (("battery", "2"),): pytest.approx(0.79),
    }
    assert event.labelled[Measure.BATTERY_PACK_TEMPERATURE] == {
        (("battery", "1"),): 27.0,
        (("battery", "2"),): 29.0,
    }
    assert event.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.41)
    store = Store()
    store.register("dpu", source="ecoflow", unit="dpu", interval=15)
    store.update(event, unit="dpu", interval=15)
    text = render(store)
    promtool_check(text)
    assert 'power_battery_pack_temperature_celsius{device="dpu",battery="2"} 29' in text
