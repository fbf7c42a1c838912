"""The seed's metric names for a UDP power meter, with our ``device`` label.

``powerexporter_power_consumption_ampere_seconds_total`` is the reboot-proof counter (the
normalized ``power_charge_coulombs_total`` has the same value), ``powerexporter_current_ampere``
the current. HELP texts are the seed's. Nothing stays while the meter is down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from power_exporter.model import Measure
from power_exporter.sources.base import RawFamily, RawSample

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from power_exporter.model import DeviceIdentity, Reading

CHARGE: Final = RawFamily(
    name="powerexporter_power_consumption_ampere_seconds_total",
    kind="counter",
    help="The total power consumption given in ampere-seconds.",
)
CURRENT: Final = RawFamily(
    name="powerexporter_current_ampere",
    kind="gauge",
    help="The electric current given in ampere.",
)

# One family per measure, one row each.
FAMILIES: Final[Mapping[Measure, RawFamily]] = {
    Measure.CHARGE_COULOMBS: CHARGE,
    Measure.INPUT_CURRENT: CURRENT,
}


class UdpMeterNaming:
    """Raw naming of seed 003: two families, valued from the reading's measures."""

    def samples(self, reading: Reading) -> Iterable[RawSample]:
        """Give the counter and the gauge of a good reading (each where its measure is)."""
        measures = reading.measures
        return [
            RawSample(family, measures[measure])
            for measure, family in FAMILIES.items()
            if measure in measures
        ]

    def down_samples(self, identity: DeviceIdentity) -> Iterable[RawSample]:  # noqa: ARG002
        """Give nothing: the seed's series go away with the meter."""
        return ()
