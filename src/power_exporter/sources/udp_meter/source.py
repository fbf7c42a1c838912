"""UDP power meter sources: a poller (``mode: poll``) and a listener (``mode: listen``).

The poller is a polled source: each ``read()`` sends ``DATA_REQUEST`` from a connected
socket (the kernel drops datagrams from anyone but the meter) and waits up to ``timeout``
for the answer. Failures are raised: ConnectError (refused: the responder is not there),
DeviceTimeoutError (silence), MeasurementError (a DecodeError: a bad answer), StaleError (the
responder keeps answering a measurement that has not moved for ``stale_after``).

The listener is a streaming source: it binds ``listen`` and yields Readings of the good
datagrams from ``peer`` (the newest of those read together, see ``stream()``). Bad datagrams
do not end the stream: each one is yielded as a ``DeviceFault(device, error)`` whose error
says why (``MeasurementError`` for a datagram
from the peer that does not decode, ``ForeignSenderError`` for a datagram from anyone
else), for the runtime to count under ``read_errors_total{reason}``. Silence yields nothing;
the runtime judges staleness by the time of the last Reading. Only socket failures end the
stream (ConnectError).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, ClassVar, Final, Self

from power_exporter.errors import ConnectError, DeviceTimeoutError, SourceError, StaleError
from power_exporter.model import DeviceFault, DeviceIdentity, Measure, Reading
from power_exporter.sources.udp_meter.config import KIND, HostPort, UdpMeterConfig
from power_exporter.sources.udp_meter.counter import ChargeCounter, ImplausibleChargeError
from power_exporter.sources.udp_meter.inbox import Address, Inbox
from power_exporter.sources.udp_meter.protocol import (
    Measurement,
    MeasurementError,
    decode_measurement,
    encode_data_request,
    encode_subscription,
)

if TYPE_CHECKING:
    from collections import deque
    from collections.abc import AsyncIterator, Sequence
    from types import TracebackType

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig

_log = logging.getLogger(__name__)

# Senders whose first datagram was logged; past this many, strangers are only counted.
_MAX_LOGGED_STRANGERS: Final = 32


class ForeignSenderError(SourceError):
    """A datagram came from an address other than the configured peer."""

    reason: ClassVar[str] = "foreign_sender"


async def _resolve(endpoint: HostPort, *, passive: bool = False) -> list[tuple[int, Address]]:
    """Resolve a host:port to socket addresses, mapping resolver errors to ConnectError."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            endpoint.host,
            endpoint.port or 0,
            type=socket.SOCK_DGRAM,
            flags=socket.AI_PASSIVE if passive else 0,
        )
    except OSError as exc:
        raise ConnectError(f"cannot resolve {endpoint.host!r}: {exc}") from exc
    found: list[tuple[int, Address]] = [
        (family, address) for family, _, _, _, address in infos if isinstance(address[0], str)
    ]
    if not found:
        raise ConnectError(f"no IP address for {endpoint.host!r}")
    return found


def _socket(family: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)  # noqa: FBT003 (the stdlib's positional flag)
    return sock


class _MeterSource:
    """What both modes share: the device identity, the charge counter, the Reading."""

    def __init__(self, cfg: UdpMeterConfig) -> None:
        self._cfg = cfg
        self._identity = DeviceIdentity(name=cfg.name, source=KIND)
        # Kept over re-entries, so a reconnect does not look like a counter reset.
        self._counter = ChargeCounter(max_current_ma=cfg.max_current * 1000.0)
        self._inbox: Inbox | None = None

    @property
    def counter(self) -> ChargeCounter:
        """The reboot-proof charge counter of this meter."""
        return self._counter

    @property
    def local_address(self) -> Address:
        """The address the socket is bound to (to learn an ephemeral port)."""
        return self._require_inbox().local_address

    def _require_inbox(self) -> Inbox:
        if self._inbox is None:
            raise RuntimeError(f"{type(self).__name__} is used outside `async with`")
        return self._inbox

    def _adopt(self, inbox: Inbox) -> None:
        if self._inbox is not None:
            inbox.close()
            raise RuntimeError(f"{type(self).__name__} is already open (it is not nestable)")
        self._inbox = inbox

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._inbox is not None:
            self._inbox.close()
            self._inbox = None

    def _count(self, measurement: Measurement, now: float) -> None:
        """Advance the charge counter, noting a reboot (ImplausibleChargeError: unchanged)."""
        counter = self._counter
        if counter.update(measurement, now):
            _log.info(
                "%s: the meter rebooted (%d so far); its charge counter carries on from %.3f As",
                self._cfg.name,
                counter.reboots,
                counter.offset_mas / 1000.0,
            )

    def _reading(self, measurement: Measurement) -> Reading:
        """Make the Reading of the measurement the counter last took."""
        counter = self._counter
        return Reading(
            identity=self._identity,
            taken_at=time.time(),
            measures={
                Measure.CHARGE_COULOMBS: counter.total_mas / 1000.0,
                Measure.INPUT_CURRENT: measurement.current_ma / 1000.0,
            },
            raw={
                "timestamp": float(measurement.timestamp_us),
                "energy_consumption": measurement.charge_mas,
                "current": measurement.current_ma,
            },
        )


