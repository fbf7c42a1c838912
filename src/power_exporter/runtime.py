"""The supervisor: one task per configured device entry, and nothing escapes it.

A polled entry is read every ``interval`` under ``asyncio.timeout(timeout)``; a streaming
entry is consumed as it yields. Failures are counted per device, logged on transitions
(down, recovered) rather than on every poll, and retried with capped exponential backoff
and jitter. A watchdog takes devices down whose data went stale. SIGTERM and SIGINT stop
everything cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING, Final

from power_exporter.errors import (
    AuthError,
    ConnectError,
    DeviceTimeoutError,
    OfflineError,
    SourceError,
    StaleError,
)
from power_exporter.model import Reading, Roster
from power_exporter.probing import Prober
from power_exporter.sharding import UNSHARDED, known, owner
from power_exporter.sources.base import (
    NoRawNaming,
    OneDeviceSource,
    PolledSource,
    ShardAware,
    StreamingSource,
)
from power_exporter.sources.registry import KINDS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from power_exporter.model import Event
    from power_exporter.sharding import Shard
    from power_exporter.sources.base import DeviceConfig, RawNaming, Source, SourceKind
    from power_exporter.store import Store

log = logging.getLogger(__name__)

# In a stream, a fault of these kinds takes the device down at once; other faults (a bad
# datagram, an unknown command) are only counted and staleness decides.
_STREAM_DOWN: Final = (AuthError, ConnectError, OfflineError, StaleError, DeviceTimeoutError)
_WATCHDOG_PERIOD: Final = 1.0


class Backoff:
    """Capped exponential backoff with jitter, starting at ``base`` seconds."""

    __slots__ = ("base", "cap", "failures")  # one per device

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = max(cap, base)
        self.failures = 0

    def next(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        delay = min(self.cap, self.base * 2.0**self.failures)
        self.failures += 1
        return delay * random.uniform(0.75, 1.0)  # noqa: S311 (jitter, not cryptography)

    def reset(self) -> None:
        """Forget past failures."""
        self.failures = 0


@dataclass(slots=True)
class _Unit:
    """One configured device entry and the devices it has produced."""

    config: DeviceConfig
    devices: set[str] = field(default_factory=set)
    source: Source | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    down: bool = False
    streaming: bool = False  # known once the source has been opened
    over_limit: bool = False  # a device beyond max_devices was refused (logged once)
    variables_capped: set[str] = field(default_factory=set)  # devices cut to max_variables
    # When each device was last in a roster of this entry or read well; None until the
    # entry's source sends its first roster (entries that never do keep their devices).
    listed: dict[str, float] | None = None
    # Devices whose failure has been logged since they were last up: the first failed read
    # of a device that never came up (a misspelled UPS name) is logged once, like a going down.
    reported: set[str] = field(default_factory=set)
    # Sharded fan-out entries: every device of the last roster (or, without rosters, every
    # device read), this replica's or not.
    fleet: frozenset[str] = frozenset()


@dataclass(slots=True)
class Reconfigured:
    """What ``Runtime.reconfigure`` did, by entry name."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _supervises(task: asyncio.Task[None], name: str) -> bool:
    """Whether ``task`` is the supervising task of entry ``name`` (tasks are named so)."""
    return task.get_name() == name and task.get_coro().__qualname__.endswith("._supervise")  # type: ignore[union-attr]


