"""Byte-exact decoding of TrippLite feature reports, replayed through the HID seam."""

from __future__ import annotations

import json

import pytest

from power_exporter.errors import DecodeError
from power_exporter.model import Flag, Measure
from power_exporter.sources.tripplite.reports import (
    decode,
    flags_of,
    measures_of,
    raw_values,
    read_report,
    read_state,
)
from power_exporter.sources.tripplite.table import KNOWN_FLAGS, REPORTS, STATUS_BITS
from tests.sources.tripplite.replay import (
    FIXTURES,
    ReplayHandle,
    ReplayUps,
    example_reports,
    info,
    load_hex,
    with_reports,
)

STATUS = next(r for r in REPORTS if r.report_id == 50)
HEALTH = next(r for r in REPORTS if r.report_id == 52)


def handle(reports: dict[int, bytes] | None = None) -> ReplayHandle:
    """An open replayed UPS (the README example unless told)."""
    ups = ReplayUps(info(), reports if reports is not None else example_reports())
    return ReplayHandle(ups)


def le(report_id: int, value: int, size: int) -> bytes:
    """A reply built from the facts: the id, then ``value`` little-endian in ``size`` bytes."""
    return bytes([report_id]) + value.to_bytes(size, "little")


class TestExample:
    """The README example, end to end."""

    def test_fixture_bytes_follow_the_protocol_facts(self) -> None:
        """Each derived reply is the id, then the README value little-endian (tenths where due)."""
        expected = [
            le(48, 120, 1),
            le(2, 60, 1),
            le(3, 1500, 2),
            le(50, 0b0110_0010, 1),
            le(24, 1172, 2),
            le(25, 597, 2),
            le(27, 1172, 2),
            le(71, 324, 2),
            le(52, 100, 1),
            le(53, 1004, 2),
        ]
        assert load_hex("readme-example.hex") == expected

    def test_decodes_to_the_readme_json(self) -> None:
        """The replayed example reads back as the seed's README printed it, plus device_id."""
        state = read_state(handle(), "/dev/hidraw0")
        readme = json.loads((FIXTURES / "readme-example.json").read_text(encoding="utf-8"))
        assert state == {**readme, "device_id": "/dev/hidraw0"}
        assert isinstance(state["health"], int)
        assert isinstance(state["config"], dict)
        assert isinstance(state["config"]["power"], int)

    def test_asks_each_report_once_with_its_length(self) -> None:
        """Reports are asked in the seed's order, each with the id byte plus its data size."""
        replay = handle()
        read_state(replay, "/dev/hidraw0")
        assert replay.ups.calls == [
            (48, 2),
            (2, 2),
            (3, 3),
            (50, 2),
            (24, 3),
            (25, 3),
            (27, 3),
            (71, 3),
            (52, 2),
            (53, 3),
        ]

    def test_raw_measures_and_flags(self) -> None:
        """The example's raw values, normalized measures and flags."""
        raw = raw_values(read_state(handle(), "/dev/hidraw0"))
        assert raw == {
            "config.voltage": 120.0,
            "config.frequency": 60.0,
            "config.power": 1500.0,
            "status.shutdown imminent": 0.0,
            "status.ac present": 1.0,
            "status.charging": 0.0,
            "status.discharging": 0.0,
            "status.needs replacement": 0.0,
            "status.below remaining capacity": 1.0,
            "status.fully charged": 1.0,
            "status.fully discharged": 0.0,
            "input.voltage": 117.2,
            "input.frequency": 59.7,
            "output.voltage": 117.2,
            "output.power": 324.0,
            "health": 100.0,
            "time to empty": 1004.0,
        }
        measures, problems = measures_of(raw)
        assert problems == []
        assert measures == {
            Measure.INPUT_VOLTAGE: 117.2,
            Measure.INPUT_FREQUENCY: 59.7,
            Measure.OUTPUT_VOLTAGE: 117.2,
            Measure.OUTPUT_POWER: 324.0,
            Measure.NOMINAL_APPARENT_POWER: 1500.0,
            Measure.BATTERY_CHARGE: 1.0,
            Measure.BATTERY_RUNTIME: 1004.0,
        }
        assert flags_of(raw) == {Flag.ONLINE, Flag.LOW_BATTERY, Flag.FULLY_CHARGED}


