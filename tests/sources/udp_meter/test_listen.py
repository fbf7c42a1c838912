"""Listen mode against a stand-in meter on loopback: pushes, strangers, bad datagrams, reboots."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import pytest

from power_exporter.errors import ConnectError
from power_exporter.model import DeviceFault, Measure, Reading
from power_exporter.sources.base import PolledSource, StreamingSource
from power_exporter.sources.udp_meter import KIND
from power_exporter.sources.udp_meter.config import UdpMeterConfig
from power_exporter.sources.udp_meter.protocol import (
    Measurement,
    MeasurementError,
    encode_measurement,
)
from power_exporter.sources.udp_meter.source import ForeignSenderError, UdpMeterListener
from tests.sources.udp_meter.standin import SAMPLE, Collector

if TYPE_CHECKING:
    import socket
    from collections.abc import AsyncIterator, Callable

    from power_exporter.errors import SourceError
    from power_exporter.model import Event
    from tests.sources.udp_meter.standin import StandInMeter


def _listener(peer: str, **keys: Any) -> UdpMeterListener:
    cfg = UdpMeterConfig.model_validate(
        {"name": "bench-meter", "source": "udp_meter", "listen": "127.0.0.1:0", "peer": peer} | keys
    )
    source = KIND.open(cfg)
    assert isinstance(source, UdpMeterListener)
    return source


def _charge(event: Event) -> float:
    assert isinstance(event, Reading), event
    return event.measures[Measure.CHARGE_COULOMBS]


def _fault(event: Event) -> SourceError:
    assert isinstance(event, DeviceFault), event
    assert event.device == "bench-meter"
    return event.error


@pytest.fixture
async def pushed(meter: StandInMeter) -> AsyncIterator[tuple[UdpMeterListener, Collector]]:
    """Open a listener for the stand-in meter's pushes, consumed by a Collector."""
    async with _listener(f"127.0.0.1:{meter.port}") as source:
        collector = Collector(source)
        yield source, collector
        await collector.stop()


class TestPushes:
    """Good datagrams from the peer become Readings, in order."""

    async def test_is_a_streaming_source(self) -> None:
        """Listen mode is a streaming source, not a polled one."""
        source = _listener("127.0.0.1")
        assert isinstance(source, StreamingSource)
        assert not isinstance(source, PolledSource)

    async def test_pushes_become_readings(
        self, meter: StandInMeter, pushed: tuple[UdpMeterListener, Collector]
    ) -> None:
        """Each pushed measurement is one Reading in base units."""
        source, collector = pushed
        events = []
        for second in range(1, 4):  # one a second, as the meter pushes: one Reading each
            meter.measurement = Measurement(second * 1_000_000, second * 100_000.0, 1500.0)
            meter.send_to(source.local_address)
            events.append(await collector.next())
        assert [_charge(e) for e in events] == [100.0, 200.0, 300.0]
        reading = events[0]
        assert isinstance(reading, Reading)
        assert reading.measures[Measure.INPUT_CURRENT] == 1.5
        assert reading.raw["timestamp"] == 1_000_000.0

    async def test_silence_yields_nothing(
        self, meter: StandInMeter, pushed: tuple[UdpMeterListener, Collector]
    ) -> None:
        """Without datagrams the stream yields nothing and ends not; the next push comes through."""
        source, collector = pushed
        assert await collector.quiet(0.3)
        meter.send_to(source.local_address)
        assert _charge(await collector.next()) == 304.0

    async def test_reboot_carries_the_counter_on(
        self, meter: StandInMeter, pushed: tuple[UdpMeterListener, Collector]
    ) -> None:
        """After the meter reboots, the exported charge adds the new count to the old."""
        source, collector = pushed
        charges = []
        for second, charge in [(100, 50_000.0), (101, 50_400.0), (1, 300.0), (2, 700.0)]:
            payload = encode_measurement(Measurement(second * 10**6, charge, 1.0))
            meter.send_to(source.local_address, payload)
            charges.append(_charge(await collector.next()))
        assert charges == [50.0, 50.4, 50.7, 51.1]
        assert source.counter.reboots == 1

    async def test_burst_is_coalesced(
        self, meter: StandInMeter, pushed: tuple[UdpMeterListener, Collector]
    ) -> None:
        """A burst is counted whole, but datagrams read together make one Reading, the newest."""
        source, collector = pushed
        for n in range(1, 201):
            timestamp = n if n <= 100 else n - 100  # a reboot halfway through the burst
            payload = encode_measurement(Measurement(timestamp, (n % 101) * 1000.0, float(n)))
            meter.send_to(source.local_address, payload)
        # 100 As before the reboot, then 0..99 As after it.
        charges: list[float] = []
        while not charges or charges[-1] < 199.0:
            charges.append(_charge(await collector.next()))
        assert charges[-1] == 199.0
        assert charges == sorted(charges)
        assert len(charges) < 200  # one Reading per batch the inbox read (typically 4)
        assert await collector.quiet(0.1)
        assert source.counter.reboots == 1

    async def test_burst_without_coalescing(
        self, meter: StandInMeter, pushed: tuple[UdpMeterListener, Collector]
    ) -> None:
        """With coalesce off, every datagram of a burst is a Reading, in order."""
        source, collector = pushed
        source.coalesce = False
        for n in range(1, 201):
            meter.send_to(source.local_address, encode_measurement(Measurement(n, n * 1000.0, 1.0)))
        events = await collector.take(200)
        assert [_charge(e) for e in events] == [float(n) for n in range(1, 201)]


