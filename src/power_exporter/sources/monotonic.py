"""Device totals that go back (a daily total at midnight, a reboot) made into counters.

A device counts energy (or charge) in a total of its own, which it resets now and then. A
Prometheus counter must never go back while the process that serves it runs. So per total:
when the device's value falls below the last one, the device has started again from zero,
and what it had counted until then is added to an offset; the counter is the offset plus
the device's value. What the device counted between its last report and its reset is lost
(nobody reported it), nothing else. This is the rule the UDP meter's charge counter follows
(``udp_meter/counter.py``), kept here small and reusable.

A value of 0 is taken as "no news", not as a reset: protobuf devices leave out a zero, and
caches turn a field not refreshed for a while into 0, so a total that reads 0 and then its
old value again must not be counted twice. A real reset shows at the first non-zero value
below the last one, and counts the same.

Totals of one device are kept by key, so a device that stops sending one key (a battery
pack unplugged) keeps its counted part: a sum of totals never goes back either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

MAX_KEYS: Final = 1024
"""The most totals one device keeps (a device cannot make us keep unbounded state)."""


@dataclass(slots=True)
class Total:
    """One device total and what it counted before its resets."""

    last: float = 0.0
    offset: float = 0.0
    resets: int = 0

    def update(self, value: float) -> float:
        """Take the device's current value; return the counter (never below the last one)."""
        if math.isfinite(value) and value > 0.0:
            if value < self.last:
                self.offset += self.last
                self.resets += 1
            self.last = value
        return self.value

    @property
    def value(self) -> float:
        """The counter: everything counted over the device's resets."""
        return self.offset + self.last


@dataclass(slots=True)
class Totals:
    """The totals of one device, by key."""

    totals: dict[str, Total] = field(default_factory=dict)

    def update(self, values: Mapping[str, float]) -> dict[str, float]:
        """Take the device's current totals; return every counter seen so far, by key."""
        for key, value in values.items():
            total = self.totals.get(key)
            if total is None:
                if len(self.totals) >= MAX_KEYS or not (math.isfinite(value) and value > 0.0):
                    continue
                total = self.totals[key] = Total()
            total.update(value)
        return {key: total.value for key, total in self.totals.items()}

    def resets(self, keys: Iterable[str] | None = None) -> int:
        """How many resets the totals (of ``keys``, or all) have been carried over."""
        names = self.totals.keys() if keys is None else keys
        return sum(self.totals[k].resets for k in names if k in self.totals)