class UdpMeterPoller(_MeterSource):
    """``mode: poll``: ask the meter's responder for its latest measurement."""

    def __init__(self, cfg: UdpMeterConfig) -> None:
        super().__init__(cfg)
        if cfg.address is None:
            raise ValueError("a poller needs an address")
        self._address: HostPort = cfg.address
        self._moved_at = 0.0  # monotonic time the meter's timestamp last moved

    async def __aenter__(self) -> Self:
        (family, sockaddr), *_ = await _resolve(self._address)
        sock = _socket(family)
        try:
            # A connected UDP socket: the kernel drops datagrams from other senders, and an
            # ICMP "port unreachable" surfaces as ConnectionRefusedError.
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            raise ConnectError(f"cannot reach {self._address}: {exc}") from exc
        self._adopt(Inbox(sock))
        return self

    async def read(self) -> Sequence[Event]:
        """Send DATA_REQUEST and return the Reading of the answer."""
        inbox = self._require_inbox()
        late = inbox.discard()  # answers to earlier requests that came after their timeout
        if late:
            _log.debug("%s: dropped %d late answers", self._cfg.name, late)
        try:
            inbox.send(encode_data_request())
            async with asyncio.timeout(self._cfg.timeout):
                data, _ = await inbox.next()
        except TimeoutError:
            raise DeviceTimeoutError(
                f"no answer from {self._address} within {self._cfg.timeout:g}s"
            ) from None
        except OSError as exc:
            raise ConnectError(f"{self._address}: {exc}") from exc
        measurement = decode_measurement(data)
        self._check_moving(measurement)
        self._count(measurement, time.monotonic())
        return [self._reading(measurement)]

    def _check_moving(self, measurement: Measurement) -> None:
        """Refuse a measurement the responder has been repeating for longer than stale_after.

        The responder answers with the latest measurement it got from the meter, even when
        the meter has long stopped sending.
        """
        now = time.monotonic()
        last = self._counter.last
        if last is None or measurement.timestamp_us != last.timestamp_us:
            self._moved_at = now
        elif now - self._moved_at > self._cfg.stale_after:
            raise StaleError(
                f"the meter's timestamp has not moved for {now - self._moved_at:.0f}s"
                f" (stale_after {self._cfg.stale_after:g}s)"
            )


