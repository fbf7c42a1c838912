"""Poll mode against a stand-in meter on loopback: the DATA_REQUEST exchange and its failures."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from power_exporter.errors import ConnectError, DeviceTimeoutError, StaleError
from power_exporter.model import Measure, Reading
from power_exporter.sources.base import PolledSource, StreamingSource
from power_exporter.sources.udp_meter import KIND
from power_exporter.sources.udp_meter.config import UdpMeterConfig
from power_exporter.sources.udp_meter.protocol import (
    Measurement,
    MeasurementError,
    encode_measurement,
)
from power_exporter.sources.udp_meter.source import UdpMeterPoller

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable, Sequence

    from power_exporter.model import Event
    from tests.sources.udp_meter.standin import StandInMeter


def _poller(port: int, **keys: Any) -> UdpMeterPoller:
    cfg = UdpMeterConfig.model_validate(
        {"name": "desk-meter", "source": "udp_meter", "address": f"127.0.0.1:{port}"}
        | {"timeout": "300ms"}
        | keys
    )
    source = KIND.open(cfg)
    assert isinstance(source, UdpMeterPoller)
    return source


def _reading(events: Sequence[Event]) -> Reading:
    [event] = events
    assert isinstance(event, Reading)
    return event


class TestExchange:
    """One DATA_REQUEST, one measurement datagram, one Reading in base units."""

    async def test_data_request_exchange(self, meter: StandInMeter) -> None:
        """The poller sends exactly DATA_REQUEST and turns the answer into a Reading."""
        async with _poller(meter.port) as source:
            local = source.local_address
            reading = _reading(await source.read())
        assert meter.received == [(b"DATA_REQUEST", local)]
        assert reading.device == "desk-meter"
        assert reading.identity.source == "udp_meter"
        assert dict(reading.measures) == {
            Measure.CHARGE_COULOMBS: 304.0,
            Measure.INPUT_CURRENT: 1.6,
        }
        assert dict(reading.raw) == {
            "timestamp": 1_000_000.0,
            "energy_consumption": 304_000.0,
            "current": 1600.0,
        }

    async def test_is_a_polled_source(self, meter: StandInMeter) -> None:
        """Poll mode is a polled source, not a streaming one."""
        source = _poller(meter.port)
        assert isinstance(source, PolledSource)
        assert not isinstance(source, StreamingSource)

    async def test_every_read_asks_again(self, meter: StandInMeter) -> None:
        """Each read sends its own request and reports the meter's latest measurement."""
        async with _poller(meter.port) as source:
            first = _reading(await source.read())
            meter.measurement = Measurement(2_000_000, 310_000.0, 800.0)
            second = _reading(await source.read())
        assert [data for data, _ in meter.received] == [b"DATA_REQUEST"] * 2
        assert first.measures[Measure.CHARGE_COULOMBS] == 304.0
        assert second.measures[Measure.CHARGE_COULOMBS] == 310.0
        assert second.measures[Measure.INPUT_CURRENT] == 0.8

    async def test_reboot_carries_the_counter_on(self, meter: StandInMeter) -> None:
        """When the meter reboots, the exported charge goes on from where it was."""
        meter.measurement = Measurement(100_000_000, 500_000.0, 1000.0)
        async with _poller(meter.port) as source:
            before = _reading(await source.read())
            meter.reboot(Measurement(1_000_000, 20_000.0, 1000.0))
            after = _reading(await source.read())
            meter.measurement = Measurement(2_000_000, 30_000.0, 1000.0)
            later = _reading(await source.read())
            assert source.counter.reboots == 1
        assert [r.measures[Measure.CHARGE_COULOMBS] for r in (before, after, later)] == [
            500.0,
            520.0,
            530.0,
        ]
        assert later.raw["energy_consumption"] == 30_000.0  # the meter's own, since boot

    async def test_reentry_keeps_the_counter(self, meter: StandInMeter) -> None:
        """A source is reusable: leaving and entering again keeps its counter."""
        source = _poller(meter.port)
        meter.measurement = Measurement(100_000_000, 500_000.0, 1000.0)
        async with source:
            await source.read()
        meter.reboot(Measurement(1_000_000, 1_000.0, 1000.0))
        async with source:
            reading = _reading(await source.read())
        assert reading.measures[Measure.CHARGE_COULOMBS] == 501.0

    async def test_not_nestable(self, meter: StandInMeter) -> None:
        """Entering an open source again is a programming error."""
        source = _poller(meter.port)
        async with source:
            with pytest.raises(RuntimeError, match="not nestable"):
                await source.__aenter__()
            _reading(await source.read())

    async def test_read_outside_context(self, meter: StandInMeter) -> None:
        """Reading a source that is not entered is a programming error."""
        with pytest.raises(RuntimeError, match="outside `async with`"):
            await _poller(meter.port).read()

    async def test_stranger_never_reaches_the_poller(
        self, meter: StandInMeter, sender: Callable[[str], socket.socket]
    ) -> None:
        """The poller's socket is connected: the kernel drops a stranger's datagrams."""
        async with _poller(meter.port) as source:
            stranger = sender("127.0.0.1")
            bogus = Measurement(9_000_000, 999_000.0, 9000.0)
            stranger.sendto(encode_measurement(bogus), source.local_address[:2])
            await asyncio.sleep(0.05)
            reading = _reading(await source.read())
        assert reading.measures[Measure.CHARGE_COULOMBS] == 304.0


