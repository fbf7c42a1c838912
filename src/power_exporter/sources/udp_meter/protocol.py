"""The UDP power meter's wire protocol: the request datagrams and the measurement datagram.

Pure functions without I/O. The meter (an ESP32 with an INA3221 sensor, or the responder
beside it) speaks protobuf ``power_measurement`` datagrams (``proto/powermeasurement.proto``):
a timestamp in microseconds since the meter booted, the charge drawn since then in
milliampere-seconds (a double) and the current in milliamperes (a float).

Decoding is strict. The official ``protobuf`` package parses, and on top of it we refuse
what protobuf itself would let through: an empty datagram (proto3 reads it as all zeros), one
longer than any measurement can be, fields the schema does not have (random bytes often
parse as unknown fields), a missing timestamp, and negative or non-finite values. Each
refusal is a :class:`MeasurementError` naming its ``problem``.
"""

from __future__ import annotations

import math
import sys
from typing import Final, Literal, NamedTuple, TypeAlias

from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.unknown_fields import UnknownFieldSet

from power_exporter.errors import DecodeError
from power_exporter.sources.udp_meter.proto.powermeasurement_pb2 import power_measurement

DATA_REQUEST: Final = b"DATA_REQUEST"
"""What a poller sends; the responder answers any datagram with its latest measurement."""

# The longest encoding of a measurement: three one-byte tags, a ten-byte varint (uint64), a
# double and a float. Anything longer carries more than the schema has.
MAX_MEASUREMENT_BYTES: Final = 1 + 10 + 1 + 8 + 1 + 4

_MAX: Final = sys.float_info.max

# What the meter's firmware accepts as a subscription channel (INA3221 channels).
SUBSCRIBE_CHANNELS: Final = range(1, 7)

Problem: TypeAlias = Literal[
    "empty", "over_long", "malformed", "unknown_field", "no_timestamp", "negative", "not_finite"
]


class MeasurementError(DecodeError):
    """A datagram that is not a usable measurement; ``problem`` says which check refused it."""

    def __init__(self, problem: Problem, detail: str) -> None:
        self.problem: Problem = problem
        self.detail = detail
        super().__init__(f"{problem.replace('_', ' ')}: {detail}")


class Measurement(NamedTuple):
    """One measurement in the meter's own units (a NamedTuple: the ingest path makes many)."""

    timestamp_us: int
    """Microseconds since the meter booted."""
    charge_mas: float
    """Charge drawn since the meter booted, in milliampere-seconds."""
    current_ma: float
    """The current now, in milliamperes."""


def encode_data_request() -> bytes:
    """Return the datagram a poller sends to ask for the latest measurement."""
    return DATA_REQUEST


def encode_subscription(channel: int) -> bytes:
    """Return the datagram that subscribes to the pushes of one sensor channel (``2`` NUL)."""
    if channel not in SUBSCRIBE_CHANNELS:
        raise ValueError(f"channel {channel} is not one of 1..6")
    return b"%d\x00" % channel


def encode_measurement(measurement: Measurement) -> bytes:
    """Encode a measurement as the meter does (stand-in meters and benchmarks use this)."""
    message = power_measurement(
        timestamp=measurement.timestamp_us,
        energy_consumption=measurement.charge_mas,
        current=measurement.current_ma,
    )
    return message.SerializeToString()


def decode_measurement(data: bytes) -> Measurement:
    """Decode one measurement datagram, or raise :class:`MeasurementError` saying why not."""
    if not data:
        raise MeasurementError("empty", "an empty datagram")
    if len(data) > MAX_MEASUREMENT_BYTES:
        raise MeasurementError(
            "over_long", f"{len(data)} bytes; a measurement is at most {MAX_MEASUREMENT_BYTES}"
        )
    message = power_measurement()
    try:
        message.ParseFromString(data)
    except ProtobufDecodeError as exc:
        raise MeasurementError("malformed", f"truncated or not protobuf ({exc})") from exc
    unknown = UnknownFieldSet(message)
    if len(unknown):
        numbers = ", ".join(str(unknown[i].field_number) for i in range(len(unknown)))
        raise MeasurementError("unknown_field", f"fields the schema lacks or mistyped: {numbers}")
    measurement = Measurement(message.timestamp, message.energy_consumption, message.current)
    # One chained comparison for the common case: a NaN fails it too (every comparison with
    # NaN is false), and +inf is the only value above the largest double.
    if (
        measurement.timestamp_us
        and 0.0 <= measurement.charge_mas <= _MAX
        and 0.0 <= measurement.current_ma <= _MAX
    ):
        return measurement
    raise _value_problem(measurement)


def _value_problem(measurement: Measurement) -> MeasurementError:
    """Say what is wrong with the values of a measurement that failed the quick check."""
    if not measurement.timestamp_us:
        return MeasurementError("no_timestamp", "the timestamp is missing or zero")
    for name, value in (
        ("energy_consumption", measurement.charge_mas),
        ("current", measurement.current_ma),
    ):
        if not math.isfinite(value):
            return MeasurementError("not_finite", f"{name} is {value!r}")
        if value < 0.0:
            return MeasurementError("negative", f"{name} is {value!r}")
    raise AssertionError(f"no problem found in {measurement}")  # pragma: no cover
