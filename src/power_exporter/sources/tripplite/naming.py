"""The metric names of the seed's exporter, ``tripplite_*``, so its dashboards keep working.

The seed named each value ``tripplite_`` + its JSON path, ``_`` between levels and for
spaces (``tripplite_status_ac_present``, ``tripplite_time_to_empty``), all gauges (status
bits 0/1), with one label, ``hostname``, the exporting host's fully qualified name
(``socket.getfqdn()``). The exposition adds ``device`` in front of it. ``device_id`` (the
HID path) was never exported. While a UPS is down the seed's scrape was empty: so is ours.

``tripplite_health`` keeps the seed's name although report 52 is the battery charge
(docs/tripplite.md). One family is ours, not the seed's: ``tripplite_missing_reports_total``,
the reports whose replies did not decode since start (partial polls).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from power_exporter.sources.base import RawFamily, RawSample
from power_exporter.sources.tripplite.table import REPORTS, STATUS_BITS, Coding

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from power_exporter.model import DeviceIdentity, Reading

PREFIX: Final = "tripplite"
HOSTNAME_LABEL: Final = "hostname"
# The native name of the count of reports that did not decode (not one of the seed's).
MISSING_REPORTS: Final = "missing reports"
_DEFAULT_HELP: Final = "Tripplite Metric"
_HELP: Final[Mapping[str, str]] = {
    "health": "UPS components health",
    "time to empty": "Runtime left in seconds",
}


def metric_name(native: str) -> str:
    """``status.ac present`` -> ``tripplite_status_ac_present``."""
    return f"{PREFIX}_" + native.replace(".", "_").replace(" ", "_")


def _native_names() -> list[str]:
    names: list[str] = []
    for report in REPORTS:
        if report.coding is Coding.BITS:
            names.extend(f"{report.name}.{row.key}" for row in STATUS_BITS)
        else:
            names.append(report.name)
    return names


# One family object per native name, made once: the exposition wants them identical.
FAMILIES: Final[Mapping[str, RawFamily]] = {
    **{
        native: RawFamily(metric_name(native), "gauge", _HELP.get(native, _DEFAULT_HELP))
        for native in _native_names()
    },
    MISSING_REPORTS: RawFamily(
        f"{PREFIX}_missing_reports_total",
        "counter",
        "Feature reports whose replies did not decode (kept out of partial readings)",
    ),
}


class TrippliteNaming:
    """Raw samples of a TrippLite reading under the seed's names."""

    def samples(self, reading: Reading) -> Iterable[RawSample]:
        """One gauge per raw value the reading has, labelled with the host's name."""
        hostname = reading.identity.labels.get(HOSTNAME_LABEL)
        labels = ((HOSTNAME_LABEL, hostname),) if hostname is not None else ()
        return [
            RawSample(family, reading.raw[native], labels)
            for native, family in FAMILIES.items()
            if native in reading.raw
        ]

    def down_samples(self, identity: DeviceIdentity) -> Iterable[RawSample]:  # noqa: ARG002
        """Nothing: the seed's scrape was empty while the UPS could not be read."""
        return ()


NAMING: Final = TrippliteNaming()
