"""The charge counter that survives the meter's reboots, and refuses what no meter could count.

The meter counts the charge drawn since it booted. When it reboots, its timestamp goes back
and its count starts again from zero. The seed exporter refused every value below the last
one, so after a reboot its counter froze until the new count passed the old. Here the
exported counter carries on from where it was and adds the new count: the charge drawn
between the meter's last datagram and its reboot is lost (nobody measured it), nothing else.

A datagram is only a claim, and UDP senders are easily forged: the counter takes no step
larger than the meter could physically have counted. A step may add ``max_current`` times the
seconds passed on *our* clock since the last good datagram (never the meter's clock, which the
datagram itself claims), plus a reserve of at most :data:`BURST_SECONDS` worth, refilled by
what steps leave unused, for datagrams that arrive late or together. So over any time ``T``
the counter grows by at most ``max_current * (T + BURST_SECONDS)``: after an outage it takes
what the meter counted meanwhile, while two forged datagrams cannot add 10¹⁵ C. The first
count taken (the meter's count since boot) may be at most ``max_current`` times the meter's
uptime, or :data:`FIRST_COUNT_SECONDS` worth if the meter is younger. A refused datagram
changes nothing: the next good one is measured against the last good one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Final

from power_exporter.errors import SourceError
from power_exporter.sources.udp_meter.protocol import Measurement  # noqa: TC001 (used at run time by dataclass fields)

BURST_SECONDS: Final = 60.0
"""How many seconds of ``max_current`` the reserve holds at most."""
FIRST_COUNT_SECONDS: Final = 3600.0
"""The first count is believed up to this many seconds of ``max_current`` (or the uptime)."""


class ImplausibleChargeError(SourceError):
    """A datagram whose charge moves the counter further than the meter could have counted."""

    reason: ClassVar[str] = "implausible"


@dataclass(slots=True)
class ChargeCounter:
    """Turns the meter's since-boot charge (mAs) into a counter that never goes back."""

    max_current_ma: float = math.inf
    """The most current the meter can measure, in mA (inf: no check)."""
    offset_mas: float = 0.0
    """What the meter had counted before its last reboot(s)."""
    reboots: int = 0
    """How many reboots the counter has carried on over."""
    last: Measurement | None = field(default=None)
    rejected: int = 0
    """Datagrams refused as implausible."""
    _budget_mas: float = 0.0
    _budget_at: float | None = None

    def update(self, measurement: Measurement, now: float = 0.0) -> bool:
        """Take the next measurement (``now``: our monotonic clock); say if the meter rebooted.

        Raises ImplausibleChargeError, and changes nothing, for a step the meter could not
        have counted.
        """
        last = self.last
        rebooted = last is not None and (
            measurement.timestamp_us < last.timestamp_us or measurement.charge_mas < last.charge_mas
        )
        step = (
            measurement.charge_mas
            if rebooted or last is None
            else (measurement.charge_mas - last.charge_mas)
        )
        self._check(measurement, step, now, first=last is None)
        if rebooted and last is not None:
            self.offset_mas += last.charge_mas
            self.reboots += 1
        self.last = measurement
        return rebooted

    def _check(self, measurement: Measurement, step: float, now: float, *, first: bool) -> None:
        limit = self.max_current_ma
        if math.isinf(limit):
            return
        if first:
            uptime = max(measurement.timestamp_us / 1e6, FIRST_COUNT_SECONDS)
            allowed = limit * uptime
        else:
            elapsed = 0.0 if self._budget_at is None else max(0.0, now - self._budget_at)
            allowed = self._budget_mas + limit * elapsed
        total = self.offset_mas + (self.last.charge_mas if self.last else 0.0) + step
        if step > allowed or not math.isfinite(total):
            self.rejected += 1
            raise ImplausibleChargeError(
                f"a datagram moves the charge counter by {step / 1000.0:.6g} As, more than"
                f" max_current ({limit / 1000.0:g} A) allows ({allowed / 1000.0:.6g} As)"
            )
        # What this step left of the allowance is kept up to the burst (jitter, batching);
        # the time that passed is granted whole (after an outage the meter has counted on).
        self._budget_mas = (
            min(limit * BURST_SECONDS, allowed - step) if not first else (limit * BURST_SECONDS)
        )
        self._budget_at = now

    @property
    def total_mas(self) -> float:
        """The charge counted over all the meter's boots, in milliampere-seconds."""
        return self.offset_mas + (self.last.charge_mas if self.last is not None else 0.0)