class TestStatusBits:
    """The status byte, bit 0 (least significant) first."""

    @pytest.mark.parametrize(
        ("bit", "key", "flag"),
        [
            (0, "shutdown imminent", Flag.SHUTDOWN_IMMINENT),
            (1, "ac present", Flag.ONLINE),
            (2, "charging", Flag.CHARGING),
            (3, "discharging", Flag.DISCHARGING),
            (4, "needs replacement", Flag.REPLACE_BATTERY),
            (5, "below remaining capacity", Flag.LOW_BATTERY),
            (6, "fully charged", Flag.FULLY_CHARGED),
            (7, "fully discharged", Flag.FULLY_DISCHARGED),
        ],
    )
    def test_one_bit_at_a_time(self, bit: int, key: str, flag: Flag) -> None:
        """Bit ``bit`` (0 = least significant) sets exactly its key and its flag."""
        status = decode(STATUS, bytes([50, 1 << bit]))
        assert status == {row.key: row.key == key for row in STATUS_BITS}
        assert isinstance(status, dict)
        raw = {f"status.{k}": 1.0 if v else 0.0 for k, v in status.items()}
        # Alone, only "discharging" without "ac present" means on battery; shutdown
        # imminent brings low battery along, as NUT's LB.
        extra = {
            Flag.DISCHARGING: {Flag.ON_BATTERY},
            Flag.SHUTDOWN_IMMINENT: {Flag.LOW_BATTERY},
        }.get(flag, set())
        assert flags_of(raw) == {flag, *extra}

    def test_no_bit_set_alone_says_nothing(self) -> None:
        """A zero status byte alone is neither online nor on battery."""
        status = decode(STATUS, bytes([50, 0]))
        assert isinstance(status, dict)
        assert not any(status.values())
        assert flags_of({f"status.{k}": 0.0 for k in status}) == set()

    def test_known_flags_are_every_flag_a_bit_can_mean(self) -> None:
        """known_flags: the eight bits' flags and on_battery, nothing else."""
        assert {
            Flag.SHUTDOWN_IMMINENT,
            Flag.ONLINE,
            Flag.ON_BATTERY,
            Flag.CHARGING,
            Flag.DISCHARGING,
            Flag.REPLACE_BATTERY,
            Flag.LOW_BATTERY,
            Flag.FULLY_CHARGED,
            Flag.FULLY_DISCHARGED,
        } == KNOWN_FLAGS


class TestDecoding:
    """Integers, tenths and malformed replies."""

    def test_little_endian_with_a_high_byte(self) -> None:
        """Two data bytes are little-endian; tenths are divided by ten."""
        time_to_empty = next(r for r in REPORTS if r.report_id == 53)
        voltage = next(r for r in REPORTS if r.report_id == 24)
        assert decode(time_to_empty, bytes.fromhex("35 34 12")) == 0x1234
        assert decode(voltage, bytes.fromhex("18 ff ff")) == 6553.5
        assert decode(voltage, bytes.fromhex("18 b0 04")) == 120.0

    def test_unexpected_report_id(self) -> None:
        """A reply for another report is a DecodeError naming both and the bytes."""
        with pytest.raises(DecodeError) as caught:
            decode(STATUS, bytes.fromhex("06 62"))
        message = str(caught.value)
        assert "report 50 (status)" in message
        assert "unexpected reply for report 6" in message
        assert "06 62" in message

    def test_unexpected_report_id_while_reading(self) -> None:
        """The whole read fails on it (the seed raised "Received unexpected data.")."""
        replay = handle(with_reports({24: bytes.fromhex("19 94 04")}))
        with pytest.raises(DecodeError, match=r"report 24 \(input\.voltage\)"):
            read_state(replay, "/dev/hidraw0")

    def test_short_reply(self) -> None:
        """Fewer bytes than the report needs is a DecodeError (the seed hit an IndexError)."""
        voltage = next(r for r in REPORTS if r.report_id == 24)
        with pytest.raises(DecodeError, match="2 bytes, 3 expected: 18 94"):
            decode(voltage, bytes.fromhex("18 94"))

    def test_longer_real_reply(self) -> None:
        """Bytes past the data are ignored: a real 512-byte reply to report 52 (NUT #1747)."""
        (reply,) = load_hex("nut-1747-report52.hex")
        assert len(reply) == 16
        assert decode(HEALTH, reply) == 100


class TestEmptyReplies:
    """Empty replies are asked again three times, as the seed did."""

    def test_retried_three_times(self) -> None:
        """Three empty replies, then data: the read succeeds on the fourth ask."""
        replay = handle()
        replay.ups.script[52].extend([b"", b"", b""])
        assert read_report(replay, HEALTH) == 100
        assert replay.ups.calls == [(52, 2)] * 4

    def test_fourth_empty_reply_fails(self) -> None:
        """Four empty replies: OSError, as the seed's "Did not receive data." (no fifth ask)."""
        replay = handle()
        replay.ups.script[52].extend([b""] * 5)
        with pytest.raises(OSError, match=r"report 52 \(health\): no data in 4 replies"):
            read_report(replay, HEALTH)
        assert replay.ups.calls == [(52, 2)] * 4
