"""The UDP meter's wire protocol: the derived vector, strict decoding, and a fuzzed decoder."""

from __future__ import annotations

import contextlib
import math
import struct
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from power_exporter.errors import DecodeError
from power_exporter.sources.udp_meter.protocol import (
    DATA_REQUEST,
    MAX_MEASUREMENT_BYTES,
    Measurement,
    MeasurementError,
    Problem,
    decode_measurement,
    encode_data_request,
    encode_measurement,
    encode_subscription,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "udp_meter"
SAMPLE = bytes.fromhex((FIXTURES / "readme_sample.hex").read_text().strip())
PROBLEMS = set(get_args(Problem))
SAMPLE_MEASUREMENT = Measurement(timestamp_us=1_000_000, charge_mas=304_000.0, current_ma=1600.0)


def _problem(data: bytes) -> str:
    with pytest.raises(MeasurementError) as caught:
        decode_measurement(data)
    return caught.value.problem


class TestVector:
    """The vector derived in the protocol facts pins the wire format both ways."""

    def test_sample_bytes_are_the_derived_vector(self) -> None:
        """The fixture holds the bytes the facts give (field by field)."""
        assert SAMPLE.hex(" ") == "08 c0 84 3d 11 00 00 00 00 00 8e 12 41 1d 00 00 c8 44"

    def test_decode_derived_vector(self) -> None:
        """The README sample datagram decodes to its timestamp, charge and current."""
        assert decode_measurement(SAMPLE) == SAMPLE_MEASUREMENT

    def test_encode_derived_vector(self) -> None:
        """Encoding the sample measurement gives the derived bytes exactly."""
        assert encode_measurement(SAMPLE_MEASUREMENT) == SAMPLE

    def test_data_request(self) -> None:
        """DATA_REQUEST is the 12 ASCII bytes, no terminator."""
        assert encode_data_request() == DATA_REQUEST == b"DATA_REQUEST"
        assert len(DATA_REQUEST) == 12

    @pytest.mark.parametrize(("channel", "wire"), [(1, b"1\x00"), (2, b"2\x00"), (6, b"6\x00")])
    def test_subscription(self, channel: int, wire: bytes) -> None:
        """A subscription is the channel in decimal ASCII and a NUL."""
        assert encode_subscription(channel) == wire

    @pytest.mark.parametrize("channel", [0, 7, -1])
    def test_subscription_channel_range(self, channel: int) -> None:
        """Only the sensor's channels 1..6 can be subscribed."""
        with pytest.raises(ValueError, match=r"not one of 1\.\.6"):
            encode_subscription(channel)


class TestStrictDecoding:
    """Everything that is not a usable measurement raises MeasurementError with its problem."""

    def test_error_is_a_decode_error(self) -> None:
        """MeasurementError counts as reason "decode" and says what was wrong."""
        with pytest.raises(DecodeError) as caught:
            decode_measurement(b"")
        assert caught.value.reason == "decode"
        assert str(caught.value) == "empty: an empty datagram"

    @pytest.mark.parametrize("cut", [1, 2, 3, 5, 9, 12, 14, 17])
    def test_truncated(self, cut: int) -> None:
        """A datagram cut inside a field is malformed."""
        assert _problem(SAMPLE[:cut]) == "malformed"

    @pytest.mark.parametrize(
        "garbage", [b"\xff" * 10, b"\x0f\x0f\x0f", b"\x08\x80\x80\x80", b"\x00", b"\x07abc"]
    )
    def test_garbage(self, garbage: bytes) -> None:
        """Bytes that are not protobuf are malformed."""
        assert _problem(garbage) == "malformed"

    def test_ascii_is_refused(self) -> None:
        """Text parses as protobuf fields the schema lacks; it is still refused."""
        assert _problem(b"HELLO") in {"malformed", "unknown_field"}
        assert _problem(DATA_REQUEST) in {"malformed", "unknown_field"}

    def test_unknown_field(self) -> None:
        """A well-formed field the schema lacks (field 4) is refused, naming the field."""
        with pytest.raises(MeasurementError, match="fields the schema lacks or mistyped: 4"):
            decode_measurement(SAMPLE + bytes.fromhex("2005"))

    def test_mistyped_field(self) -> None:
        """The timestamp sent as a fixed64 is not the schema's varint."""
        assert _problem(bytes.fromhex("09") + struct.pack("<Q", 5)) == "unknown_field"

    @pytest.mark.parametrize("size", [MAX_MEASUREMENT_BYTES + 1, 100, 1024, 2000])
    def test_over_long(self, size: int) -> None:
        """A datagram longer than any measurement can be is refused before parsing."""
        with pytest.raises(MeasurementError, match=f"{size} bytes; a measurement is at most 25"):
            decode_measurement(SAMPLE + b"\x00" * (size - len(SAMPLE)))

    def test_longest_measurement_fits(self) -> None:
        """The largest valid encoding (a ten-byte varint) is exactly the limit and decodes."""
        biggest = Measurement(timestamp_us=2**64 - 1, charge_mas=1.5, current_ma=2.5)
        data = encode_measurement(biggest)
        assert len(data) == MAX_MEASUREMENT_BYTES
        assert decode_measurement(data) == biggest

    def test_empty(self) -> None:
        """An empty datagram (all defaults in proto3) is refused."""
        assert _problem(b"") == "empty"

    def test_no_timestamp(self) -> None:
        """A measurement without a timestamp cannot be ordered, so it is refused."""
        data = encode_measurement(Measurement(timestamp_us=0, charge_mas=5.0, current_ma=1.0))
        assert _problem(data) == "no_timestamp"

    @pytest.mark.parametrize(
        ("charge", "current", "problem", "text"),
        [
            (math.nan, 1.0, "not_finite", "energy_consumption is nan"),
            (math.inf, 1.0, "not_finite", "energy_consumption is inf"),
            (1.0, math.nan, "not_finite", "current is nan"),
            (1.0, -math.inf, "not_finite", "current is -inf"),
            (-0.5, 1.0, "negative", "energy_consumption is -0.5"),
            (1.0, -2.0, "negative", "current is -2.0"),
        ],
    )
    def test_bad_values(self, charge: float, current: float, problem: str, text: str) -> None:
        """Negative and non-finite charge or current are refused, naming the field."""
        data = encode_measurement(
            Measurement(timestamp_us=7, charge_mas=charge, current_ma=current)
        )
        with pytest.raises(MeasurementError) as caught:
            decode_measurement(data)
        assert caught.value.problem == problem
        assert text in str(caught.value)

    def test_zero_values_are_fine(self) -> None:
        """Zero charge and current are omitted on the wire by proto3 and decode as 0."""
        data = encode_measurement(Measurement(timestamp_us=42, charge_mas=0.0, current_ma=0.0))
        assert data == bytes.fromhex("082a")
        assert decode_measurement(data) == Measurement(42, 0.0, 0.0)


class TestFuzz:
    """Hypothesis throws bytes at the decoder (bounded here; bench/fuzz_udp.py runs millions)."""

    @settings(max_examples=400)
    @given(st.binary(max_size=40))
    def test_any_bytes_decode_or_raise_measurement_error(self, data: bytes) -> None:
        """Arbitrary bytes give a valid Measurement or a MeasurementError, nothing else."""
        try:
            measurement = decode_measurement(data)
        except MeasurementError as exc:
            problem = exc.problem
            assert problem in PROBLEMS
            return
        assert measurement.timestamp_us > 0
        assert math.isfinite(measurement.charge_mas)
        assert measurement.charge_mas >= 0
        assert math.isfinite(measurement.current_ma)
        assert measurement.current_ma >= 0

    @settings(max_examples=200)
    @given(st.binary(min_size=1, max_size=MAX_MEASUREMENT_BYTES), st.data())
    def test_mutated_sample(self, data: bytes, draw: st.DataObject) -> None:
        """Splicing random bytes into the vector never escapes as another exception."""
        at = draw.draw(st.integers(min_value=0, max_value=len(SAMPLE)))
        with contextlib.suppress(MeasurementError):
            decode_measurement(SAMPLE[:at] + data + SAMPLE[at:])

    @settings(max_examples=200)
    @given(
        st.integers(min_value=1, max_value=2**64 - 1),
        st.floats(min_value=0.0, allow_infinity=False),
        st.floats(min_value=0.0, allow_infinity=False, width=32),
    )
    def test_round_trip(self, timestamp: int, charge: float, current: float) -> None:
        """Every valid measurement survives encoding and decoding (the current is a float32)."""
        measurement = Measurement(timestamp_us=timestamp, charge_mas=charge, current_ma=current)
        assert decode_measurement(encode_measurement(measurement)) == measurement

    def test_current_is_a_float32(self) -> None:
        """The current travels as a float32: 1.6 mA comes back as float32(1.6)."""
        sent = Measurement(timestamp_us=1, charge_mas=0.0, current_ma=1.6)
        received = decode_measurement(encode_measurement(sent)).current_ma
        assert received == struct.unpack("<f", struct.pack("<f", 1.6))[0] != 1.6
