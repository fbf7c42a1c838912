"""The charge counter that survives the meter's reboots.

The meter counts the charge drawn since it booted. When it reboots, its timestamp goes back
and its count starts again from zero. The seed exporter refused every value below the last
one, so after a reboot its counter froze until the new count passed the old. Here the
exported counter carries on from where it was and adds the new count: the charge drawn
between the meter's last datagram and its reboot is lost (nobody measured it), nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from power_exporter.sources.udp_meter.protocol import Measurement  # noqa: TC001 (used at run time by dataclass fields)


@dataclass(slots=True)
class ChargeCounter:
    """Turns the meter's since-boot charge (mAs) into a counter that never goes back."""

    offset_mas: float = 0.0
    """What the meter had counted before its last reboot(s)."""
    reboots: int = 0
    """How many reboots the counter has carried on over."""
    last: Measurement | None = field(default=None)

    def update(self, measurement: Measurement) -> bool:
        """Take the next measurement; say whether the meter rebooted before it."""
        last = self.last
        rebooted = last is not None and (
            measurement.timestamp_us < last.timestamp_us or measurement.charge_mas < last.charge_mas
        )
        if rebooted and last is not None:
            self.offset_mas += last.charge_mas
            self.reboots += 1
        self.last = measurement
        return rebooted

    @property
    def total_mas(self) -> float:
        """The charge counted over all the meter's boots, in milliampere-seconds."""
        return self.offset_mas + (self.last.charge_mas if self.last is not None else 0.0)