class Runtime:
    """Runs every configured device until stopped."""

    def __init__(
        self,
        devices: Sequence[DeviceConfig],
        store: Store,
        *,
        backoff_max: float = 60.0,
        kinds: Mapping[str, SourceKind] = KINDS,
        shard: Shard = UNSHARDED,
    ) -> None:
        self.store = store
        self.backoff_max = backoff_max
        self.kinds = kinds
        self.shard = shard
        # Every configured entry, in the file's order, run here or by another replica.
        self.configured: tuple[DeviceConfig, ...] = tuple(devices)
        self._units = {cfg.name: _Unit(cfg) for cfg in devices if self._runs(cfg)}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        for unit in self._units.values():
            self._placeholder(unit)
        self._prober = Prober(self, self._naming_for)

    def _naming_for(self, kind: str) -> RawNaming:
        found = self.kinds.get(kind)
        return found.naming if found is not None else NoRawNaming()

    # -- bookkeeping ----------------------------------------------------------------------

    def _runs(self, cfg: DeviceConfig) -> bool:
        return self.shard.runs(cfg.name, fans_out=cfg.fans_out, listed=cfg.fan_out_devices)

    def _placeholder(self, unit: _Unit) -> None:
        """Show the entry until its devices are read (sharded: see ``Shard.shown``)."""
        cfg = unit.config
        listed = cfg.fan_out_devices if self._sharded(unit) else None
        names = self.shard.shown(cfg.name, listed)
        if listed is not None:  # real devices: a failed login takes them down
            unit.devices.update(names)
        for name in names:
            self.store.register(
                name,
                source=cfg.source,
                unit=cfg.name,
                interval=cfg.interval,
                labels=cfg.labels_for(name),
            )

    def _sharded(self, unit: _Unit) -> bool:
        return self.shard.sharded and unit.config.fans_out

    def _keep(self, unit: _Unit, event: Event) -> Event | None:
        """A sharded fan-out entry's event as this replica keeps it (None: another's device)."""
        cfg = unit.config
        # Bounded as rosters are: a hostile peer must not grow it.
        unit.fleet = known(unit.fleet, event, bound=2 * cfg.max_devices)
        listed = unit.fleet if isinstance(event, Roster) else {event.device}
        if listed - {cfg.name} and cfg.name in self.store and cfg.name not in unit.devices:
            self.store.remove(cfg.name)  # the entry lists or reads devices: no placeholder
        return self.shard.keep(event)

    @property
    def entries(self) -> int:
        """The configured entries this replica runs."""
        return len(self._units)

    def fleet(self) -> list[tuple[str, int]]:
        """Every device of the fleet this replica knows of, with the shard that owns it.

        Entries by name; sharded fan-out entries by the devices of their last roster and
        those read here (until it lists some, the entry's own name).
        """
        total = self.shard.total
        out: list[tuple[str, int]] = []
        for cfg in self.configured:
            unit = self._units.get(cfg.name)
            names = set(cfg.fan_out_devices or ())
            if unit is not None and cfg.fans_out:
                names |= unit.fleet | unit.devices
            names.discard(cfg.name)
            out.extend((name, owner(name, total)) for name in sorted(names or {cfg.name}))
        return out

    def unit_of(self, device: str) -> _Unit | None:
        """The configured entry a device belongs to."""
        state = self.store.get(device)
        return self._units.get(state.unit) if state is not None else None

    def _adopt(self, unit: _Unit, name: str) -> bool:
        """Count a device as this entry's; a real device retires the entry's placeholder.

        False for a new device beyond the entry's ``max_devices``: it is not created.
        """
        if name in unit.devices:
            return True
        cfg = unit.config
        held = len(unit.devices) - (cfg.name in unit.devices)  # the placeholder does not count
        if name != cfg.name and held >= cfg.max_devices:
            self.store.count_dropped_device(cfg.name)
            if not unit.over_limit:
                unit.over_limit = True
                log.warning(
                    "%s: more than max_devices (%d) devices; %s and any further are not created",
                    cfg.name,
                    cfg.max_devices,
                    name,
                )
            return False
        if name != cfg.name and cfg.name in self.store and cfg.name not in unit.devices:
            self.store.remove(cfg.name)
        unit.devices.add(name)
        if unit.listed is not None:
            unit.listed.setdefault(name, time.monotonic())
        return True

    def _apply(self, unit: _Unit, event: Event, *, polled: bool) -> None:
        kept = self._keep(unit, event) if self._sharded(unit) else event
        if kept is not None:
            self._apply_kept(unit, kept, polled=polled)

    def _apply_kept(self, unit: _Unit, event: Event, *, polled: bool) -> None:
        cfg = unit.config
        if isinstance(event, Roster):
            self._listed(unit, event)
            return
        if isinstance(event, Reading):
            name = event.device
            was_up = (state := self.store.get(name)) is not None and state.up
            if not self._adopt(unit, name):
                return
            if unit.listed is not None:
                unit.listed[name] = time.monotonic()
            event = self._capped(unit, event)
            self.store.update(  # registers it
                event, unit=cfg.name, interval=cfg.interval, labels=cfg.labels_for(name)
            )
            unit.reported.discard(name)
            if not was_up:
                log.info("device %s is up", name)
            return
        name = event.device
        if name not in self.store:
            # A device of a fan-out that fails from its first poll (offline from the start)
            # still appears, with up 0, rather than hiding behind the placeholder.
            if not self._adopt(unit, name):
                return
            self.store.register(
                name,
                source=cfg.source,
                unit=cfg.name,
                interval=cfg.interval,
                labels=cfg.labels_for(name),
            )
        error = event.error
        if polled or isinstance(error, _STREAM_DOWN):
            if self.store.mark_down(name, error.reason, str(error)) or name not in unit.reported:
                log.warning("device %s is down (%s): %s", name, error.reason, error)
            unit.reported.add(name)
        else:
            self.store.count_error(name, error.reason, str(error))
            self.store.count_message(name)
            log.debug("device %s: %s: %s", name, error.reason, error)

    @staticmethod
    def _capped(unit: _Unit, reading: Reading) -> Reading:
        """The reading with at most ``max_variables`` raw and text variables (logged once)."""
        limit = unit.config.max_variables
        if len(reading.raw) <= limit and len(reading.text) <= limit:
            return reading
        if reading.device not in unit.variables_capped:
            unit.variables_capped.add(reading.device)
            log.warning(
                "device %s: more than max_variables (%d) variables (%d numeric, %d text);"
                " only the first %d of each are kept",
                reading.device,
                limit,
                len(reading.raw),
                len(reading.text),
                limit,
            )
        return replace(
            reading,
            raw=dict(islice(reading.raw.items(), limit)),
            text=dict(islice(reading.text.items(), limit)),
        )

    def _listed(self, unit: _Unit, roster: Roster) -> None:
        now = time.monotonic()
        if unit.listed is None:
            unit.listed = dict.fromkeys(unit.devices - {unit.config.name}, now)
        bound = 2 * unit.config.max_devices  # a hostile roster must not grow it past the cap
        for name in roster.devices:
            if name not in unit.devices and name not in unit.listed and len(unit.listed) >= bound:
                continue
            if name not in unit.devices and name in unit.listed:
                log.info("device %s is back in the device list of %s", name, unit.config.name)
            unit.listed[name] = now

    def retire(self, now: float) -> None:
        """Remove the devices their entry's device list has not named for ``retire_after``."""
        for unit in self._units.values():
            if unit.listed is None:
                continue
            limit = unit.config.retire_after
            for name, seen in list(unit.listed.items()):
                if now - seen <= limit:
                    continue
                del unit.listed[name]
                if name in unit.devices:
                    unit.devices.discard(name)
                    self.store.remove(name)
                    log.info(
                        "device %s retired: not in the device list of %s for %g s",
                        name,
                        unit.config.name,
                        limit,
                    )

    def _fail_unit(self, unit: _Unit, reason: str, message: str) -> None:
        names = unit.devices or {unit.config.name}
        went_down = [name for name in sorted(names) if self.store.mark_down(name, reason, message)]
        if unit.listed is not None:
            # The entry could not be read, so nothing says its devices are gone.
            now = time.monotonic()
            unit.listed.update(dict.fromkeys(unit.listed, now))
        if went_down or not unit.down:
            log.warning("%s down (%s): %s", ", ".join(sorted(names)), reason, message)
        unit.down = True

    def _recovered(self, unit: _Unit) -> None:
        unit.down = False

    # -- loops ----------------------------------------------------------------------------

    async def _read_once(self, unit: _Unit, source: PolledSource, budget: float) -> None:
        started = time.monotonic()
        async with unit.lock:
            try:
                async with asyncio.timeout(budget):
                    events = await source.read()
            except TimeoutError:
                raise DeviceTimeoutError(f"no answer within {budget:g} s") from None
        elapsed = time.monotonic() - started
        for event in events:
            self._apply(unit, event, polled=True)
        for name in unit.devices or {unit.config.name}:
            self.store.observe_read(name, elapsed)
        self._recovered(unit)

    async def _run_polled(self, unit: _Unit, source: PolledSource, backoff: Backoff) -> None:
        cfg = unit.config
        # Devices started (or reconnected) together would otherwise be read together at every
        # interval: 10,000 of them stalled the loop, and scrapes, for 1.5 s every 15 s
        # (bench/RESULTS.md). After its first good read, each takes a random phase.
        phase = random.uniform(0.0, cfg.interval)  # noqa: S311 (spreading load, not cryptography)
        while True:
            started = time.monotonic()
            try:
                await self._read_once(unit, source, cfg.timeout)
            except SourceError as exc:
                self._fail_unit(unit, exc.reason, str(exc))
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            await asyncio.sleep(max(0.0, cfg.interval - (time.monotonic() - started)) + phase)
            phase = 0.0

    async def _run_stream(self, unit: _Unit, source: StreamingSource, backoff: Backoff) -> None:
        async for event in source.stream():
            self._apply(unit, event, polled=False)
            if isinstance(event, Reading):
                backoff.reset()
                self._recovered(unit)
        raise ConnectError("the stream ended")

    async def _supervise(self, unit: _Unit) -> None:
        cfg = unit.config
        kind = self.kinds[cfg.source]
        cap = max(cfg.interval, min(cfg.interval * 8, self.backoff_max))
        backoff = Backoff(base=cfg.interval, cap=cap)
        # The same source object is entered again after a SourceError, so that state a source
        # keeps across connections (a meter's counter offset, a client id) survives; after a
        # bug a fresh one is made, in case the old one is in a state no one foresaw.
        fresh: Source | None = None
        while not self._stopping.is_set():
            try:
                if fresh is None:
                    fresh = kind.open(cfg)
                    if self._sharded(unit) and isinstance(fresh, ShardAware):
                        fresh.restrict(self.shard.owns)
                async with fresh as source:
                    unit.source = source
                    unit.streaming = isinstance(source, StreamingSource)
                    if isinstance(source, StreamingSource):
                        await self._run_stream(unit, source, backoff)
                    else:
                        await self._run_polled(unit, source, backoff)
            except SourceError as exc:
                self._fail_unit(unit, exc.reason, str(exc))
            except Exception as exc:
                log.exception("bug while reading %s", cfg.name)
                self._fail_unit(unit, "bug", f"{type(exc).__name__}: {exc}")
                fresh = None
            finally:
                unit.source = None
            await asyncio.sleep(backoff.next())

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(_WATCHDOG_PERIOD)
            self.check_staleness(time.time())
            self.retire(time.monotonic())

    def check_staleness(self, now: float) -> None:
        """Take down devices whose last good reading is older than their window."""
        for state in self.store:
            unit = self._units.get(state.unit)
            if unit is None or not state.up or state.last_seen is None:
                continue
            cfg = unit.config
            window = cfg.stale_after if unit.streaming else 2 * cfg.interval + cfg.timeout
            if now - state.last_seen > window and self.store.mark_down(
                state.name, "stale", f"no data for {now - state.last_seen:.0f} s"
            ):
                log.warning("device %s is down: no data for %g s", state.name, window)

    # -- probes ---------------------------------------------------------------------------

    async def probe(
        self, device: str, budget: float, *, fresh: bool = True, openmetrics: bool = False
    ) -> bytes | None:
        """One device's exposition for ``/probe`` within ``budget`` seconds (see probing.py).

        None: serve the device's background state (``fresh=False``, a streaming device, or
        one that cannot be read now). The store ``/metrics`` serves is never changed. Raises
        KeyError for an unknown device.
        """
        return await self._prober.probe(device, budget, fresh=fresh, openmetrics=openmetrics)

    def probe_target(self, device: str) -> tuple[DeviceConfig, bool]:
        """The device's entry config, and whether a probe can read it now."""
        unit = self.unit_of(device)
        if unit is None:
            raise KeyError(device)
        source = unit.source
        return unit.config, source is not None and not isinstance(source, StreamingSource)

    async def read_device(self, device: str) -> Sequence[Event]:
        """Read one device apart from the poll loop: the events go to the caller, not the store.

        A source with ``read_one`` reads that device alone, beside the poll loop; any other
        reads its whole entry under the entry's lock, and only the device's events are kept.
        """
        unit = self.unit_of(device)
        if unit is None:
            raise KeyError(device)
        source = unit.source
        if source is None or isinstance(source, StreamingSource):
            raise ConnectError(f"{unit.config.name} is reconnecting")
        if isinstance(source, OneDeviceSource):
            return await source.read_one(device)
        async with unit.lock:
            events = await source.read()
        return [event for event in events if event.device == device]

    # -- reconfiguration ------------------------------------------------------------------

    def add_unit(self, cfg: DeviceConfig) -> None:
        """Configure a new entry; its task starts at once if the runtime runs."""
        if cfg.name in self._units:
            raise ValueError(f"{cfg.name} is configured already")
        unit = _Unit(cfg)
        self._units[cfg.name] = unit
        self._placeholder(unit)
        if self._tasks:
            self._tasks.append(asyncio.create_task(self._supervise(unit), name=cfg.name))

    async def remove_unit(self, name: str) -> None:
        """Stop an entry (its source closes) and remove its devices from the store."""
        unit = self._units.pop(name, None)
        if unit is None:
            return
        for task in [t for t in self._tasks if _supervises(t, name)]:
            self._tasks.remove(task)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for state in self.store:
            if state.unit == name:
                self.store.remove(state.name)

    async def reconfigure(self, devices: Sequence[DeviceConfig]) -> Reconfigured:
        """Apply a new device list.

        Entries whose config is unchanged keep their state and connections; removed ones
        leave the store; changed ones restart; new ones start.
        """
        self.configured = tuple(devices)
        wanted = {cfg.name: cfg for cfg in devices if self._runs(cfg)}
        done = Reconfigured()
        for name, unit in list(self._units.items()):
            cfg = wanted.get(name)
            if cfg is None or cfg != unit.config:
                await self.remove_unit(name)
                (done.removed if cfg is None else done.changed).append(name)
            else:
                done.kept.append(name)
        for name, cfg in wanted.items():
            if name not in self._units:
                self.add_unit(cfg)
                if name not in done.changed:
                    done.added.append(name)
        return done

    # -- life -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start every device task and the watchdog."""
        for unit in self._units.values():
            self._tasks.append(asyncio.create_task(self._supervise(unit), name=unit.config.name))
        self._tasks.append(asyncio.create_task(self._watchdog(), name="watchdog"))

    async def stop(self) -> None:
        """Cancel every task and wait for the sources to close."""
        self._stopping.set()
        await self._prober.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