class TestFailures:
    """Silence, refusal, bad answers and a responder repeating itself are raised, typed."""

    async def test_silence_times_out(self, meter: StandInMeter) -> None:
        """No answer within timeout raises DeviceTimeoutError; the next answer works."""
        meter.silent = True
        async with _poller(meter.port, timeout="200ms") as source:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(DeviceTimeoutError, match=r"no answer from 127\.0\.0\.1:\d+ within"):
                await source.read()
            assert 0.15 < loop.time() - started < 1.0
            meter.silent = False
            _reading(await source.read())

    async def test_refused(self, sender: Callable[[str], socket.socket]) -> None:
        """Nobody on the port: ICMP port unreachable becomes a ConnectError."""
        closed = sender("127.0.0.1")
        port = closed.getsockname()[1]
        closed.close()
        async with _poller(port, timeout="2s") as source:
            with pytest.raises(ConnectError, match="refused"):
                await source.read()

    @pytest.mark.parametrize(
        ("answer", "problem"),
        [
            (bytes.fromhex("08c0843d1100000000"), "malformed"),
            (b"\xff" * 12, "malformed"),
            (bytes.fromhex("08c0843d11000000000000f87f"), "not_finite"),
            (b"\x08\x01" * 40, "over_long"),
        ],
    )
    async def test_bad_answer(self, meter: StandInMeter, answer: bytes, problem: str) -> None:
        """A bad answer raises MeasurementError (reason decode); the next good one works."""
        meter.answer = answer
        async with _poller(meter.port) as source:
            with pytest.raises(MeasurementError) as caught:
                await source.read()
            assert caught.value.problem == problem
            assert caught.value.reason == "decode"
            meter.answer = None
            assert _reading(await source.read()).measures[Measure.CHARGE_COULOMBS] == 304.0

    async def test_late_answer_is_dropped(self, meter: StandInMeter) -> None:
        """An answer that comes after its timeout is not taken for the next request's."""
        meter.delay = 0.3
        async with _poller(meter.port, timeout="100ms") as source:
            with pytest.raises(DeviceTimeoutError):
                await source.read()
            await asyncio.sleep(0.4)  # the late answer is now waiting on the socket
            meter.delay = 0.0
            meter.measurement = Measurement(5_000_000, 400_000.0, 100.0)
            reading = _reading(await source.read())
        assert reading.measures[Measure.CHARGE_COULOMBS] == 400.0

    async def test_repeated_measurement_goes_stale(self, meter: StandInMeter) -> None:
        """A responder repeating a measurement for longer than stale_after raises StaleError."""
        async with _poller(meter.port, stale_after="300ms") as source:
            _reading(await source.read())
            _reading(await source.read())  # the same measurement, still within stale_after
            await asyncio.sleep(0.35)
            with pytest.raises(StaleError, match=r"timestamp has not moved for \d+s"):
                await source.read()
            meter.measurement = Measurement(2_000_000, 305_000.0, 1600.0)
            assert _reading(await source.read()).measures[Measure.CHARGE_COULOMBS] == 305.0