class UdpMeterListener(_MeterSource):
    """``mode: listen``: take the datagrams the meter pushes, from ``peer`` only."""

    def __init__(self, cfg: UdpMeterConfig) -> None:
        super().__init__(cfg)
        if cfg.listen is None or cfg.peer is None:
            raise ValueError("a listener needs listen and peer")
        self._listen: HostPort = cfg.listen
        self._peer: HostPort = cfg.peer
        self._peer_hosts: frozenset[str] = frozenset()
        self._peer_address: Address | None = None
        self._strangers: set[str] = set()
        self._failing = False  # a bad datagram came after the last good one
        self._hinted = False  # the hint about a peer without a port was logged
        # One Reading per batch of good datagrams read together (see stream()); False makes
        # one per datagram (the benchmark measures both).
        self.coalesce = True
        self.datagrams = 0
        """Datagrams taken off the socket so far, good, bad and foreign."""

    async def __aenter__(self) -> Self:
        family, sockaddr = (await _resolve(self._listen, passive=True))[0]
        peers = await _resolve(self._peer)
        # Accept the peer's addresses as a socket of this family reports them (IPv4 peers
        # appear IPv4-mapped on a dual-stack IPv6 socket).
        hosts = {str(address[0]) for _, address in peers}
        hosts |= {f"::ffff:{host}" for host in hosts if "." in host}
        self._peer_hosts = frozenset(hosts)
        same_family = [address for fam, address in peers if fam == family]
        self._peer_address = (same_family or [peers[0][1]])[0] if self._peer.port else None
        sock = _socket(family)
        try:
            sock.bind(sockaddr)
        except OSError as exc:
            sock.close()
            raise ConnectError(f"cannot listen on {self._listen}: {exc}") from exc
        self._adopt(Inbox(sock))
        if self._peer.port is None and not self._hinted:
            self._hinted = True
            _log.info(
                "%s: peer %s has no port, so datagrams from any port of it are taken;"
                " give the meter's port (peer: host:port) to take only its own",
                self._cfg.name,
                self._peer,
            )
        return self

    async def stream(self) -> AsyncIterator[Event]:
        """Yield Readings of good datagrams and a DeviceFault per bad or foreign one.

        Every datagram is checked and counted. Of the good datagrams that were waiting
        together, only the newest becomes a Reading (when ``coalesce``, the default): the
        older ones are superseded before anyone could scrape them, and their charge is in
        the counter all the same. At the meter's one datagram a second that is one Reading
        per datagram; under a flood it spares the runtime a Reading, a store update and a
        render per datagram.
        """
        inbox = self._require_inbox()
        subscribe = self._cfg.subscribe
        if subscribe is not None:
            self._subscribe(inbox, subscribe)
        while True:
            # The datagrams waiting now, not those that come while we yield: a flood cannot
            # hold the Reading back.
            for event in self._drain(inbox.items, len(inbox.items)):
                yield event
            if inbox.items:
                continue
            try:
                if subscribe is None:
                    await inbox.wait()
                else:
                    async with asyncio.timeout(self._cfg.interval):
                        await inbox.wait()
            except TimeoutError:
                # A rebooted meter forgets its subscribers: silence means ask again.
                self._subscribe(inbox, subscribe or 0)
            except OSError as exc:
                raise ConnectError(f"listening on {self._listen}: {exc}") from exc

    def _drain(self, items: deque[tuple[bytes, Address]], count: int) -> list[Event]:
        """Check and count ``count`` datagrams; give their faults and Reading(s) in order."""
        events: list[Event] = []
        name = self._cfg.name
        hosts, port = self._peer_hosts, self._peer.port
        latest: Measurement | None = None
        self.datagrams += count
        now = time.monotonic()
        for _ in range(count):
            data, address = items.popleft()
            if address[0] not in hosts or (port is not None and address[1] != port):
                events.append(DeviceFault(name, self._stranger(address)))
                continue
            try:
                measurement = decode_measurement(data)
                self._count(measurement, now)
            except (MeasurementError, ImplausibleChargeError) as exc:
                self._note_failure(exc)
                events.append(DeviceFault(name, exc))
                continue
            if self._failing:
                self._failing = False
                _log.info("%s: good datagrams again", name)
            if self.coalesce:
                latest = measurement
            else:
                events.append(self._reading(measurement))
        if latest is not None:
            events.append(self._reading(latest))
        return events

    def _subscribe(self, inbox: Inbox, channel: int) -> None:
        if self._peer_address is None:
            return
        try:
            inbox.send(encode_subscription(channel), self._peer_address)
        except OSError as exc:
            raise ConnectError(f"cannot subscribe at {self._peer}: {exc}") from exc

    def _stranger(self, address: Address) -> ForeignSenderError:
        sender = f"{address[0]}:{address[1]}"
        if sender not in self._strangers and len(self._strangers) < _MAX_LOGGED_STRANGERS:
            self._strangers.add(sender)
            _log.warning(
                "%s: dropping datagrams from %s (only %s may send)",
                self._cfg.name,
                sender,
                self._peer,
            )
        return ForeignSenderError(f"a datagram from {sender}, not from the peer {self._peer}")

    def _note_failure(self, exc: MeasurementError | ImplausibleChargeError) -> None:
        if not self._failing:
            self._failing = True
            _log.warning("%s: dropping bad datagrams from the meter: %s", self._cfg.name, exc)


def open_source(cfg: DeviceConfig) -> UdpMeterPoller | UdpMeterListener:
    """Make the source of one configured meter (enter it with ``async with``)."""
    if not isinstance(cfg, UdpMeterConfig):
        raise TypeError(f"expected a UdpMeterConfig, got {type(cfg).__name__}")
    return UdpMeterPoller(cfg) if cfg.mode == "poll" else UdpMeterListener(cfg)
