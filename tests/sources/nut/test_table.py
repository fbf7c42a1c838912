"""The NUT tables and rules: numbers, precedences, derivation, flags, identity, raw names."""

from __future__ import annotations

import logging

import pytest

from power_exporter.errors import StaleError
from power_exporter.model import DeviceIdentity, Flag, Measure
from power_exporter.sources.nut.naming import (
    DEVICE_INFO_FAMILY,
    NUT_NAMING,
    STATUS_FAMILY,
    metric_name,
)
from power_exporter.sources.nut.reading import nut_reading
from power_exporter.sources.nut.table import (
    DERIVED_OUTPUT_POWER,
    KNOWN_FLAGS,
    NUT_FLAGS,
    ProblemLog,
    identity_of,
    numeric_value,
)


class TestNumbers:
    """What counts as a number."""

    @pytest.mark.parametrize(
        ("name", "value", "number"),
        [
            ("battery.voltage", "054.5", 54.5),
            ("ups.timer.shutdown", "-1", -1.0),
            ("battery.charge", " 100 ", 100.0),
            ("ups.load", "3.60", 3.6),
            ("battery.runtime", "133200.00", 133200.0),
            ("ups.power", ".5", 0.5),
            ("outlet.1.id", "1", 1.0),
            ("driver.parameter.pollinterval", "2", 2.0),
        ],
    )
    def test_numeric(self, name: str, value: str, number: float) -> None:
        """Plain decimals are numbers, leading zeros and signs included."""
        assert numeric_value(name, value) == number

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("ups.vendorid", "0463"),
            ("ups.productid", "2012"),
            ("driver.parameter.vendorid", "0665"),
            ("ups.serial", "000000000000"),
            ("device.serial", "1"),
            ("ups.firmware", "00"),
            ("driver.version.internal", "0.15"),
            ("device.part", "12"),
            ("ups.load", "1e3"),
            ("ups.load", "0x10"),
            ("ups.load", "inf"),
            ("ups.load", "nan"),
            ("driver.version", "2.8.0"),
            ("battery.date", "05/03/20"),
            ("ups.beeper.status", "enabled"),
            ("ups.load", ""),
        ],
    )
    def test_text(self, name: str, value: str) -> None:
        """Identifiers, versions, exponents, hex, inf/nan and words stay text."""
        assert numeric_value(name, value) is None


class TestMeasures:
    """NUT_VARS with its precedences and the derived output power."""

    def test_scales(self) -> None:
        """Percent becomes a ratio, the rest is in base units already."""
        reading, problems = nut_reading(
            "u", "nut", {"battery.charge": "87", "ups.load": "12.5", "battery.runtime": "600"}, 0.0
        )
        assert problems == []
        assert reading.measures == {
            Measure.BATTERY_CHARGE: pytest.approx(0.87),
            Measure.LOAD: pytest.approx(0.125),
            Measure.BATTERY_RUNTIME: 600.0,
        }

    def test_output_realpower_before_ups_realpower(self) -> None:
        """output.realpower wins over ups.realpower, output.power over ups.power."""
        variables = {
            "output.realpower": "100",
            "ups.realpower": "90",
            "output.power": "120",
            "ups.power": "110",
        }
        reading, _ = nut_reading("u", "nut", variables, 0.0)
        assert reading.measures[Measure.OUTPUT_POWER] == 100.0
        assert reading.measures[Measure.OUTPUT_APPARENT_POWER] == 120.0
        reading, _ = nut_reading("u", "nut", {"ups.realpower": "90", "ups.power": "110"}, 0.0)
        assert reading.measures[Measure.OUTPUT_POWER] == 90.0
        assert reading.measures[Measure.OUTPUT_APPARENT_POWER] == 110.0

    def test_derived_output_power_only_without_real_power(self) -> None:
        """Load x nominal gives the output power when no real power is reported, never over it."""
        derived, _ = nut_reading(
            "u", "nut", {"ups.load": "25", "ups.realpower.nominal": "900"}, 0.0
        )
        assert derived.measures[Measure.OUTPUT_POWER] == pytest.approx(225.0)
        assert DERIVED_OUTPUT_POWER.factors == ("ups.load", "ups.realpower.nominal")
        reported, _ = nut_reading(
            "u",
            "nut",
            {"ups.load": "25", "ups.realpower.nominal": "900", "ups.realpower": "200"},
            0.0,
        )
        assert reported.measures[Measure.OUTPUT_POWER] == 200.0
        only_load, _ = nut_reading("u", "nut", {"ups.load": "25"}, 0.0)
        assert Measure.OUTPUT_POWER not in only_load.measures

    def test_invalid_values_dropped_and_logged_once(self, caplog: pytest.LogCaptureFixture) -> None:
        """A charge over 100 % or a negative runtime is dropped; the log says so on change only."""
        variables = {"battery.charge": "150", "battery.runtime": "-1", "battery.voltage": "13.5"}
        reading, problems = nut_reading("u", "nut", variables, 0.0)
        assert set(reading.measures) == {Measure.BATTERY_VOLTAGE}
        assert len(problems) == 2
        assert reading.raw["battery.runtime"] == -1.0  # raw keeps what NUT said
        log = ProblemLog()
        caplog.set_level(logging.INFO)
        log.note("u", problems)
        log.note("u", problems)
        log.note("u", [])
        log.note("u", [])
        assert [r.getMessage().split(":")[1].strip() for r in caplog.records] == [
            "dropped invalid values",
            "values valid again",
        ]
        assert log.dropped == 4

    def test_wait_is_stale(self) -> None:
        """ups.status WAIT means no data yet: a StaleError, not a reading."""
        with pytest.raises(StaleError, match="WAIT"):
            nut_reading("u", "nut", {"ups.status": "WAIT", "battery.charge": "50"}, 0.0)


