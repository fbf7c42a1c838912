"""The raw apcupsd series, named as mdlayher/apcupsd_exporter names them.

- The families of apcupsd_exporter (its ``UPSCollector``), with its ``ups`` label (UPSNAME):
  ``apcupsd_ups_load_percent``, ``apcupsd_battery_charge_percent``, ``apcupsd_line_volts``,
  ``apcupsd_line_nominal_volts``, ``apcupsd_output_volts``, ``apcupsd_battery_volts``,
  ``apcupsd_battery_nominal_volts``, ``apcupsd_battery_number_transfers_total``,
  ``apcupsd_battery_time_left_seconds``, ``apcupsd_battery_time_on_seconds``,
  ``apcupsd_battery_cumulative_time_on_seconds_total``,
  ``apcupsd_last_transfer_on_battery_time_seconds``,
  ``apcupsd_last_transfer_off_battery_time_seconds``, ``apcupsd_last_selftest_time_seconds``,
  ``apcupsd_nominal_power_watts``, ``apcupsd_internal_temperature_celsius`` and
  ``apcupsd_info{ups,hostname,model,status}``. Values as apcupsd gives them, in the units the
  names say (TIMELEFT's minutes become seconds).
- Unlike apcupsd_exporter, a key the UPS does not report (or a date that is ``N/A``) gives
  no sample rather than a 0.
- Beyond its set: ``apcupsd_battery_date_timestamp_seconds`` (BATTDATE, midnight UTC) and
  every other numeric key as ``apcupsd_status_value{key="EXTBATTS"}``, in apcupsd's unit
  (dates as Unix seconds), so nothing the UPS reports is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from power_exporter.sources.base import MetricKind, RawFamily, RawSample

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from power_exporter.model import DeviceIdentity, Reading


@dataclass(frozen=True, slots=True)
class Row:
    """A status key's family and the factor from apcupsd's unit to the family's."""

    family: RawFamily
    scale: float = 1.0


def _row(name: str, kind: MetricKind, text: str, scale: float = 1.0) -> Row:
    return Row(RawFamily(f"apcupsd_{name}", kind, text), scale)


# Status key -> family (one row per key, apcupsd_exporter's names and meanings).
APCUPSD_FAMILIES: Final[Mapping[str, Row]] = {
    "LOADPCT": _row("ups_load_percent", "gauge", "UPS load in percent of its capacity (LOADPCT)."),
    "BCHARGE": _row("battery_charge_percent", "gauge", "Battery charge in percent (BCHARGE)."),
    "LINEV": _row("line_volts", "gauge", "Input line voltage (LINEV)."),
    "NOMINV": _row("line_nominal_volts", "gauge", "Rated input voltage (NOMINV)."),
    "OUTPUTV": _row("output_volts", "gauge", "Output voltage (OUTPUTV)."),
    "BATTV": _row("battery_volts", "gauge", "Battery voltage (BATTV)."),
    "NOMBATTV": _row("battery_nominal_volts", "gauge", "Rated battery voltage (NOMBATTV)."),
    "NUMXFERS": _row(
        "battery_number_transfers_total", "counter", "Transfers to battery since apcupsd started."
    ),
    "TIMELEFT": _row(
        "battery_time_left_seconds", "gauge", "Estimated seconds of battery power left.", 60.0
    ),
    "TONBATT": _row(
        "battery_time_on_seconds", "gauge", "Seconds on battery in the current outage (0 on line)."
    ),
    "CUMONBATT": _row(
        "battery_cumulative_time_on_seconds_total",
        "counter",
        "Seconds on battery since apcupsd started.",
    ),
    "XONBATT": _row(
        "last_transfer_on_battery_time_seconds",
        "gauge",
        "Unix time of the last transfer to battery since apcupsd started.",
    ),
    "XOFFBATT": _row(
        "last_transfer_off_battery_time_seconds",
        "gauge",
        "Unix time of the last transfer off battery since apcupsd started.",
    ),
    "LASTSTEST": _row("last_selftest_time_seconds", "gauge", "Unix time of the last self-test."),
    "NOMPOWER": _row("nominal_power_watts", "gauge", "Rated real power in watts (NOMPOWER)."),
    "ITEMP": _row(
        "internal_temperature_celsius",
        "gauge",
        "Temperature apcupsd reports as ITEMP, degrees Celsius.",
    ),
    "BATTDATE": _row(
        "battery_date_timestamp_seconds",
        "gauge",
        "Unix time (midnight UTC) of the battery's date: installed or replaced.",
    ),
}
OTHER_FAMILY: Final = RawFamily(
    "apcupsd_status_value",
    "gauge",
    "Other numeric apcupsd status values by key, in apcupsd's unit; dates as Unix time.",
)
INFO_FAMILY: Final = RawFamily(
    "apcupsd_info", "info", "Metadata about the UPS: name, apcupsd's host, model and status."
)
INFO_LABELS: Final = ("ups", "hostname", "model", "status")


class ApcupsdNaming:
    """The RawNaming of the ``apcupsd`` kind."""

    def samples(self, reading: Reading) -> Iterable[RawSample]:
        """The apcupsd_exporter families, the other numeric keys and apcupsd_info."""
        ups = (("ups", reading.identity.labels.get("ups", "")),)
        samples = [
            RawSample(row.family, reading.raw[key] * row.scale, ups)
            for key, row in APCUPSD_FAMILIES.items()
            if key in reading.raw
        ]
        samples.extend(
            RawSample(OTHER_FAMILY, reading.raw[key], (("key", key), *ups))
            for key in sorted(reading.raw)
            if key not in APCUPSD_FAMILIES
        )
        labels = tuple((label, reading.identity.labels.get(label, "")) for label in INFO_LABELS)
        samples.append(RawSample(INFO_FAMILY, 1.0, labels))
        return samples

    def down_samples(self, identity: DeviceIdentity) -> Iterable[RawSample]:  # noqa: ARG002
        """Nothing: apcupsd_info carries the status, which is not known while down."""
        return ()


APCUPSD_NAMING: Final = ApcupsdNaming()
