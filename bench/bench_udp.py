"""Benchmark of the UDP meter source (``make bench``; not a test).

1. Listen-mode ingest: datagrams per second through ``UdpMeterListener.stream()`` (decoded,
   checked, a Reading each) against a bare asyncio ``DatagramProtocol`` that only counts,
   measured in the same run. A sender process blasts the README sample datagram at the
   receiver on 127.0.0.1 for a fixed time; the receiver's rate is what it processed, the
   rest the kernel dropped. Rounds alternate between the two receivers; medians are shown.
2. Decode cost of one measurement datagram: protobuf (the official package, what the
   source uses), our strict ``decode_measurement`` on top of it, and betterproto (the
   seed's library; ``pip install -e '.[bench]'``).

Run: ``python -m bench udp`` (with the others: ``make bench``), or
``python -m bench.bench_udp [--seconds 2] [--rounds 5]``. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import timeit
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation

from power_exporter.model import Reading
from power_exporter.sources.udp_meter.config import UdpMeterConfig
from power_exporter.sources.udp_meter.proto.powermeasurement_pb2 import power_measurement
from power_exporter.sources.udp_meter.protocol import (
    Measurement,
    decode_measurement,
    encode_measurement,
)
from power_exporter.sources.udp_meter.source import UdpMeterListener

BARE = "bare asyncio DatagramProtocol (count only)"
COALESCED = "UdpMeterListener.stream(), as shipped (one Reading per batch read)"
EACH = "UdpMeterListener.stream(), coalesce off (one Reading per datagram)"
if TYPE_CHECKING:
    from collections.abc import Callable

SAMPLE = encode_measurement(Measurement(1_000_000, 304_000.0, 1600.0))
HOST = "127.0.0.1"

# The sender runs in its own process, so that it does not share the receiver's event loop.
SENDER = """
import socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
payload = bytes.fromhex(sys.argv[4])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
send, sent, end = sock.send, 0, time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(256):
        try:
            send(payload)
        except OSError:
            pass
    sent += 256
print(sent)
"""


@dataclass
class Round:
    """One receiver's measured rate in one round."""

    received_per_s: float
    sent_per_s: float
    readings_per_s: float
    cpu_us_per_datagram: float


