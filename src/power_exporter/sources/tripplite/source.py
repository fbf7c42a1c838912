"""The ``tripplite`` source: TrippLite UPSes on local USB HID, polled.

Each poll enumerates vendor 09ae (cheap: udev and sysfs), matches what it finds to the
UPSes it knows (by serial, else by path; see :mod:`.config` for the names), and reads
every present UPS at once, each in a worker thread under that UPS's own lock, so that
hidapi's blocking calls never run on the event loop nor twice at a time on one device.
The lock is a thread lock, held by the worker: a read the runtime gave up on still
finishes before the next one starts.

Faults are per UPS: an ``OSError`` (hidapi's "read error", a cable pulled mid-read, no
data after the retries) closes the device and the next poll reopens it, as the seed did; a
UPS no longer on the bus is a ``ConnectError``. A reply that does not decode (short, or for
another report) loses that report only: the reading keeps the others and counts the
missing ones (``tripplite_missing_reports_total``); only when no report decodes is it a
``DecodeError``, and the device stays open. When a UPS comes back, its readings do, with
no restart. Only "no TrippLite at all, and none seen before" fails the whole source.

With ``path: auto`` each poll also sends a :class:`~power_exporter.model.Roster` of the
UPSes listed; one missing from the bus is down, then, after ``retire_after``, forgotten
here as the runtime retires it. Units of a refused product id (serial over USB) are
never opened: the reason is logged once, naming the driver that reads them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Self

from power_exporter.errors import ConnectError, DecodeError, SourceError
from power_exporter.model import (
    DeviceFault,
    DeviceIdentity,
    Measure,
    Reading,
    Roster,
    implausibility,
)
from power_exporter.sources.tripplite.config import AUTO, TrippliteConfig
from power_exporter.sources.tripplite.identity import (
    key_name,
    keyed,
    protocol_note,
    refused,
    same_node,
    sub_name,
    unique_by_path,
)
from power_exporter.sources.tripplite.naming import HOSTNAME_LABEL, MISSING_REPORTS
from power_exporter.sources.tripplite.products import GENERIC, Product, product, usable_serial
from power_exporter.sources.tripplite.reports import (
    State,
    measures_of,
    raw_values,
    read_partial,
)
from power_exporter.sources.tripplite.status import flags_of
from power_exporter.sources.tripplite.table import DEVICE_ID, KNOWN_FLAGS, MEASURES
from power_exporter.sources.tripplite.transport import (
    TRIPPLITE_VENDOR_ID,
    DeviceInfo,
    HidapiTransport,
    HidHandle,
    HidTransport,
    HidUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig

log = logging.getLogger(__name__)

VENDOR: Final = "Tripp Lite"

# The names the seed's API and the command line import from here.
__all__ = [
    "TrippliteSource",
    "keyed",
    "open_source",
    "other_protocol_note",
    "same_node",
    "sub_name",
    "unique_by_path",
]
other_protocol_note = protocol_note


@dataclass(eq=False)
class _Ups:
    """One UPS this source reads, and its open handle."""

    name: str
    path: str
    info: DeviceInfo | None = None
    handle: HidHandle | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    dropped: frozenset[Measure] = frozenset()
    missing: frozenset[str] = frozenset()  # reports the last poll could not decode
    gone_since: float | None = None  # monotonic time it left the bus

    @property
    def product(self) -> Product:
        """What its product id changes (generic while enumeration has not listed it)."""
        return product(self.info.product_id) if self.info is not None else GENERIC


class TrippliteSource:
    """A polled source of one ``tripplite`` config entry."""

    def __init__(
        self,
        cfg: TrippliteConfig,
        transport: HidTransport | None = None,
        *,
        hostname: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._transport: HidTransport = transport or HidapiTransport()
        self._hostname = hostname
        self._units: dict[str, _Ups] = {}
        self._warned: set[str] = set()
        # Values dropped as invalid, per device (logged when a measure starts or stops).
        self.dropped_values: Counter[str] = Counter()
        # Reports that did not decode, per device (exported as a counter).
        self.missing_reports: Counter[str] = Counter()

    async def __aenter__(self) -> Self:
        if self._hostname is None:
            self._hostname = await asyncio.to_thread(socket.getfqdn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        units = list(self._units.values())
        self._units.clear()
        await asyncio.gather(*(asyncio.to_thread(self._close, ups) for ups in units))

    # -- blocking work, in worker threads --------------------------------------------------

    def _close(self, ups: _Ups) -> None:
        with ups.lock:
            self._close_locked(ups)

    @staticmethod
    def _close_locked(ups: _Ups) -> None:
        handle, ups.handle = ups.handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError as exc:
                log.debug("%s: closing %s: %s", ups.name, ups.path, exc)

    def _poll(self, ups: _Ups) -> tuple[State, list[DecodeError]]:
        note = protocol_note(ups.info)
        refusal = ups.product.refusal
        if refusal and ups.info is not None:
            raise ConnectError(f"{ups.path}: {ups.info.usb_id} {refusal}")
        with ups.lock:
            if ups.handle is None:
                try:
                    ups.handle = self._transport.open(ups.path)
                except OSError as exc:
                    raise ConnectError(f"cannot open {ups.path}: {exc}{note}") from exc
            try:
                state, missing = read_partial(ups.handle, ups.path)
            except OSError as exc:
                self._close_locked(ups)
                raise ConnectError(f"{ups.path}: {exc}{note}; closed, to reopen") from exc
        if len(state) == 1:  # nothing but the device id: no report decoded
            raise DecodeError(f"{ups.path}: no report decoded; first: {missing[0]}{note}")
        return state, missing

    def _enumerate(self) -> list[DeviceInfo]:
        try:
            return self._transport.enumerate(TRIPPLITE_VENDOR_ID)
        except HidUnavailableError:
            raise
        except OSError as exc:
            raise ConnectError(f"cannot list USB HID devices: {exc}") from exc

    # -- one poll ----------------------------------------------------------------------------

    async def read(self) -> Sequence[Event]:
        """Read every UPS of this entry once."""
        try:
            infos = await asyncio.to_thread(self._enumerate)
        except HidUnavailableError:
            raise
        except ConnectError as exc:
            if self.cfg.path == AUTO:
                raise
            log.debug("%s: %s; opening %s anyway", self.cfg.name, exc, self.cfg.path)
            infos = []
        roster: list[Event] = []
        if self.cfg.fan_out:
            present, missing = await self._match_all(infos)
            roster.append(Roster(self.cfg.name, frozenset(ups.name for ups in present)))
        else:
            present, missing = await self._match_one(infos)
        results = await asyncio.gather(*(self._read_one(ups) for ups in present))
        faults = [
            DeviceFault(ups.name, ConnectError(f"{ups.path}: not on the USB bus (unplugged?)"))
            for ups in missing
        ]
        return [*roster, *results, *faults]

    def _warn_refused(self, infos: Sequence[DeviceInfo]) -> list[str]:
        """Log each refused unit once; their reasons, for an entry that found nothing else."""
        reasons: list[str] = []
        for info in refused(infos):
            reason = f"{info.path} ({info.usb_id}) {product(info.product_id).refusal}"
            reasons.append(reason)
            key = f"refused:{usable_serial(info.serial) or info.usb_port or info.path}"
            if key not in self._warned:
                self._warned.add(key)
                log.warning("%s: %s", self.cfg.name, reason)
        return reasons

    async def _match_all(self, infos: Sequence[DeviceInfo]) -> tuple[list[_Ups], list[_Ups]]:
        found = keyed(infos)
        reasons = self._warn_refused(infos)
        if not found and not self._units:
            why = "; ".join(reasons) or (f"no HID device of USB vendor {TRIPPLITE_VENDOR_ID:04x}")
            raise ConnectError(f"no TrippLite UPS found ({why})")
        present = [await self._place(key, info) for key, info in found.items()]
        missing = [ups for key, ups in self._units.items() if key not in found]
        await asyncio.gather(*(asyncio.to_thread(self._close, ups) for ups in missing))
        return present, self._still_known(missing)

    def _still_known(self, missing: list[_Ups]) -> list[_Ups]:
        """The missing UPSes not yet gone for ``retire_after`` (the others are forgotten)."""
        now = self._clock()
        kept: list[_Ups] = []
        for ups in missing:
            if ups.gone_since is None:
                ups.gone_since = now
            if now - ups.gone_since <= self.cfg.retire_after:
                kept.append(ups)
                continue
            for key in [k for k, unit in self._units.items() if unit is ups]:
                del self._units[key]
            log.info("%s: forgotten, off the USB bus for %g s", ups.name, self.cfg.retire_after)
        return kept

    async def _match_one(self, infos: Sequence[DeviceInfo]) -> tuple[list[_Ups], list[_Ups]]:
        name = self.cfg.name
        if self.cfg.serial is not None:
            match = next(
                (i for i in unique_by_path(infos) if i.serial.strip() == self.cfg.serial), None
            )
            if match is None:
                ups = self._units.setdefault(name, _Ups(name, f"serial {self.cfg.serial}"))
                await asyncio.to_thread(self._close, ups)
                return [], [ups]
            return [await self._place(name, match)], []
        match = await asyncio.to_thread(same_node, infos, self.cfg.path)
        if match is None and self.cfg.path not in self._warned:
            self._warned.add(self.cfg.path)
            log.warning(
                "%s: %s is not listed as a TrippLite HID device (USB vendor %04x); reading it"
                " anyway",
                name,
                self.cfg.path,
                TRIPPLITE_VENDOR_ID,
            )
        ups = self._units.setdefault(name, _Ups(name, self.cfg.path))
        ups.info = match
        return [ups], []

    async def _place(self, key: str, info: DeviceInfo) -> _Ups:
        """The UPS known by ``key``, now at ``info.path`` (reopened there if it moved)."""
        ups = self._units.get(key)
        if ups is None:
            name = self.cfg.name
            if self.cfg.fan_out:
                name += "/" + key_name(key)
            ups = self._units[key] = _Ups(name, info.path)
            log.info("%s: found %s %s at %s", name, info.usb_id, info.product or "?", info.path)
        elif ups.path != info.path:
            log.info("%s: now at %s (was %s)", ups.name, info.path, ups.path)
            await asyncio.to_thread(self._close, ups)
            ups.path = info.path
        ups.info = info
        ups.gone_since = None
        note = product(info.product_id).note
        if note and key not in self._warned:
            self._warned.add(key)
            log.warning(
                "%s: %s (%s) %s (numat/tripplite#3); trying anyway",
                ups.name,
                info.usb_id,
                info.product or "unnamed product",
                note,
            )
        refusal = product(info.product_id).refusal
        if refusal and f"refused:{key}" not in self._warned:
            self._warned.add(f"refused:{key}")
            log.warning("%s: %s (%s) %s", ups.name, info.path, info.usb_id, refusal)
        return ups

    async def _read_one(self, ups: _Ups) -> Event:
        try:
            state, missing = await asyncio.to_thread(self._poll, ups)
        except SourceError as exc:
            return DeviceFault(ups.name, exc)
        return self._reading(ups, state, missing)

    def _reading(self, ups: _Ups, state: State, missing: list[DecodeError]) -> Reading:
        raw = raw_values(state)
        measures, problems = measures_of(raw, ups.product.divisors)
        self._note_dropped(ups, raw, measures, problems)
        self._note_missing(ups, missing)
        raw[MISSING_REPORTS] = float(self.missing_reports[ups.name])
        info = ups.info
        identity = DeviceIdentity(
            name=ups.name,
            source="tripplite",
            vendor=(info.manufacturer or VENDOR) if info is not None else "",
            model=info.product if info is not None else "",
            serial=usable_serial(info.serial) if info is not None else "",
            labels={HOSTNAME_LABEL: self._hostname or ""},
        )
        return Reading(
            identity=identity,
            taken_at=time.time(),
            measures=measures,
            flags=flags_of(raw),
            known_flags=KNOWN_FLAGS,
            raw=raw,
            text={DEVICE_ID: ups.path},
        )

    def _note_dropped(
        self,
        ups: _Ups,
        raw: dict[str, float],
        measures: dict[Measure, float],
        problems: list[str],
    ) -> None:
        present = frozenset(f.measure for n, f in MEASURES.items() if n in raw)
        # measures holds every candidate: the Reading drops (and counts) the implausible ones
        dropped = present - {m for m, v in measures.items() if implausibility(m, v) is None}
        self.dropped_values[ups.name] += len(problems)
        if dropped - ups.dropped:
            log.warning("%s: dropping invalid values: %s", ups.name, "; ".join(problems))
        if ups.dropped - dropped:
            names = ", ".join(sorted(m.value for m in ups.dropped - dropped))
            log.info("%s: valid again: %s", ups.name, names)
        ups.dropped = dropped

    def _note_missing(self, ups: _Ups, missing: list[DecodeError]) -> None:
        self.missing_reports[ups.name] += len(missing)
        names = frozenset(str(exc).split(":", 1)[0] for exc in missing)
        if names - ups.missing:
            log.warning("%s: keeping a partial reading; %s", ups.name, "; ".join(map(str, missing)))
        if ups.missing - names:
            log.info("%s: read again: %s", ups.name, ", ".join(sorted(ups.missing - names)))
        ups.missing = names


def open_source(cfg: DeviceConfig) -> TrippliteSource:
    """The registry's factory: a source on the real USB transport."""
    if not isinstance(cfg, TrippliteConfig):
        raise TypeError(f"not a tripplite config: {type(cfg).__name__}")
    return TrippliteSource(cfg)
