"""The latest state of every device, written by the runtime and read by the exposition.

Each device carries two version counters: ``reading_version`` moves when what its
measures, status or raw series would render to changes (a new reading, going down),
``stats_version`` when only its small self-metrics do. The exposition keeps the rendered
text of each device and re-renders a part only when its counter moved. Watchers are told
the name of every device that changed (the exposition renders it then, not at the scrape).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from power_exporter.model import DeviceIdentity, Reading

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@dataclass(slots=True)
class DeviceState:
    """What the exporter knows of one device now."""

    name: str
    source: str
    unit: str
    interval: float
    identity: DeviceIdentity
    labels: tuple[tuple[str, str], ...] = ()  # static labels of every series (config's labels)
    reading: Reading | None = None
    up: bool = False
    last_seen: float | None = None
    last_error: str = ""
    reason: str = ""  # why it is down: the reason of the failure that took it down
    errors: dict[str, int] = field(default_factory=dict)
    implausible: dict[tuple[str, str], int] = field(default_factory=dict)  # (measure, reason)
    messages: int = 0
    read_duration: float | None = None
    reading_version: int = 0
    stats_version: int = 0


PROBE_RESULTS: Final = ("fresh", "shared", "cached", "stored", "timeout")


@dataclass(slots=True)
class ProbeStats:
    """``/probe``'s own counters, served on ``/metrics``: never a device's state or counters."""

    results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROBE_RESULTS, 0))
    reads: int = 0
    seconds: float = 0.0
    answered: int = 0

    def observe(self, result: str, seconds: float) -> None:
        """Count one answered probe."""
        self.results[result] = self.results.get(result, 0) + 1
        self.seconds += seconds
        self.answered += 1


class Store:
    """Latest state per device, in the order devices were registered."""

    def __init__(self) -> None:
        self._devices: dict[str, DeviceState] = {}
        self._watchers: list[Callable[[str], None]] = []
        self.version = 0  # moves on every change, for caching whole pages
        self.probes = ProbeStats()
        # entry -> events of devices beyond its max_devices, dropped (rendered per scrape)
        self.dropped_devices: dict[str, int] = {}

    def watch(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` after every change of a device (it must not raise)."""
        self._watchers.append(callback)

    def _changed(self, name: str) -> None:
        self.version += 1
        for callback in self._watchers:
            callback(name)

    def __iter__(self) -> Iterator[DeviceState]:
        return iter(list(self._devices.values()))

    def __len__(self) -> int:
        return len(self._devices)

    def __contains__(self, name: object) -> bool:
        return name in self._devices

    def get(self, name: str) -> DeviceState | None:
        """The state of a device, or None for a name we do not know."""
        return self._devices.get(name)

    def register(
        self,
        name: str,
        *,
        source: str,
        unit: str,
        interval: float,
        labels: tuple[tuple[str, str], ...] = (),
    ) -> DeviceState:
        """Make a device known (down until its first good reading); idempotent."""
        state = self._devices.get(name)
        if state is None:
            state = DeviceState(
                name=name,
                source=source,
                unit=unit,
                interval=interval,
                identity=DeviceIdentity(name=name, source=source),
                labels=labels,
            )
            self._devices[name] = state
            self._changed(name)
        return state

    def remove(self, name: str) -> None:
        """Forget a device (a placeholder replaced by the devices it fans out to)."""
        if self._devices.pop(name, None) is not None:
            self._changed(name)

    def update(
        self,
        reading: Reading,
        *,
        unit: str,
        interval: float,
        labels: tuple[tuple[str, str], ...] = (),
    ) -> DeviceState:
        """Record a good reading: the device is up."""
        state = self.register(
            reading.device,
            source=reading.identity.source,
            unit=unit,
            interval=interval,
            labels=labels,
        )
        if state.reading != reading or not state.up:
            state.reading_version += 1
        state.reading = reading
        state.identity = reading.identity
        state.up = True
        state.last_seen = reading.taken_at
        state.last_error = ""
        state.reason = ""
        state.messages += 1
        for measure, reason in reading.dropped.items():
            key = (measure.value, reason)
            state.implausible[key] = state.implausible.get(key, 0) + 1
        state.stats_version += 1
        self._changed(state.name)
        return state

    def count_error(self, name: str, reason: str, message: str = "") -> None:
        """Count a failed read or rejected data, without changing whether the device is up."""
        state = self._devices.get(name)
        if state is None:
            return
        state.errors[reason] = state.errors.get(reason, 0) + 1
        if message:
            state.last_error = message
        state.stats_version += 1
        self._changed(name)

    def mark_down(self, name: str, reason: str, message: str = "") -> bool:
        """Count the error and take the device down; True when it was up until now."""
        self.count_error(name, reason, message)
        state = self._devices.get(name)
        if state is None:
            return False
        state.reason = reason
        if not state.up:
            return False
        state.up = False
        state.reading = None
        state.reading_version += 1
        state.stats_version += 1
        self._changed(name)
        return True

    def count_dropped_device(self, entry: str) -> None:
        """Count an event of a device the entry may not have (beyond its max_devices)."""
        self.dropped_devices[entry] = self.dropped_devices.get(entry, 0) + 1

    def observe_read(self, name: str, seconds: float) -> None:
        """Record how long the device's last read took."""
        state = self._devices.get(name)
        if state is not None:
            state.read_duration = seconds
            state.stats_version += 1
            self._changed(name)

    def count_message(self, name: str) -> None:
        """Count a message that carried no reading (a fault, a rejected datagram)."""
        state = self._devices.get(name)
        if state is not None:
            state.messages += 1
            state.stats_version += 1
            self._changed(name)

    def age(self, state: DeviceState, now: float | None = None) -> float | None:
        """Seconds since the device's last good reading, or None if there was none."""
        if state.last_seen is None:
            return None
        return max(0.0, (time.time() if now is None else now) - state.last_seen)