class TestBadDatagrams:
    """Bad and foreign datagrams are DeviceFaults that leave the stream running."""

    async def test_stranger_from_another_port(
        self,
        meter: StandInMeter,
        pushed: tuple[UdpMeterListener, Collector],
        sender: Callable[[str], socket.socket],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """With peer host:port, a datagram from the peer's host but another port is foreign."""
        source, collector = pushed
        stranger = sender("127.0.0.1")
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                stranger.sendto(encode_measurement(SAMPLE), source.local_address[:2])
            faults = [_fault(e) for e in await collector.take(3)]
        assert all(isinstance(f, ForeignSenderError) for f in faults)
        assert faults[0].reason == "foreign_sender"
        port = stranger.getsockname()[1]
        assert f"a datagram from 127.0.0.1:{port}, not from the peer 127.0.0.1:{meter.port}" in str(
            faults[0]
        )
        warnings = [r for r in caplog.records if "dropping datagrams from" in r.getMessage()]
        assert len(warnings) == 1  # logged once per sender, counted every time
        meter.send_to(source.local_address)
        assert _charge(await collector.next()) == 304.0

    async def test_stranger_from_another_host(self, sender: Callable[[str], socket.socket]) -> None:
        """With peer as a bare host, any port of it is fine and other hosts are foreign."""
        async with _listener("127.0.0.1") as source:
            collector = Collector(source)
            sender("127.0.0.2").sendto(encode_measurement(SAMPLE), source.local_address[:2])
            assert isinstance(_fault(await collector.next()), ForeignSenderError)
            sender("127.0.0.1").sendto(encode_measurement(SAMPLE), source.local_address[:2])
            assert _charge(await collector.next()) == 304.0
            await collector.stop()

    async def test_bad_datagrams_are_counted_and_the_next_good_one_works(
        self,
        meter: StandInMeter,
        pushed: tuple[UdpMeterListener, Collector],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Truncated, garbage, NaN, negative, over-long: one fault each, then a Reading."""
        source, collector = pushed
        bad = [
            ("malformed", bytes.fromhex("08c0843d1100000000")),  # truncated in the double
            ("malformed", b"GARBAGE!"),
            ("unknown_field", encode_measurement(SAMPLE) + bytes.fromhex("2005")),
            ("not_finite", encode_measurement(Measurement(5, float("nan"), 1.0))),
            ("negative", encode_measurement(Measurement(5, 1.0, -3.0))),
            ("over_long", b"\x08\x01" * 700),
        ]
        with caplog.at_level(logging.INFO):
            for _, payload in bad:
                meter.send_to(source.local_address, payload)
            meter.send_to(source.local_address)
            events = await collector.take(len(bad) + 1)
        problems = []
        for event in events[:-1]:
            fault = _fault(event)
            assert isinstance(fault, MeasurementError)
            assert fault.reason == "decode"
            problems.append(fault.problem)
        assert problems == [problem for problem, _ in bad]
        assert _charge(events[-1]) == 304.0
        messages = [r.getMessage() for r in caplog.records]
        assert sum("dropping bad datagrams" in m for m in messages) == 1  # a transition
        assert sum("good datagrams again" in m for m in messages) == 1

    async def test_empty_datagram(self, sender: Callable[[str], socket.socket]) -> None:
        """An empty datagram from the peer is a fault, not a measurement of zeros."""
        raw = sender("127.0.0.1")
        async with _listener(f"127.0.0.1:{raw.getsockname()[1]}") as source:
            collector = Collector(source)
            raw.sendto(b"", source.local_address[:2])
            fault = _fault(await collector.next())
            assert isinstance(fault, MeasurementError)
            assert fault.problem == "empty"
            await collector.stop()


class TestSubscription:
    """With subscribe, the listener asks the meter for pushes, and asks again after silence."""

    async def test_subscribes_and_resubscribes_after_a_reboot(self, meter: StandInMeter) -> None:
        """The meter gets channel 2; rebooted, it forgets us, and silence makes us ask again."""
        peer = f"127.0.0.1:{meter.port}"
        async with _listener(peer, subscribe=2, interval="200ms") as source:
            collector = Collector(source)
            async with asyncio.timeout(2):
                await meter.subscribed.wait()
            assert meter.received[0] == (b"2\x00", source.local_address)
            assert meter.subscribers == {source.local_address: 2}
            meter.measurement = Measurement(50_000_000, 40_000.0, 100.0)
            assert meter.push() == 1
            assert _charge(await collector.next()) == 40.0

            meter.reboot(Measurement(1_000_000, 1_000.0, 100.0))
            assert meter.push() == 0  # nobody subscribed: silence
            async with asyncio.timeout(2):
                await meter.subscribed.wait()
            meter.push()
            assert _charge(await collector.next()) == 41.0
            await collector.stop()

    async def test_no_resubscribe_while_data_flows(self, meter: StandInMeter) -> None:
        """Pushes arriving within interval mean no second subscription."""
        peer = f"127.0.0.1:{meter.port}"
        async with _listener(peer, subscribe=3, interval="300ms") as source:
            collector = Collector(source)
            async with asyncio.timeout(2):
                await meter.subscribed.wait()
            for n in range(1, 6):
                meter.measurement = Measurement(n * 1_000_000, n * 1000.0, 1.0)
                meter.push()
                await collector.next()
                await asyncio.sleep(0.1)
            assert [data for data, _ in meter.received] == [b"3\x00"]
            await collector.stop()


async def test_bind_failure_is_a_connect_error(sender: Callable[[str], socket.socket]) -> None:
    """A listen address in use is a ConnectError naming it."""
    taken = sender("127.0.0.1")
    port = taken.getsockname()[1]
    cfg = UdpMeterConfig.model_validate(
        {"name": "m", "source": "udp_meter", "listen": f"127.0.0.1:{port}", "peer": "127.0.0.1"}
    )
    source = KIND.open(cfg)
    with pytest.raises(ConnectError, match=f"cannot listen on 127.0.0.1:{port}"):
        await source.__aenter__()


class TestPoisoning:
    """Datagrams that would move the charge counter further than the meter could count."""

    async def test_forged_jumps_are_refused_and_change_nothing(
        self, meter: StandInMeter, pushed: tuple[UdpMeterListener, Collector]
    ) -> None:
        """Two jumps of 10^15 As and four of 1.7e308 mAs: faults; the counter goes on as it was."""
        source, collector = pushed
        meter.send_to(source.local_address)
        assert _charge(await collector.next()) == 304.0
        poison = [
            Measurement(2_000_000, 304_000.0 + 1e18, 1600.0),
            Measurement(3_000_000, 304_000.0 + 2e18, 1600.0),
            *(Measurement(4_000_000 + n, 1.7e308, 1600.0) for n in range(4)),
        ]
        for measurement in poison:
            meter.send_to(source.local_address, encode_measurement(measurement))
        faults = [_fault(event) for event in await collector.take(len(poison))]
        assert {fault.reason for fault in faults} == {"implausible"}
        assert "max_current (20 A)" in str(faults[0])
        assert source.counter.rejected == len(poison)
        # The next real datagram is measured against the last good one: 1 As more.
        meter.measurement = Measurement(5_000_000, 305_000.0, 1600.0)
        meter.send_to(source.local_address)
        assert _charge(await collector.next()) == 305.0
        assert source.counter.reboots == 0

    async def test_max_current_is_configurable(self, meter: StandInMeter) -> None:
        """With max_current 0.5 A, a step of 40 As within a second is refused."""
        async with _listener(f"127.0.0.1:{meter.port}", max_current=0.5) as source:
            collector = Collector(source)
            meter.send_to(source.local_address)  # the first count: 304 As after 1 s of uptime
            assert _charge(await collector.next()) == 304.0
            meter.measurement = Measurement(2_000_000, 344_000.0, 400.0)
            meter.send_to(source.local_address)
            assert _fault(await collector.next()).reason == "implausible"
            await collector.stop()

    async def test_peer_without_port_is_hinted_once(self, caplog: pytest.LogCaptureFixture) -> None:
        """A peer given as a host only: one hint that any port of it is taken."""
        source = _listener("127.0.0.1")
        with caplog.at_level(logging.INFO):
            for _ in range(2):  # reconnecting keeps the same source: still one hint
                async with source:
                    pass
        hints = [r for r in caplog.records if "has no port" in r.getMessage()]
        assert len(hints) == 1
