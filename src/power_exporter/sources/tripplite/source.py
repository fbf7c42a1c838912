"""The ``tripplite`` source: TrippLite UPSes on local USB HID, polled.

Each poll enumerates vendor 09ae (cheap: udev and sysfs), matches what it finds to the
UPSes it knows (by serial, else by path; see :mod:`.config` for the names), and reads
every present UPS at once, each in a worker thread under that UPS's own lock, so that
hidapi's blocking calls never run on the event loop nor twice at a time on one device.
The lock is a thread lock, held by the worker: a read the runtime gave up on still
finishes before the next one starts.

Faults are per UPS: an ``OSError`` (hidapi's "read error", a cable pulled mid-read, no
data after the retries) closes the device and the next poll reopens it, as the seed did; a
UPS no longer on the bus is a ``ConnectError``; a reply for the wrong report is a
``DecodeError`` and leaves the device open. When a UPS comes back, its readings do, with
no restart. Only "no TrippLite at all, and none seen before" fails the whole source.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Self

from power_exporter.errors import ConnectError, DecodeError, SourceError
from power_exporter.model import DeviceFault, DeviceIdentity, Measure, Reading, implausibility
from power_exporter.sources.tripplite.config import AUTO, TrippliteConfig
from power_exporter.sources.tripplite.naming import HOSTNAME_LABEL
from power_exporter.sources.tripplite.reports import (
    State,
    flags_of,
    measures_of,
    raw_values,
    read_state,
)
from power_exporter.sources.tripplite.table import (
    DEVICE_ID,
    KNOWN_FLAGS,
    MEASURES,
    OTHER_PROTOCOL_PRODUCTS,
)
from power_exporter.sources.tripplite.transport import (
    TRIPPLITE_VENDOR_ID,
    DeviceInfo,
    HidapiTransport,
    HidHandle,
    HidTransport,
    HidUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig

log = logging.getLogger(__name__)

VENDOR: Final = "Tripp Lite"
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._:-]+")


def other_protocol_note(info: DeviceInfo | None) -> str:
    """What to add to a failure of a product known to speak another protocol at times."""
    if info is None or info.product_id not in OTHER_PROTOCOL_PRODUCTS:
        return ""
    return f" ({info.usb_id} may speak another protocol than the 2012 one read here)"


def sub_name(text: str) -> str:
    """A serial or path as the part of a device name after ``<name>/``."""
    return _UNSAFE.sub("_", os.path.basename(text.strip())).strip("_") or "unnamed"  # noqa: PTH119 (paths as hidapi gives them, not files)


def same_node(infos: Sequence[DeviceInfo], path: str) -> DeviceInfo | None:
    """The device listed at ``path``, which may be a udev symlink to its hidraw node."""
    wanted = Path(path).resolve()
    return next((info for info in infos if Path(info.path).resolve() == wanted), None)


def unique_by_path(infos: Sequence[DeviceInfo]) -> list[DeviceInfo]:
    """Enumeration without repeats (hidapi lists a device once per top-level collection)."""
    seen: dict[str, DeviceInfo] = {}
    for info in infos:
        seen.setdefault(info.path, info)
    return list(seen.values())


def keyed(infos: Sequence[DeviceInfo]) -> dict[str, DeviceInfo]:
    """Each UPS by a stable key: its serial where it has one of its own, else its path."""
    unique = unique_by_path(infos)
    serials = Counter(info.serial for info in unique if info.serial)
    return {
        (f"serial:{info.serial}" if serials[info.serial] == 1 else f"path:{info.path}"): info
        for info in unique
    }


@dataclass(eq=False)
class _Ups:
    """One UPS this source reads, and its open handle."""

    name: str
    path: str
    info: DeviceInfo | None = None
    handle: HidHandle | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    dropped: frozenset[Measure] = frozenset()


class TrippliteSource:
    """A polled source of one ``tripplite`` config entry."""

    def __init__(
        self,
        cfg: TrippliteConfig,
        transport: HidTransport | None = None,
        *,
        hostname: str | None = None,
    ) -> None:
        self.cfg = cfg
        self._transport: HidTransport = transport or HidapiTransport()
        self._hostname = hostname
        self._units: dict[str, _Ups] = {}
        self._warned: set[str] = set()
        # Values dropped as invalid, per device (logged when a measure starts or stops).
        self.dropped_values: Counter[str] = Counter()

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

    def _poll(self, ups: _Ups) -> State:
        note = other_protocol_note(ups.info)
        with ups.lock:
            if ups.handle is None:
                try:
                    ups.handle = self._transport.open(ups.path)
                except OSError as exc:
                    raise ConnectError(f"cannot open {ups.path}: {exc}{note}") from exc
            try:
                return read_state(ups.handle, ups.path)
            except OSError as exc:
                self._close_locked(ups)
                raise ConnectError(f"{ups.path}: {exc}{note}; closed, to reopen") from exc
            except DecodeError as exc:
                raise DecodeError(f"{ups.path}: {exc}{note}") from exc

    def _enumerate(self) -> list[DeviceInfo]:
        try:
            return self._transport.enumerate(TRIPPLITE_VENDOR_ID)
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
        if self.cfg.fan_out:
            present, missing = await self._match_all(infos)
        else:
            present, missing = await self._match_one(infos)
        results = await asyncio.gather(*(self._read_one(ups) for ups in present))
        faults = [
            DeviceFault(ups.name, ConnectError(f"{ups.path}: not on the USB bus (unplugged?)"))
            for ups in missing
        ]
        return [*results, *faults]

    async def _match_all(self, infos: Sequence[DeviceInfo]) -> tuple[list[_Ups], list[_Ups]]:
        found = keyed(infos)
        if not found and not self._units:
            raise ConnectError(
                f"no TrippLite UPS found (no HID device of USB vendor {TRIPPLITE_VENDOR_ID:04x})"
            )
        present = [await self._place(key, info) for key, info in found.items()]
        missing = [ups for key, ups in self._units.items() if key not in found]
        await asyncio.gather(*(asyncio.to_thread(self._close, ups) for ups in missing))
        return present, missing

    async def _match_one(self, infos: Sequence[DeviceInfo]) -> tuple[list[_Ups], list[_Ups]]:
        name = self.cfg.name
        if self.cfg.serial is not None:
            match = next((i for i in unique_by_path(infos) if i.serial == self.cfg.serial), None)
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
                name += "/" + sub_name(info.serial if key.startswith("serial:") else info.path)
            ups = self._units[key] = _Ups(name, info.path)
            log.info("%s: found %s %s at %s", name, info.usb_id, info.product or "?", info.path)
        elif ups.path != info.path:
            log.info("%s: now at %s (was %s)", ups.name, info.path, ups.path)
            await asyncio.to_thread(self._close, ups)
            ups.path = info.path
        ups.info = info
        if info.product_id in OTHER_PROTOCOL_PRODUCTS and key not in self._warned:
            self._warned.add(key)
            log.warning(
                "%s: %s (%s) may speak another protocol than the 2012 one this source reads"
                " (numat/tripplite#3); trying anyway",
                ups.name,
                info.usb_id,
                info.product or "unnamed product",
            )
        return ups

    async def _read_one(self, ups: _Ups) -> Event:
        try:
            state = await asyncio.to_thread(self._poll, ups)
        except SourceError as exc:
            return DeviceFault(ups.name, exc)
        return self._reading(ups, state)

    def _reading(self, ups: _Ups, state: State) -> Reading:
        raw = raw_values(state)
        measures, problems = measures_of(raw)
        self._note_dropped(ups, raw, measures, problems)
        info = ups.info
        identity = DeviceIdentity(
            name=ups.name,
            source="tripplite",
            vendor=(info.manufacturer or VENDOR) if info is not None else "",
            model=info.product if info is not None else "",
            serial=info.serial if info is not None else "",
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


def open_source(cfg: DeviceConfig) -> TrippliteSource:
    """The registry's factory: a source on the real USB transport."""
    if not isinstance(cfg, TrippliteConfig):
        raise TypeError(f"not a tripplite config: {type(cfg).__name__}")
    return TrippliteSource(cfg)
