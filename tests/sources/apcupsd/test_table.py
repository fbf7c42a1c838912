"""The status table: measures in base units, flags, dates, old formats, and what is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from power_exporter.errors import StaleError
from power_exporter.model import Flag, Measure, Reading
from power_exporter.sources.apcupsd.naming import APCUPSD_NAMING
from power_exporter.sources.apcupsd.protocol import parse_events, parse_status
from power_exporter.sources.apcupsd.table import (
    apcupsd_reading,
    numeric_value,
    parse_date,
    status_words,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "apcupsd"


def frames(name: str) -> list[bytes]:
    """A fixture's lines as the NIS messages apcupsd sends."""
    return [line.encode() + b"\n" for line in (FIXTURES / name).read_text().splitlines()]


def status(name: str, **changes: str) -> dict[str, str]:
    """A fixture's status, with some keys changed (a value of "" removes the key)."""
    parsed = parse_status(frames(name))
    for key, value in changes.items():
        if value:
            parsed[key] = value
        else:
            parsed.pop(key, None)
    return parsed


def reading(values: dict[str, str], events: list[str] | None = None) -> Reading:
    """A Reading of a status, dropped values ignored."""
    built, _problems = apcupsd_reading("ups", values, events or [], 1.0)
    return built


class TestRecorded:
    """Replies recorded from a real apcupsd."""

    def test_pcnet_on_battery(self) -> None:
        """Runtime in seconds, ratios, on-battery from STATUS and STATFLAG, dates as Unix time."""
        got = reading(status("pcnet-onbatt.status"), parse_events(frames("pcnet.events")))
        assert got.measures[Measure.BATTERY_RUNTIME] == 42 * 60.0
        assert got.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.97)
        assert got.measures[Measure.LOAD] == pytest.approx(0.20)
        assert got.measures[Measure.INPUT_VOLTAGE] == 0.0
        assert got.flags == {Flag.ON_BATTERY}
        assert got.raw["XONBATT"] == parse_date("2026-12-03 09:55:26 +0000") == 1796291726.0
        assert "XOFFBATT" not in got.raw  # N/A
        assert got.raw["NUMXFERS"] == 1.0
        assert got.text["LASTEVENT"].endswith("User logins prohibited")

    def test_commlost_is_stale(self) -> None:
        """A COMMLOST reply (word and bit 0x100) raises StaleError: the UPS is down."""
        with pytest.raises(StaleError, match="COMMLOST"):
            apcupsd_reading("ups", status("net-commlost.status"), [], 1.0)
        with pytest.raises(StaleError):  # the bit alone
            apcupsd_reading("ups", status("test-driver.status", STATFLAG="0x00000108"), [], 1.0)

    def test_test_driver_quirks(self) -> None:
        """The test driver's TIMELEFT is distrusted; a pcnet UPS's is not; 0 W is no rating."""
        built, problems = apcupsd_reading("ups", status("test-driver.status"), [], 1.0)
        assert Measure.BATTERY_RUNTIME not in built.measures
        assert Measure.NOMINAL_POWER not in built.measures
        assert problems == ["TIMELEFT from the 'TEST UPS Driver' is not trusted: 1200 minutes"]
        rated = reading(status("test-driver.status", NOMPOWER="865 Watts", NOMAPNT="1500 VA"))
        assert rated.measures[Measure.NOMINAL_POWER] == 865.0
        assert rated.measures[Measure.NOMINAL_APPARENT_POWER] == 1500.0


class TestOldFormat:
    """apcupsd 3.14.6 and older: unit phrases, lower-case units, dates with a zone name."""

    def test_values(self) -> None:
        """``17.0 Percent Load Capacity`` is 0.17; ``16 seconds`` is 16; dates resolve in PST."""
        got = reading(status("apcupsd-3.14.6-usb.status"))
        assert got.measures[Measure.LOAD] == pytest.approx(0.17)
        assert got.measures[Measure.BATTERY_RUNTIME] == 35.5 * 60
        assert got.measures[Measure.NOMINAL_POWER] == 865.0
        assert got.raw["CUMONBATT"] == 16.0
        assert got.raw["STATFLAG"] == 0x07000008
        assert got.flags == {Flag.ONLINE}
        # 22:10:04 PST (UTC-8) on 7 March 2012 is 06:10:04 UTC on 8 March.
        assert got.raw["XONBATT"] == parse_date("2012-03-08 06:10:04 +0000")
        assert got.raw["BATTDATE"] == parse_date("2007-09-21")
        assert (got.identity.model, got.identity.serial) == ("Back-UPS RS 1500", "JB0123456789")

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-23 08:17:08 +0000  ", 1795421828.0),
            ("2026-11-23 09:17:08 +0100", 1795421828.0),
            ("2026-11-23 03:47:08 -0430", 1795421828.0),
            ("Thu Mar 08 01:34:21 PST 2012", 1331199261.0),
            ("Thu Mar  8 01:34:21 UTC 2012", 1331170461.0),
            ("2001-09-21", 1001030400.0),
            ("09/21/01", 1001030400.0),
            ("09/21/99", 937872000.0),
            ("N/A", None),
            ("Thu Mar 08 01:34:21 XYZ 2012", None),
            ("2026-02-30", None),
            ("", None),
        ],
    )
    def test_dates(self, text: str, expected: float | None) -> None:
        """Every date format apcupsd wrote; unknown zones and impossible dates are no date."""
        assert parse_date(text) == expected


