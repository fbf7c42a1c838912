"""Protobuf families: schema by SN, the normalized table, and the proto3 zero rule."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from power_exporter.model import DeviceFault, DeviceIdentity, Flag, Measure, Reading
from power_exporter.sources.ecoflow import envelope
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.envelope import BMS_REPORTS, COMMANDS, ProtoPayload
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.proto import powerstream_pb2, property_pb2
from power_exporter.sources.ecoflow.protobuf_families import (
    FieldCache,
    Schema,
    commands_for,
    normalize,
    schema_of,
)
from tests.sources.ecoflow import data
from tests.sources.ecoflow.app_payloads import RIVER3_SN, header, river3_reply
from tests.sources.ecoflow.app_payloads import envelope as build_envelope


def raw_of(payload: bytes, serial: str = RIVER3_SN) -> dict[str, float]:
    decoded = envelope.decode(payload, commands_for(serial))
    assert isinstance(decoded, ProtoPayload)
    cache = FieldCache()
    cache.merge_sections(decoded.sections, 0.0, full=True)
    return cache.values()


class TestSchema:
    @pytest.mark.parametrize(
        ("serial", "schema"),
        [
            ("R651PC0CXGCA0798", Schema.POWER_STATION),  # RIVER 3 (the capture)
            ("P231ZEB4XXXXXXXX", Schema.POWER_STATION),  # DELTA 3
            ("MR51ZAS5XXXXXXXX", Schema.POWER_STATION),  # DELTA Pro 3
            ("d3e1xxxxxxxxxxxx", Schema.POWER_STATION),  # case does not matter
            ("HW51ZEH4SF5R3047", Schema.POWERSTREAM),
            ("BK11ZEB4XXXXXXXX", Schema.FOREIGN),  # STREAM Ultra
            ("HR63ZAXXXXXXXXXX", Schema.FOREIGN),  # Smart Home Panel 3
            ("P521ZE1B3H6J0717", Schema.UNKNOWN),  # RAPID Pro: no fact, seed's tables
        ],
    )
    def test_schema_by_prefix(self, serial: str, schema: Schema) -> None:
        """The SN prefix decides which inner messages are decoded."""
        assert schema_of(serial) is schema

    def test_commands_per_schema(self) -> None:
        """Power stations: the reports and packs; PowerStream: 20/1, 20/4, 254/32; foreign: none."""
        station = {(254, 21), (254, 22), (254, 23), (32, 2), (32, 50), *BMS_REPORTS}
        assert set(commands_for("R651X")) == station
        assert set(commands_for("HW51X")) == {(20, 1), (20, 4), (254, 32)}
        assert commands_for("BK01X") == {}  # STREAM Microinverter: a foreign schema we lack
        assert set(commands_for("P521X")) == set(commands_for("R651X"))


class TestNormalized:
    def test_river3_capture(self) -> None:
        """The real RIVER 3 reply to measures in base units."""
        result = normalize(RIVER3_SN, raw_of(river3_reply()))
        assert result is not None
        assert result.measures == {
            Measure.BATTERY_CHARGE: pytest.approx(0.19),
            Measure.BATTERY_HEALTH: 1.0,
            Measure.BATTERY_RUNTIME: 986 * 60.0,
            Measure.BATTERY_TEMPERATURE: 30.0,  # max cell temperature: no cms_batt_temp sent
            Measure.BATTERY_VOLTAGE: pytest.approx(19.31),  # sent in mV by a RIVER 3
            Measure.INPUT_POWER: 50.0,
            Measure.OUTPUT_POWER: 50.0,
            Measure.SOLAR_INPUT_POWER: 0.0,
            # no AC-in volts, hertz or amperes: 0 on the wire while pow_get_ac_in is 50.7 W
            Measure.OUTPUT_VOLTAGE: 123.51778,
            Measure.OUTPUT_FREQUENCY: 60.0,
            Measure.OUTPUT_CURRENT: 0.0,
            Measure.NOMINAL_POWER: 300.0,
        }
        assert result.known_flags == {Flag.CHARGING, Flag.DISCHARGING, Flag.ON_BATTERY}
        assert result.flags == frozenset()  # cms_chg_dsg_state 0: idle, on AC (pass-through)
        assert result.problems == ()

    def test_delta3_volts_and_solar_parts(self) -> None:
        """DELTA 3 volts are volts; solar is the sum of every PV input; discharging flag."""
        display = property_pb2.DisplayPropertyUpload(
            cms_batt_soc=64.5,
            pow_get_pv=120.0,
            pow_get_pv2=80.5,
            cms_chg_dsg_state=1,
            cms_dsg_rem_time=5939,  # "not applicable"
            bms_dsg_rem_time=300,
            cms_batt_temp=-3,
        )
        runtime = property_pb2.RuntimePropertyUpload(bms_batt_vol=53.246, bms_batt_amp=-0.039)
        payload = build_envelope(header(display, (254, 21)), header(runtime, (254, 22)))
        result = normalize("P231ZEB4XXXXXXXX", raw_of(payload, "P231ZEB4XXXXXXXX"))
        assert result is not None
        assert result.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.645)
        assert result.measures[Measure.SOLAR_INPUT_POWER] == pytest.approx(200.5)
        assert result.measures[Measure.BATTERY_VOLTAGE] == pytest.approx(53.246)
        assert result.measures[Measure.BATTERY_RUNTIME] == 300 * 60.0  # the sentinel is skipped
        assert result.measures[Measure.BATTERY_TEMPERATURE] == -3.0
        assert result.flags == {Flag.DISCHARGING}

    def test_delta3_on_battery_and_time_to_full(self) -> None:
        """No AC input while discharging: on_battery; a time to full only while charging."""
        unplugged = {"cms_batt_soc": 60.0, "pow_get_ac_in": 0.0, "cms_chg_dsg_state": 1.0}
        result = normalize("P231X", {**unplugged, "cms_chg_rem_time": 45.0})
        assert result is not None
        assert result.flags == {Flag.DISCHARGING, Flag.ON_BATTERY}
        assert Measure.BATTERY_TIME_TO_FULL not in result.measures
        charging = {**unplugged, "pow_get_ac_in": 198.4, "cms_chg_dsg_state": 2.0}
        result = normalize("P231X", {**charging, "cms_chg_rem_time": 45.0, "bms_chg_rem_time": 50})
        assert result is not None
        assert result.flags == {Flag.CHARGING}
        assert Flag.ON_BATTERY in result.known_flags
        assert result.measures[Measure.BATTERY_TIME_TO_FULL] == 45 * 60.0

    def test_zero_ac_input_without_input_power_is_kept(self) -> None:
        """Unplugged (pow_get_ac_in 0), an AC-in voltage of 0 is the truth and stays."""
        result = normalize("P231X", {"pow_get_ac_in": 0.0, "plug_in_info_ac_in_vol": 0.0})
        assert result is not None
        assert result.measures[Measure.INPUT_VOLTAGE] == 0.0

    def test_out_of_range_soc_is_dropped_with_a_reason(self) -> None:
        """A state of charge above 100 % is not a measure; the reason is returned."""
        result = normalize("R651X", {"cms_batt_soc": 250.0, "pow_in_sum_w": 1.0})
        assert result is not None
        reading = Reading(DeviceIdentity("d", "ecoflow"), 0.0, measures=result.measures)
        assert Measure.BATTERY_CHARGE not in reading.measures  # the Reading drops and counts it
        assert reading.dropped == {Measure.BATTERY_CHARGE: "out_of_range"}
        assert result.measures[Measure.INPUT_POWER] == 1.0
        assert len(result.problems) == 1
        assert "battery_charge" in result.problems[0]

    def test_foreign_schema_has_no_measures(self) -> None:
        """Keys that look familiar but come from a foreign schema are not normalized here."""
        assert normalize("BK11X", {"cms_batt_soc": 50.0}) is None
        assert normalize("HW51X", {"20_1.batSoc": 50.0}) is None  # the developer-API table


class TestCacheRule:
    def test_the_capture_sends_zeros_explicitly(self) -> None:
        """The RIVER 3 reply carries zeros on the wire, so absence is not how zero is said."""
        decoded = envelope.decode(river3_reply(), commands_for(RIVER3_SN))
        assert isinstance(decoded, ProtoPayload)
        zeros = {s.kind: sum(v == 0 for v in s.values.values()) for s in decoded.sections}
        assert zeros["display"] >= 30
        assert zeros["runtime"] >= 20

    def test_partial_updates_merge(self) -> None:
        """An increment with only changed fields keeps the others."""
        cache = FieldCache()
        cache.merge("display", {"pow_in_sum_w": 50.0, "cms_batt_soc": 19.0}, {}, 0.0)
        cache.merge("display", {"pow_in_sum_w": 60.0}, {}, 2.0)
        assert cache.values() == {"pow_in_sum_w": 60.0, "cms_batt_soc": 19.0}

    def test_explicit_zero_on_the_wire_sets_zero(self) -> None:
        """A zero the device did send (explicit presence) replaces the old value at once."""
        cache = FieldCache()
        cache.merge("display", {"pow_get_pv": 120.0}, {}, 0.0)
        display = property_pb2.DisplayPropertyUpload(pow_get_pv=0.0)
        decoded = envelope.decode(build_envelope(header(display, (254, 21))))
        assert isinstance(decoded, ProtoPayload)
        cache.merge_sections(decoded.sections, 1.0, full=False)
        assert cache.values() == {"pow_get_pv": 0.0}

    def test_full_snapshot_drops_absent_keys_of_its_scope_only(self) -> None:
        """A get_reply lacking a display key: the device no longer reports it (no zero made up)."""
        cache = FieldCache()
        cache.merge("display", {"pow_get_pv": 120.0, "cms_batt_soc": 50.0}, {"sn": "x"}, 0.0)
        cache.merge("runtime", {"temp_pv": 40.0}, {}, 0.0)
        cache.merge("display", {"cms_batt_soc": 51.0}, {}, 5.0, full=True)
        assert cache.values() == {"cms_batt_soc": 51.0, "temp_pv": 40.0}
        assert cache.texts() == {}

    def test_unchanged_field_keeps_its_value(self) -> None:
        """A value not re-sent while its message keeps coming did not change: it stays."""
        cache = FieldCache()
        cache.merge("display", {"pow_get_pv": 120.0, "pow_in_sum_w": 10.0}, {}, 0.0)
        for now in range(2, 3000, 2):  # increments carry only pow_in_sum_w
            cache.merge("display", {"pow_in_sum_w": 10.0 + now}, {}, float(now))
            cache.expire(float(now))
        assert cache.values()["pow_get_pv"] == 120.0

    def test_scope_kept_until_the_offline_limit(self) -> None:
        """A message that stopped coming keeps its values for 900 s (not 600), then goes."""
        cache = FieldCache()
        cache.merge("bms_heartbeat[1]", {"bms_heartbeat[1].soc": 80.0}, {"b": "SN"}, 0.0)
        cache.merge("display", {"cms_batt_soc": 70.0}, {}, 0.0)
        cache.merge("display", {"cms_batt_soc": 71.0}, {}, 899.0)
        cache.expire(899.0)
        assert cache.values() == {"bms_heartbeat[1].soc": 80.0, "cms_batt_soc": 71.0}
        cache.merge("display", {"cms_batt_soc": 72.0}, {}, 901.0)
        cache.expire(901.0)
        assert cache.values() == {"cms_batt_soc": 72.0}
        assert cache.texts() == {}
        assert len(cache) == 1

    def test_non_finite_values_are_not_cached(self) -> None:
        """The cache keeps only finite numbers (a Reading refuses others)."""
        cache = FieldCache()
        cache.merge("display", {"a": float("nan"), "b": 1.0}, {}, 0.0)
        assert cache.values() == {"b": 1.0}


class TestDevicePayloads:
    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.binary(max_size=600),
                st.sampled_from(
                    [river3_reply(), river3_reply()[:300], b'{"params": {"pd.soc": 5}}']
                ),
                st.recursive(
                    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
                    lambda inner: (
                        st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
                    ),
                    max_leaves=20,
                ).map(lambda doc: json.dumps({"params": doc, "data": doc}).encode()),
            ),
            min_size=1,
            max_size=8,
        ),
        st.booleans(),
    )
    def test_any_payload_sequence(self, payloads: list[bytes], reply: bool) -> None:
        """Whatever arrives, a device yields only Readings and DeviceFaults, never raises."""
        device = AppDevice(
            "garage",
            RIVER3_SN,
            DeviceIdentity(name="garage", source="ecoflow"),
            None,
            OnlineModel(started=0.0),
            keep_for=900.0,
        )
        for now, payload in enumerate(payloads):
            for event in device.on_payload(payload, reply=reply, now=float(now)):
                assert isinstance(event, Reading | DeviceFault)
            device.tick(float(now))
        assert device.counts["messages"] == len(payloads)

    def test_powerstream_keys_are_the_developer_apis(self) -> None:
        """One raw key per field across both APIs (batErrCode, not batErrorCode)."""
        names = {f.json_name for f in powerstream_pb2.InverterHeartbeat.DESCRIPTOR.fields}
        developer = {key.removeprefix("20_1.") for key in data.powerstream()}
        assert names - developer == {"invDcCur"}  # the one field the capture lacks
        beat = powerstream_pb2.InverterHeartbeat(bat_error_code=3, pv2_error_code=0)
        decoded = envelope.decode(build_envelope(header(beat, (20, 1), src=20)), COMMANDS)
        assert isinstance(decoded, ProtoPayload)
        assert decoded.sections[0].values == {"20_1.batErrCode": 3.0, "20_1.pv2ErrCode": 0.0}

    def test_powerstream_uses_the_developer_api_table(self) -> None:
        """A PowerStream heartbeat over the app API meets the developer API's family table."""
        beat = powerstream_pb2.InverterHeartbeat(
            pv1_input_watts=330, pv2_input_watts=125, inv_output_watts=421, bat_soc=54, bp_type=2
        )
        device = AppDevice(
            "balcony",
            "HW51ZEH4SF5R3047",
            DeviceIdentity(name="balcony", source="ecoflow"),
            "powerstream",
            OnlineModel(started=0.0),
            keep_for=900.0,
        )
        payload = build_envelope(header(beat, (20, 1), src=20, seq=77, enc_type=1))
        (event,) = device.on_payload(payload, reply=False, now=1.0)
        assert isinstance(event, Reading)
        assert event.raw["20_1.pv1InputWatts"] == 330.0
        assert event.measures[Measure.SOLAR_INPUT_POWER] == pytest.approx(45.5)
        assert event.measures[Measure.OUTPUT_POWER] == pytest.approx(42.1)
        assert event.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.54)