class TestFlags:
    """ups.status and battery.charger.status."""

    def test_status_tokens(self) -> None:
        """Known tokens set flags (FSD and SD: shutdown_imminent); unknown ones are raw only."""
        reading, _ = nut_reading("u", "nut", {"ups.status": "OL CHRG FSD CP SD"}, 0.0)
        assert reading.flags == {Flag.ONLINE, Flag.CHARGING, Flag.SHUTDOWN_IMMINENT}
        status = {
            dict(s.labels)["flag"]: s.value
            for s in NUT_NAMING.samples(reading)
            if s.family is STATUS_FAMILY
        }
        assert status["CP"] == 1.0
        assert status["OB"] == 0.0
        assert set(status) == {"CP"} | set(NUT_FLAGS)

    def test_charger_status(self) -> None:
        """battery.charger.status charging/discharging adds the flag."""
        reading, _ = nut_reading(
            "u", "nut", {"ups.status": "OL", "battery.charger.status": "charging"}, 0.0
        )
        assert reading.flags == {Flag.ONLINE, Flag.CHARGING}
        reading, _ = nut_reading(
            "u", "nut", {"ups.status": "OL", "battery.charger.status": "floating"}, 0.0
        )
        assert reading.flags == {Flag.ONLINE}

    @pytest.mark.parametrize("status", [None, "", "  "])
    def test_no_status_no_flags(self, status: str | None) -> None:
        """Without ups.status (an ePDU) no flag is known: no power_status, no raw status series."""
        variables = {"input.voltage": "230", "outlet.1.status": "on"}
        if status is not None:
            variables["ups.status"] = status
        reading, _ = nut_reading("pdu", "nut", variables, 0.0)
        assert reading.known_flags == frozenset()
        assert not [s for s in NUT_NAMING.samples(reading) if s.family is STATUS_FAMILY]
        charger, _ = nut_reading(
            "u", "nut", {**variables, "battery.charger.status": "charging"}, 0.0
        )
        assert charger.known_flags == {Flag.CHARGING, Flag.DISCHARGING}
        assert charger.flags == {Flag.CHARGING}

    def test_known_flags_are_all_nut_can_say(self) -> None:
        """Every flag NUT can set is known (rendered 1/0); the others are not."""
        assert set(Flag) - {Flag.FULLY_CHARGED, Flag.FULLY_DISCHARGED} == KNOWN_FLAGS


class TestIdentity:
    """Fallback chains and placeholder serials."""

    def test_device_before_ups(self) -> None:
        """device.* first, then ups.*, then the USB ids."""
        identity = identity_of(
            "u",
            "nut",
            {"device.mfr": "EATON", "ups.mfr": "x", "ups.model": "5E", "ups.vendorid": "0463"},
        )
        assert (identity.vendor, identity.model) == ("EATON", "5E")
        identity = identity_of("u", "nut", {"ups.vendorid": "0463", "ups.productid": "ffff"})
        assert (identity.vendor, identity.model) == ("0463", "ffff")

    @pytest.mark.parametrize(
        "placeholder", ["", "   ", "unknown", "Unknown", "blank", "000000000000", "0"]
    )
    def test_placeholder_serials(self, placeholder: str) -> None:
        """Blank, 'unknown' and all-zero serials are skipped for the next in the chain."""
        identity = identity_of(
            "u", "nut", {"device.serial": placeholder, "ups.serial": "AS1250244567 "}
        )
        assert identity.serial == "AS1250244567"
        assert identity_of("u", "nut", {"device.serial": placeholder}).serial == ""

    def test_firmware_and_labels(self) -> None:
        """Firmware is ups.firmware; device_info labels are the device.* values as given."""
        identity = identity_of(
            "u", "replay", {"ups.firmware": "00", "device.type": "pdu", "device.mfr": "EATON"}
        )
        assert identity.firmware == "00"
        assert identity.labels["type"] == "pdu"
        assert identity.labels["contact"] == ""