class TestValues:
    """Numbers, units and words."""

    @pytest.mark.parametrize(
        ("key", "text", "expected"),
        [
            ("LINEV", "229.5 Volts", (229.5, "volts")),
            ("LOADPCT", "17.0 Percent Load Capacity", (17.0, "percent")),
            ("STATFLAG", "0x05040010", (0x05040010, "")),
            ("NUMXFERS", "3", (3.0, "")),
            ("EXTBATTS", "-1", (-1.0, "")),
            ("STESTI", "None", None),
            ("SERIALNO", "123456", None),
            ("LINEV", "", None),
            ("LINEV", "9" * 400, None),
            ("LINEV", "nan Volts", None),
        ],
    )
    def test_numeric(self, key: str, text: str, expected: tuple[float, str] | None) -> None:
        """First word a decimal or hex number, the next its unit; identifiers never numbers."""
        assert numeric_value(key, text) == expected

    def test_unknown_keys_kept_raw(self) -> None:
        """A key no table knows is kept raw when numeric, as text when not, and exposed."""
        got = reading(status("test-driver.status", NEWKEY="12.5 Widgets", ODDKEY="on"))
        assert got.raw["NEWKEY"] == 12.5
        assert got.text["ODDKEY"] == "on"
        names = {(s.family.name, s.labels) for s in APCUPSD_NAMING.samples(got)}
        assert ("apcupsd_status_value", (("key", "NEWKEY"), ("ups", "testups"))) in names

    def test_wrong_unit_dropped(self) -> None:
        """A measure in a unit of another quantity is dropped with a reason, not mis-scaled."""
        built, problems = apcupsd_reading(
            "ups", status("pcnet-onbatt.status", TIMELEFT="42.0 Volts"), [], 1.0
        )
        assert Measure.BATTERY_RUNTIME not in built.measures
        assert problems == ["TIMELEFT in 'volts', expected minutes"]
        seconds = reading(status("pcnet-onbatt.status", TIMELEFT="90 Seconds"))
        assert seconds.measures[Measure.BATTERY_RUNTIME] == 90.0

    def test_impossible_values_dropped(self) -> None:
        """A charge above 100 % or a negative load is not a measure; the rest still is."""
        built, problems = apcupsd_reading(
            "ups",
            status("pcnet-onbatt.status", BCHARGE="180.0 Percent", LOADPCT="-3 Percent"),
            [],
            1.0,
        )
        assert Measure.BATTERY_CHARGE not in built.measures
        assert Measure.LOAD not in built.measures
        assert built.measures[Measure.OUTPUT_VOLTAGE] == 230.0
        assert len(problems) == 2


class TestFlags:
    """STATUS words and STATFLAG bits, joined."""

    def test_shutting_down(self) -> None:
        """``SHUTTING DOWN`` sets shutdown_imminent; the bits still say on battery."""
        got = reading(status("pcnet-onbatt.status", STATUS="SHUTTING DOWN ", STATFLAG="0x05040250"))
        assert got.flags == {Flag.SHUTDOWN_IMMINENT, Flag.ON_BATTERY, Flag.LOW_BATTERY}
        assert status_words({"STATUS": "SHUTTING  DOWN"}) == ["SHUTTING_DOWN"]

    @pytest.mark.parametrize(
        ("words", "bits", "expected"),
        [
            ("ONLINE", "0x00000008", {Flag.ONLINE}),
            ("ONLINE TRIM", "0x0000000A", {Flag.ONLINE, Flag.TRIM}),
            (
                "ONLINE BOOST REPLACEBATT",
                "0x0000008C",
                {Flag.ONLINE, Flag.BOOST, Flag.REPLACE_BATTERY},
            ),
            ("ONBATT OVERLOAD", "0x00000030", {Flag.ON_BATTERY, Flag.OVERLOAD}),
            ("CAL ONLINE", "0x00000009", {Flag.ONLINE, Flag.CALIBRATING}),
            ("ONLINE NOBATT SLAVE", "", {Flag.ONLINE}),
            ("", "0x00000010", {Flag.ON_BATTERY}),
        ],
    )
    def test_words_and_bits(self, words: str, bits: str, expected: set[Flag]) -> None:
        """Each word and bit maps to its flag; unknown words (NOBATT, SLAVE) set none."""
        got = reading(status("test-driver.status", STATUS=words, STATFLAG=bits))
        assert got.flags == expected
        assert got.known_flags >= expected
