"""Device error and warning codes: real dumps (every code 0), and codes built from the notes.

The protobuf payloads are built byte by byte from the field notes: 254/21 display field 1
``errcode``, 140 ``bms_err_code``, 213 ``pd_err_code``, 450 ``inv_err_code``; 32/50 BMS heartbeat
field 1 ``num`` and 4 ``err_code``; PowerStream 20/1 fields 1-10 (tests/fixtures/ecoflow
PROVENANCE.md, "Error codes").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.ecoflow import codes
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.flatten import flatten
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.store import Store
from tests.sources.ecoflow import data
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.sources.ecoflow.conftest import config
from tests.sources.ecoflow.test_energy import _field
from tests.sources.ecoflow.test_exposition import (
    promtool_check,
    render,
    run,
    samples,
    wait_for,
)

if TYPE_CHECKING:
    from power_exporter.model import Labels
    from tests.sources.ecoflow.fake_cloud import FakeCloud

ERROR = Measure.DEVICE_ERROR_CODE
WARNING = Measure.DEVICE_WARNING_CODE
DELTA3 = "P231ZEB4ZE000002"
PS = "HW51ZEH4SF5R3047"


def _component(name: str) -> Labels:
    return (("component", name),)


def _pack(number: str) -> Labels:
    return (("component", "battery"), ("battery", number))


def _raw(quota: dict[str, object]) -> dict[str, float]:
    return dict(flatten(quota).numbers)


class TestRealDumps:
    def test_delta2max_components_and_packs(self) -> None:
        """DELTA 2 Max (real dump): pd, inverter, mppt and its three packs, all 0."""
        found = codes.labelled(_raw(data.delta2max()))
        assert found == {
            ERROR: {
                _component("pd"): 0.0,
                _component("inverter"): 0.0,
                _component("mppt"): 0.0,
                _pack("0"): 0.0,
                _pack("1"): 0.0,
                _pack("2"): 0.0,
            }
        }

    def test_delta_pro_master_pack(self) -> None:
        """DELTA Pro (real dump): bmsMaster's code is pack 0's."""
        found = codes.labelled(_raw(data.delta_pro()))
        assert found[ERROR] == {
            _component("pd"): 0.0,
            _component("inverter"): 0.0,
            _component("mppt"): 0.0,
            _pack("0"): 0.0,
        }

    def test_river_mini(self) -> None:
        """RIVER mini (real pushes): its inverter's code and its battery's (under inv.*)."""
        found = codes.labelled(_raw(data.river_mini()))
        assert found[ERROR] == {
            _component("pd"): 0.0,
            _component("inverter"): 0.0,
            _pack("0"): 0.0,
        }

    def test_powerstream_errors_and_warnings(self) -> None:
        """PowerStream (real dump): six components, each an error and a warning code."""
        found = codes.labelled(_raw(data.powerstream()))
        parts = ("inverter", "pv1", "pv2", "battery_port", "llc", "wireless")
        assert found == {
            ERROR: {_component(part): 0.0 for part in parts},
            WARNING: {_component(part): 0.0 for part in parts},
        }


class TestBuilt:
    def test_unknown_codes_kept_as_they_are(self) -> None:
        """A code of 65535 or 4294967295 is the device's number, not an "unknown" sentinel."""
        reading = Reading(
            DeviceIdentity(name="d", source="ecoflow"),
            0.0,
            labelled=codes.labelled({"pd.errCode": 65535.0, "inv.errCode": 4294967295.0}),
        )
        assert reading.labelled[ERROR] == {
            _component("pd"): 65535.0,
            _component("inverter"): 4294967295.0,
        }

    def test_negative_code_is_dropped_and_counted(self) -> None:
        """A negative code (a signed field gone wrong) stays raw, out of power_*, counted."""
        reading = Reading(
            DeviceIdentity(name="d", source="ecoflow"),
            0.0,
            labelled=codes.labelled({"2_1.errCode": -3.0, "2_1.warnCode": 0.0}),
        )
        assert ERROR not in reading.labelled
        assert reading.labelled[WARNING] == {_component("system"): 0.0}
        assert reading.dropped == {ERROR: "out_of_range"}

    def test_developer_api_names(self) -> None:
        """DELTA Pro 3 on the developer API: the display's names in camelCase."""
        raw = {"errcode": 0.0, "invErrCode": 12.0, "llcInvErrCode": 0.0, "bmsErrCode": 0.0}
        assert codes.labelled(raw)[ERROR] == {
            _component("system"): 0.0,
            _component("inverter"): 12.0,
            _component("llc_inverter"): 0.0,
            _component("bms"): 0.0,
        }

    def test_pack_count_is_bounded(self) -> None:
        """A payload naming hundreds of packs keeps the codes of at most 16 of them."""
        raw = {f"bms_heartbeat[{n}].err_code": 1.0 for n in range(100)}
        assert len(codes.labelled(raw)[ERROR]) == 16

    def test_undecided_fields_stay_raw(self) -> None:
        """allErrCode, BMS fault bits and the like have no settled meaning: raw only."""
        raw = {
            "bms_bmsStatus.allErrCode": 3.0,
            "bms_heartbeat[0].all_err_code": 3.0,
            "bms_heartbeat[0].bms_fault": 1.0,
            "bmsMaster.bmsFault": 1.0,
        }
        assert codes.labelled(raw) == {}


