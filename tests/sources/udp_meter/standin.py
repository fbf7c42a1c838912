"""A stand-in UDP power meter on loopback that speaks the meter's protocol.

It plays both parts the real set-up has: the responder, which answers any datagram (the
poller's ``DATA_REQUEST``) with its latest measurement, and the meter itself, which takes a
subscription (the channel in ASCII and a NUL) and then pushes measurements to its
subscribers. It is built on asyncio's own datagram endpoint, not on the code under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Any, cast

from power_exporter.sources.udp_meter.protocol import (
    Measurement,
    encode_measurement,
    encode_subscription,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from power_exporter.model import Event
    from power_exporter.sources.udp_meter.source import UdpMeterListener

SUBSCRIPTIONS = {encode_subscription(channel): channel for channel in range(1, 7)}
SAMPLE = Measurement(timestamp_us=1_000_000, charge_mas=304_000.0, current_ma=1600.0)


class StandInMeter(asyncio.DatagramProtocol):
    """A meter and its responder on one UDP socket."""

    def __init__(self, measurement: Measurement) -> None:
        self.measurement = measurement
        self.answer: bytes | None = None  # sent instead of the measurement when set
        self.silent = False
        self.delay = 0.0
        self.received: list[tuple[bytes, Any]] = []
        self.subscribers: dict[Any, int] = {}
        self.subscribed = asyncio.Event()
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        # asyncio's selector datagram transport does not subclass DatagramTransport (3.11).
        self._transport = cast("asyncio.DatagramTransport", transport)

    @property
    def transport(self) -> asyncio.DatagramTransport:
        """The meter's socket."""
        assert self._transport is not None
        return self._transport

    @property
    def port(self) -> int:
        """The meter's UDP port."""
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Take a subscription, or answer with the latest measurement (unless silent)."""
        self.received.append((data, addr))
        if data in SUBSCRIPTIONS:
            self.subscribers[addr] = SUBSCRIPTIONS[data]
            self.subscribed.set()
            return
        if self.silent:
            return
        payload = self.payload()
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self._send, payload, addr)
        else:
            self._send(payload, addr)

    def _send(self, payload: bytes, addr: Any) -> None:
        if not self.transport.is_closing():
            self.transport.sendto(payload, addr)

    def payload(self) -> bytes:
        """Give the bytes the meter sends now."""
        return self.answer if self.answer is not None else encode_measurement(self.measurement)

    def push(self, payload: bytes | None = None) -> int:
        """Send a measurement (or the given bytes) to every subscriber; say to how many."""
        for addr in self.subscribers:
            self._send(self.payload() if payload is None else payload, addr)
        return len(self.subscribers)

    def send_to(self, address: Any, payload: bytes | None = None) -> None:
        """Push to an address that did not subscribe (a meter configured to push there)."""
        self._send(self.payload() if payload is None else payload, address)

    def reboot(self, measurement: Measurement) -> None:
        """Start again: a new since-boot measurement and no subscribers."""
        self.measurement = measurement
        self.subscribers.clear()
        self.subscribed.clear()

    def close(self) -> None:
        """Stop the meter."""
        self.transport.close()


async def start_meter(host: str = "127.0.0.1", measurement: Measurement = SAMPLE) -> StandInMeter:
    """Start a stand-in meter on ``host`` port 0."""
    loop = asyncio.get_running_loop()
    _, meter = await loop.create_datagram_endpoint(
        lambda: StandInMeter(measurement), local_addr=(host, 0), family=socket.AF_INET
    )
    return meter


class Collector:
    """Consumes a listener's stream in a task, so that a test can wait for events or for none."""

    def __init__(self, source: UdpMeterListener) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.error: BaseException | None = None
        self._task = asyncio.create_task(self._run(source.stream()))

    async def _run(self, stream: AsyncIterator[Event]) -> None:
        try:
            async for event in stream:
                self.events.put_nowait(event)
        except Exception as exc:  # noqa: BLE001 (the test inspects it)
            self.error = exc

    async def next(self) -> Event:
        """Wait (up to two seconds) for the next event."""
        async with asyncio.timeout(2.0):
            return await self.events.get()

    async def take(self, count: int) -> list[Event]:
        """Wait for the next ``count`` events."""
        return [await self.next() for _ in range(count)]

    async def quiet(self, seconds: float) -> bool:
        """Say whether no event came for ``seconds``."""
        await asyncio.sleep(seconds)
        return self.events.empty() and self.error is None and not self._task.done()

    async def stop(self) -> None:
        """Stop consuming."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
