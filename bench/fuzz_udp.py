"""Fuzz the UDP meter's decoder with a million inputs: ``python -m bench.fuzz_udp [N]``.

Not a test (tests/sources/udp_meter/test_protocol.py runs a bounded hypothesis version). The
inputs are random bytes of every length up to past the limit, and mutations of valid
measurements (bytes flipped, cut, inserted, fields duplicated): the decoder must answer each
with a Measurement that passes its own checks or a MeasurementError, never anything else.
``udp_measurement`` has the shape of a fuzz target (bytes -> "accepted" or the reason).
Prints a markdown table of inputs, time and outcomes by reason.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections import Counter

from power_exporter.sources.udp_meter.protocol import (
    MAX_MEASUREMENT_BYTES,
    Measurement,
    MeasurementError,
    decode_measurement,
    encode_measurement,
)

SEED = 20260903


def udp_measurement(data: bytes) -> str:
    """Decode one datagram: "accepted" (checked again here) or the problem that refused it."""
    try:
        measurement = decode_measurement(data)
    except MeasurementError as exc:
        return exc.problem
    assert measurement.timestamp_us > 0, data
    assert math.isfinite(measurement.charge_mas), data
    assert measurement.charge_mas >= 0, data
    assert math.isfinite(measurement.current_ma), data
    assert measurement.current_ma >= 0, data
    assert len(data) <= MAX_MEASUREMENT_BYTES, data
    return "accepted"


def _valid(rng: random.Random) -> bytes:
    return encode_measurement(
        Measurement(
            timestamp_us=rng.choice([1, rng.getrandbits(20), rng.getrandbits(64) or 1]),
            charge_mas=rng.choice([0.0, rng.random() * 1e6, rng.uniform(-1, 1) * 1e300]),
            current_ma=rng.choice([0.0, rng.random() * 5000, -rng.random()]),
        )
    )


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(5)
        at = rng.randrange(len(buffer) + 1)
        if action == 0 and buffer:
            buffer[min(at, len(buffer) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            del buffer[at:]
        elif action == 2:
            buffer[at:at] = rng.randbytes(rng.randint(1, 8))
        elif action == 3:
            buffer += buffer[: rng.randint(1, len(buffer) or 1)]
        else:
            buffer[at:at] = rng.choice([b"\x08", b"\x11", b"\x1d", b"\x20", b"\xff" * 10, b"\x00"])
    return bytes(buffer)


def inputs(count: int, rng: random.Random) -> list[bytes]:
    """A reproducible mix: a third random bytes, two thirds mutated measurements."""
    made = []
    for n in range(count):
        if n % 3 == 0:
            made.append(rng.randbytes(rng.randint(0, MAX_MEASUREMENT_BYTES + 8)))
        else:
            made.append(_mutate(_valid(rng), rng))
    return made


def run(count: int = 1_000_000) -> list[str]:
    """Fuzz ``count`` inputs; return markdown lines."""
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    seconds = 0.0
    for _ in range(0, count, 100_000):
        batch = inputs(min(100_000, count - outcomes.total()), rng)
        started = time.perf_counter()
        outcomes.update(udp_measurement(data) for data in batch)
        seconds += time.perf_counter() - started
    by_reason = ", ".join(f"{name} {n:,}" for name, n in outcomes.most_common())
    return [
        f"### Fuzzing the UDP meter decoder: {outcomes.total():,} inputs (seed {SEED})",
        "",
        "| inputs | seconds (decoding) | inputs/s | crashes | outcomes |",
        "| ---: | ---: | ---: | ---: | --- |",
        (
            f"| {outcomes.total():,} | {seconds:.1f} | {outcomes.total() / seconds:,.0f} | 0"
            f" | {by_reason} |"
        ),
    ]


if __name__ == "__main__":
    print("\n".join(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