def _delta3_payload(inverter: int, pack_code: int) -> bytes:
    display = _field(1, 0) + _field(140, 0) + _field(213, 0) + _field(450, inverter)
    main = _field(1, 0) + _field(4, 0) + _field(6, 80)
    extra = _field(1, 1) + _field(4, pack_code) + _field(6, 60)
    return envelope(
        header(display, (254, 21), src=2, seq=0x21, enc_type=1),
        header(main, (32, 50), src=7, seq=3, enc_type=1),
        header(extra, (32, 50), src=7, seq=4, enc_type=1),
    )


def test_delta3_app_api_exposition() -> None:
    """DELTA 3 on the app API: the display's codes and each pack's, on the page, promtool-clean."""
    device = AppDevice(
        "cabin",
        DELTA3,
        DeviceIdentity(name="cabin", source="ecoflow"),
        "protobuf_json",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    *_, event = device.on_payload(_delta3_payload(37, 9), reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.labelled[ERROR] == {
        _component("system"): 0.0,
        _component("bms"): 0.0,
        _component("pd"): 0.0,
        _component("inverter"): 37.0,
        _pack("0"): 0.0,
        _pack("1"): 9.0,
    }
    store = Store()
    store.register("cabin", source="ecoflow", unit="cabin", interval=15)
    store.update(event, unit="cabin", interval=15)
    text = render(store)
    promtool_check(text)
    found = samples(text)
    device_label = ("device", "cabin")
    key = tuple(sorted((device_label, ("component", "inverter"))))
    assert found[("power_device_error_code", key)] == 37.0
    key = tuple(sorted((device_label, ("component", "battery"), ("battery", "1"))))
    assert found[("power_device_error_code", key)] == 9.0
    assert "# TYPE power_device_error_code gauge" in text


def test_powerstream_heartbeat_codes() -> None:
    """PowerStream on the app API: 20/1 fields 1-10 become error and warning codes."""
    device = AppDevice(
        "balcony",
        PS,
        DeviceIdentity(name="balcony", source="ecoflow"),
        "powerstream",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    numbers = range(1, 11)  # inv err, pv1 err, inv warn, pv1 warn, pv2 err ... llc warn
    body = b"".join(_field(number, 100 + number) for number in numbers)
    *_, event = device.on_payload(envelope(header(body, (20, 1))), reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.labelled[ERROR] == {
        _component("inverter"): 101.0,
        _component("pv1"): 102.0,
        _component("pv2"): 105.0,
        _component("battery_port"): 107.0,
        _component("llc"): 109.0,
    }
    assert event.labelled[WARNING] == {
        _component("inverter"): 103.0,
        _component("pv1"): 104.0,
        _component("pv2"): 106.0,
        _component("battery_port"): 108.0,
        _component("llc"): 110.0,
    }


@pytest.mark.parametrize(("code", "expected"), [(0, 0.0), (30, 30.0)])
async def test_delta2_through_the_rest_api(cloud: FakeCloud, code: int, expected: float) -> None:
    """DELTA 2 (real dump) on the developer REST API; its inverter code as the device gave it."""
    quota = {**data.delta2(), "inv.errCode": code}
    cloud.add("R331ZEB4ZEAL0001", quota)
    store = Store()
    runtime = await run(
        [config(cloud, name="d2", serial="R331ZEB4ZEAL0001", interval="100ms")], store
    )
    try:
        await wait_for(lambda: (state := store.get("d2")) is not None and state.up)
        text = render(store)
    finally:
        await runtime.stop()
    promtool_check(text)
    found = samples(text)
    device_label = ("device", "d2")
    assert found[("power_device_error_code", (("component", "inverter"), device_label))] == expected
    assert found[("power_device_error_code", (("component", "pd"), device_label))] == 0.0
    key = (("battery", "0"), ("component", "battery"), device_label)
    assert found[("power_device_error_code", key)] == 0.0
    raw = [value for (name, _), value in found.items() if name.startswith("ecoflow_inv_err")]
    assert raw == [expected]  # the raw series keeps what the device said
