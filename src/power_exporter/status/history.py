"""The last hour of each device's charge, load and power: a bounded ring per device.

The history watches the store: whenever a device changes, its newest reading is offered to
its ring, which keeps one sample per ``max(interval, STEP)`` seconds, so at most ``SLOTS``
(360) samples span the hour whatever the interval. A device going down leaves one gap
sample, so a sparkline breaks where the device was not read. A sample is a Unix second
(uint32) and three float32 values (NaN where the device gives no such measure): 16 bytes,
so a full ring holds 5,760 bytes of samples, about 6 KiB with its objects
(``bench/bench_history.py`` measures it; bench/RESULTS.md has the figures). A device that
leaves the store leaves the history.
"""

from __future__ import annotations

import math
import time
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from power_exporter.model import Measure

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.model import Reading
    from power_exporter.store import Store

WINDOW: Final = 3600.0  # seconds of history kept
STEP: Final = 10.0  # the shortest spacing of two samples
SLOTS: Final = int(WINDOW // STEP)
# A reading is sampled once a step has passed since the last sample, less a slack: a tenth
# of the step, or half the device's interval if that is less, so readings every `step`
# seconds (give or take the poll loop's jitter) are all kept, and more frequent ones once.
_SLACK: Final = 0.1
NAN: Final = math.nan
# What the "power" series shows: the first of these measures that the device gives.
POWER_MEASURES: Final = (Measure.OUTPUT_POWER, Measure.INPUT_POWER)


def power_of(measures: Mapping[Measure, float]) -> float | None:
    """The power the device delivers (or draws), in watts, or None when it gives none."""
    for measure in POWER_MEASURES:
        value = measures.get(measure)
        if value is not None:
            return value
    return None


@dataclass(frozen=True, slots=True)
class Series:
    """A device's samples within a window, oldest first (None: no value, or a gap)."""

    step: float
    times: list[int]
    charge: list[float | None]
    load: list[float | None]
    power: list[float | None]


class Ring:
    """At most SLOTS samples of one device; the oldest is overwritten when full."""

    __slots__ = ("_head", "_last_at", "_slack", "_times", "_values", "step")

    def __init__(self, step: float, interval: float | None = None) -> None:
        self.step = step
        self._slack = min(step * _SLACK, (step if interval is None else interval) / 2)
        self._last_at = -math.inf  # when the newest sample was taken, to the fraction
        self._times = array("I")
        self._values = array("f")  # charge, load, power of each sample, side by side
        self._head = 0  # where the next sample goes once the ring is full

    def __len__(self) -> int:
        return len(self._times)

    def _last(self) -> int:
        return (self._head - 1) % len(self._times)

    def last_time(self) -> int | None:
        """The Unix second of the newest sample, or None when empty."""
        return self._times[self._last()] if self._times else None

    def is_gap(self) -> bool:
        """Whether the newest sample marks the device down."""
        if not self._times:
            return True
        last = self._last() * 3
        return all(math.isnan(value) for value in self._values[last : last + 3])

    def add(self, when: float, charge: float, load: float, power: float) -> None:
        """Store one sample (NaN for a value the device does not give)."""
        second = int(when)
        if len(self._times) < SLOTS:
            self._times.append(second)
            self._values.extend((charge, load, power))
            self._head = len(self._times) % SLOTS
            return
        self._times[self._head] = second
        self._values[self._head * 3 : self._head * 3 + 3] = array("f", (charge, load, power))
        self._head = (self._head + 1) % SLOTS

    def offer(self, reading: Reading) -> bool:
        """Sample the reading if a step has passed since the last sample; True if it was."""
        if reading.taken_at < self._last_at + self.step - self._slack:
            return False
        self._last_at = reading.taken_at
        measures = reading.measures
        power = power_of(measures)
        self.add(
            reading.taken_at,
            measures.get(Measure.BATTERY_CHARGE, NAN),
            measures.get(Measure.LOAD, NAN),
            NAN if power is None else power,
        )
        return True

    def series(self, since: float) -> Series:
        """The samples taken at or after ``since``, oldest first (None for NaN)."""
        times, values = self._times.tolist(), self._values.tolist()
        if len(times) == SLOTS and self._head:  # full: the oldest sample is at the head
            times = times[self._head :] + times[: self._head]
            values = values[self._head * 3 :] + values[: self._head * 3]
        # Sorted, unless the wall clock stepped back: then the window is off by that step.
        first = bisect_left(times, since)
        columns = [
            [None if math.isnan(value) else value for value in values[first * 3 + offset :: 3]]
            for offset in range(3)
        ]
        return Series(self.step, times[first:], *columns)


class History:
    """The rings of every device of a store, fed by its watcher."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._rings: dict[str, Ring] = {}
        store.watch(self.changed)

    def __len__(self) -> int:
        return len(self._rings)

    def changed(self, name: str) -> None:
        """The store's watcher: sample the device's newest reading, or mark it down."""
        state = self._store.get(name)
        if state is None:
            self._rings.pop(name, None)
            return
        ring = self._rings.get(name)
        if state.up and state.reading is not None:
            if ring is None:
                ring = self._rings[name] = Ring(max(state.interval, STEP), state.interval)
            ring.offer(state.reading)
        elif ring is not None and not ring.is_gap():
            ring.add(time.time(), NAN, NAN, NAN)

    @staticmethod
    def empty() -> Series:
        """The series of a device with no samples yet."""
        return Series(STEP, [], [], [], [])

    def series(self, name: str, window: float = WINDOW, now: float | None = None) -> Series | None:
        """The device's samples of the last ``window`` seconds, or None if it has none."""
        ring = self._rings.get(name)
        if ring is None:
            return None
        return ring.series((time.time() if now is None else now) - window)
