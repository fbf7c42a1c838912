"""Status flags: what the status byte says, checked against the input voltage.

Most flags are one bit each (:data:`.table.STATUS_BITS`). Whether the UPS runs on battery
is not read from one bit: some models leave the whole byte at zero while on mains (an
ECO850LCD on AC at 121.8 V, numat/tripplite#10), so a clear "ac present" alone would
raise a permanent false alarm. The UPS is on battery only when the data agree:

- "ac present" clear **and** "discharging" set, or
- the input voltage below :data:`MAINS_FRACTION` of the nominal voltage, under every
  low transfer point published for these units (NUT's SMART1500LCDT dump: 92 V of 120 V).

It is ``online`` when not on battery and either "ac present" is set or the input voltage
is mains. "Shutdown imminent" also sets ``low_battery``, as NUT raises LB on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from power_exporter.model import Flag
from power_exporter.sources.tripplite.table import STATUS_BITS

if TYPE_CHECKING:
    from collections.abc import Mapping

MAINS_FRACTION: Final = 0.75
# Nominal voltages this rule trusts (an OMNIVS1500LCD reports config.voltage 4).
NOMINAL_VOLTS: Final = (90.0, 260.0)
# Flags a set flag brings along.
IMPLIES: Final[Mapping[Flag, Flag]] = {Flag.SHUTDOWN_IMMINENT: Flag.LOW_BATTERY}


def mains_present(raw: Mapping[str, float]) -> bool | None:
    """Whether the input voltage is mains, or ``None`` when that cannot be told."""
    volts = raw.get("input.voltage")
    nominal = raw.get("config.voltage")
    if volts is None or nominal is None or not NOMINAL_VOLTS[0] <= nominal <= NOMINAL_VOLTS[1]:
        return None
    return volts >= MAINS_FRACTION * nominal


def flags_of(raw: Mapping[str, float]) -> frozenset[Flag]:
    """The status flags that the raw values say are set."""
    flags = {row.when_set for row in STATUS_BITS if raw.get(f"status.{row.key}")}
    flags |= {IMPLIES[flag] for flag in flags if flag in IMPLIES}
    mains = mains_present(raw)
    unplugged = raw.get("status.ac present") == 0 and raw.get("status.discharging") == 1
    if unplugged or mains is False:
        flags.discard(Flag.ONLINE)
        flags.add(Flag.ON_BATTERY)
    elif mains:
        flags.add(Flag.ONLINE)
    return frozenset(flags)
