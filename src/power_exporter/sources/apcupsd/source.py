"""The ``apcupsd`` source: one UPS read from apcupsd's NIS, status and events in one round trip.

An apcupsd serves the one UPS it watches, so an entry is one device. A reply apcupsd gives
for a UPS it has lost (COMMLOST) is a DeviceFault of that device (reason ``stale``); a
server that cannot be reached or answers nonsense fails the read (the runtime backs off).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Final, Self

from power_exporter.errors import ConnectError, SourceError
from power_exporter.model import DeviceFault, Event
from power_exporter.sources.apcupsd.client import ApcupsdClient
from power_exporter.sources.apcupsd.config import ApcupsdConfig, parse_server
from power_exporter.sources.apcupsd.protocol import DEFAULT_PORT, parse_events, parse_status
from power_exporter.sources.apcupsd.table import apcupsd_reading

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from power_exporter.sources.base import DeviceConfig

log = logging.getLogger(__name__)

# Part of the device's timeout the client may use, the rest left to the runtime's own.
_BUDGET_SHARE: Final = 0.8
POLL: Final = ("status", "events")
DISCOVER_BUDGET: Final = 3.0


class ProblemLog:
    """Logs the values dropped for a device when that set changes, not every poll."""

    def __init__(self) -> None:
        self._last: tuple[str, ...] = ()

    def note(self, device: str, problems: list[str]) -> None:
        """Log this poll's problems if they differ from the last poll's."""
        current = tuple(sorted(problems))
        if current == self._last:
            return
        self._last = current
        if current:
            log.warning("%s: dropped implausible values: %s", device, "; ".join(current))
        else:
            log.info("%s: values plausible again", device)


class ApcupsdSource:
    """A polled source reading the UPS of one apcupsd."""

    def __init__(self, cfg: ApcupsdConfig) -> None:
        self.cfg = cfg
        self._budget = cfg.timeout * _BUDGET_SHARE
        self._client: ApcupsdClient | None = None
        self._problems = ProblemLog()

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise RuntimeError("ApcupsdSource is not reentrant")
        host, port = self.cfg.host_port
        self._client = ApcupsdClient(host, port, timeout=self._budget)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def client(self) -> ApcupsdClient:
        """The kept-alive connection (only inside ``async with``)."""
        if self._client is None:
            raise RuntimeError("use ApcupsdSource inside 'async with'")
        return self._client

    async def read(self) -> Sequence[Event]:
        """One poll: the UPS's Reading, or its DeviceFault when apcupsd has lost it."""
        status_frames, event_frames = await self.client.query(POLL)
        status = parse_status(status_frames)
        events = parse_events(event_frames)
        try:
            reading, problems = apcupsd_reading(self.cfg.name, status, events, time.time())
        except SourceError as exc:
            return [DeviceFault(self.cfg.name, exc)]
        self._problems.note(self.cfg.name, problems)
        return [reading]


def open_source(cfg: DeviceConfig) -> ApcupsdSource:
    """Open an ApcupsdSource (the registry's ``open``) for an ApcupsdConfig."""
    if not isinstance(cfg, ApcupsdConfig):
        raise TypeError(f"the apcupsd kind needs an ApcupsdConfig, not {type(cfg).__name__}")
    return ApcupsdSource(cfg)


async def discover(where: str | None) -> list[dict[str, object]]:
    """``power-exporter discover [host[:port]]``: the UPS of the apcupsd there (default local)."""
    server = where or f"localhost:{DEFAULT_PORT}"
    try:
        host, port = parse_server(server)
    except ValueError as exc:  # WHERE may be meant for another kind (a USB path...)
        raise ConnectError(f"not an apcupsd address: {exc}") from None
    async with ApcupsdClient(host, port, timeout=DISCOVER_BUDGET) as client:
        (frames,) = await client.query(("status",))
    status = parse_status(frames)
    name = status.get("UPSNAME") or host
    return [
        {"name": name.replace("/", "_").replace(" ", "_"), "source": "apcupsd", "server": server}
    ]