class TestRawNames:
    """DRuggeri's names, made promtool-clean."""

    @pytest.mark.parametrize(
        ("variable", "name"),
        [
            ("battery.charge", "network_ups_tools_battery_charge"),
            ("input.L1-N.voltage", "network_ups_tools_input_L1_N_voltage"),
            ("outlet.count", "network_ups_tools_outlet_count_value"),
            ("outlet.group.1.count", "network_ups_tools_outlet_group_1_count_value"),
            ("battery.current.total", "network_ups_tools_battery_current_total_value"),
            ("x.sum", "network_ups_tools_x_sum_value"),
            ("x.bucket", "network_ups_tools_x_bucket_value"),
            ("x.created", "network_ups_tools_x_created_value"),
            ("server.info", "network_ups_tools_server_info_value"),
            ("ups.powerFactor", "network_ups_tools_ups_powerfactor"),
            ("odd name+chars", "network_ups_tools_odd_name_chars"),
        ],
    )
    def test_metric_name(self, variable: str, name: str) -> None:
        """Dots, dashes become underscores; reserved suffixes get _value; camelCase is lowered."""
        assert metric_name(variable) == name

    def test_families_are_cached(self) -> None:
        """One family object per name, whatever the reading."""
        assert NUT_NAMING.family("ups.load") is NUT_NAMING.family("ups.load")

    def test_colliding_names_keep_one_series(self) -> None:
        """Two variables with one metric name give one series (the first in sorted order)."""
        reading, _ = nut_reading(
            "u", "nut", {"input.L1-N.voltage": "230", "input.L1.N.voltage": "231"}, 0.0
        )
        gauges = [s for s in NUT_NAMING.samples(reading) if s.family.name.endswith("voltage")]
        assert [(s.family.name, s.value) for s in gauges] == [
            ("network_ups_tools_input_L1_N_voltage", 230.0)
        ]

    def test_down_keeps_device_info_once_seen(self) -> None:
        """While down, only device_info stays, and only for a device seen before."""
        reading, _ = nut_reading("u", "nut", {"device.model": "5E", "ups.status": "OL"}, 0.0)
        (info,) = NUT_NAMING.down_samples(reading.identity)
        assert info.family is DEVICE_INFO_FAMILY
        assert dict(info.labels)["model"] == "5E"
        assert list(NUT_NAMING.down_samples(identity_of("u", "nut", {}))) != []
        assert list(NUT_NAMING.down_samples(DeviceIdentity(name="u", source="nut"))) == []


class TestStateSets:
    """Text variables with a closed set of values become state sets."""

    def test_beeper_and_unknown_value(self) -> None:
        """The value given is 1 (lower-cased), the other states 0; a stray value is added."""
        reading, _ = nut_reading(
            "u", "nut", {"ups.beeper.status": "Enabled", "ups.test.result": "NO"}, 0.0
        )
        samples = {
            (s.family.name, dict(s.labels)["state"]): s.value
            for s in NUT_NAMING.samples(reading)
            if s.labels and s.labels[0][0] == "state"
        }
        beeper = {
            k[1]: v for k, v in samples.items() if k[0] == "network_ups_tools_ups_beeper_status"
        }
        assert beeper == {"enabled": 1.0, "disabled": 0.0, "muted": 0.0}
        test = {k[1]: v for k, v in samples.items() if k[0] == "network_ups_tools_ups_test_result"}
        assert test["no"] == 1.0
        assert sum(test.values()) == 1.0

    def test_filtered_by_vars(self) -> None:
        """The vars filter applies to state sets as to the numeric raw series."""
        variables = {"ups.beeper.status": "enabled", "ups.load": "20"}
        reading, _ = nut_reading(
            "u", "nut", variables, 0.0, lambda name: name != "ups.beeper.status"
        )
        assert not [
            s for s in NUT_NAMING.samples(reading) if s.labels and s.labels[0][0] == "state"
        ]