class _Bare(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.count = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:  # noqa: ARG002, ANN401
        self.count += 1


async def _blast(
    port: int, seconds: float, count: Callable[[], tuple[int, int]], warmup: float
) -> Round:
    """Run the sender for warmup + seconds; count() gives the datagrams and Readings so far."""
    sender = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", SENDER, HOST, str(port), str(seconds + warmup + 0.2), SAMPLE.hex()),
        stdout=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(warmup)
    (datagrams, readings), start, cpu = count(), time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    (datagrams_end, readings_end), elapsed = count(), time.perf_counter() - start
    cpu = time.process_time() - cpu
    stdout, _ = await sender.communicate()
    sent = int(stdout.decode().strip() or 0)
    return Round(
        (datagrams_end - datagrams) / elapsed,
        sent / (seconds + warmup + 0.2),
        (readings_end - readings) / elapsed,
        cpu / max(datagrams_end - datagrams, 1) * 1e6,
    )


async def _bare_round(seconds: float, warmup: float) -> Round:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_Bare, local_addr=(HOST, 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        return await _blast(port, seconds, lambda: (protocol.count, 0), warmup)
    finally:
        transport.close()


async def _source_round(seconds: float, warmup: float, *, coalesce: bool) -> Round:
    cfg = UdpMeterConfig.model_validate(
        {"name": "bench", "source": "udp_meter", "listen": f"{HOST}:0", "peer": HOST}
    )
    readings = 0

    async def consume(source: UdpMeterListener) -> None:
        nonlocal readings
        async for event in source.stream():
            readings += isinstance(event, Reading)

    async with UdpMeterListener(cfg) as source:
        source.coalesce = coalesce
        task = asyncio.create_task(consume(source))
        try:
            result = await _blast(
                source.local_address[1], seconds, lambda: (source.datagrams, readings), warmup
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert readings, "the source yielded no Reading"
    return result


async def ingest(seconds: float, rounds: int) -> dict[str, list[Round]]:
    """Alternate the receivers round by round; return each one's rounds."""
    runs: dict[str, list[Round]] = {BARE: [], COALESCED: [], EACH: []}
    for _ in range(rounds):
        runs[BARE].append(await _bare_round(seconds, 0.3))
        runs[COALESCED].append(await _source_round(seconds, 0.3, coalesce=True))
        runs[EACH].append(await _source_round(seconds, 0.3, coalesce=False))
    return runs


def _per_op_ns(statement: Any, number: int = 200_000) -> float:  # noqa: ANN401
    best = min(timeit.repeat(statement, number=number, repeat=5))
    return best / number * 1e9


def decode_costs() -> list[tuple[str, float]]:
    """Nanoseconds per decode of the sample datagram, fields read, for each decoder."""

    def with_protobuf() -> tuple[int, float, float]:
        message = power_measurement()
        message.ParseFromString(SAMPLE)
        return message.timestamp, message.energy_consumption, message.current

    rows = [
        (
            f"protobuf {protobuf_version} ({api_implementation.Type()}), parse + fields",
            _per_op_ns(with_protobuf),
        ),
        (
            "decode_measurement (protobuf + strict checks)",
            _per_op_ns(lambda: decode_measurement(SAMPLE)),
        ),
    ]
    try:
        import betterproto  # noqa: PLC0415 (optional: the bench extra)
    except ImportError:
        rows.append(("betterproto: not installed (pip install -e '.[bench]')", float("nan")))
        return rows

    @dataclass
    class PowerMeasurement(betterproto.Message):
        timestamp: int = betterproto.uint64_field(1)
        energy_consumption: float = betterproto.double_field(2)
        current: float = betterproto.float_field(3)

    def with_betterproto() -> tuple[int, float, float]:
        message = PowerMeasurement().parse(SAMPLE)
        return message.timestamp, message.energy_consumption, message.current

    assert with_betterproto() == with_protobuf()
    from importlib.metadata import version  # noqa: PLC0415

    rows.append(
        (
            f"betterproto {version('betterproto')}, parse + fields",
            _per_op_ns(with_betterproto, 20_000),
        )
    )
    return rows


def run(seconds: float = 2.0, rounds: int = 5) -> list[str]:
    """Run both benchmarks; return markdown lines (``python -m bench udp`` calls this)."""
    runs = asyncio.run(ingest(seconds, rounds))
    bare_rate = statistics.median(r.received_per_s for r in runs[BARE])
    lines = [
        f"### UDP meter: listen-mode ingest ({rounds} rounds of {seconds:g} s, medians)",
        "",
        (
            "| receiver | datagrams/s processed | of bare | receiver CPU µs/datagram"
            " | Readings/s | sender datagrams/s |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, measured in runs.items():
        rate = statistics.median(r.received_per_s for r in measured)
        sent = statistics.median(r.sent_per_s for r in measured)
        readings = statistics.median(r.readings_per_s for r in measured)
        shown = f"{readings:,.0f}" if name != BARE else "-"
        cpu = statistics.median(r.cpu_us_per_datagram for r in measured)
        lines.append(
            f"| {name} | {rate:,.0f} | {rate / bare_rate:.0%} | {cpu:.2f} | {shown} | {sent:,.0f} |"
        )
    lines.append("")
    for name, measured in runs.items():
        per_round = ", ".join(f"{r.received_per_s:,.0f}" for r in measured)
        lines.append(f"- {name}, per round: {per_round}")
    lines += [
        "",
        "### UDP meter: decode cost of one measurement datagram (best of 5)",
        "",
        "| decoder | ns/datagram | datagrams/s |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {ns:,.0f} | {1e9 / ns:,.0f} |" for name, ns in decode_costs()]
    return lines


def main() -> int:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per receiver")
    args = parser.parse_args()
    print("\n".join(run(args.seconds, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
