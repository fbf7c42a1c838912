"""What TrippLite's protocol 2012 feature reports mean: three tables, one row per fact.

``REPORTS`` lists the reports the seed (numat/tripplite) reads, in its order, each with the
JSON path of its value in the seed's output, its report id, its data size and its coding:
integers are little-endian and unsigned; ``TENTHS`` values are tenths; ``BITS`` is the status
byte, bit 0 (least significant) first. ``STATUS_BITS`` names those bits as the seed's JSON
does and maps them onto status flags; ``MEASURES`` maps raw values onto normalized measures.

A raw value's native name is its JSON path joined by dots (``input.voltage``,
``status.ac present``); the raw naming turns that into the seed's metric names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final

from power_exporter.model import Flag, Measure

if TYPE_CHECKING:
    from collections.abc import Mapping


class Coding(Enum):
    """How a report's data bytes become a value."""

    INT = "int"  # unsigned little-endian integer
    TENTHS = "tenths"  # unsigned little-endian integer, in tenths
    BITS = "bits"  # the status byte, one boolean per bit


@dataclass(frozen=True, slots=True)
class Report:
    """One feature report: where its value goes, its id, data size and coding."""

    path: tuple[str, ...]
    report_id: int
    size: int
    coding: Coding

    @property
    def name(self) -> str:
        """The native name of the value: the JSON path joined by dots."""
        return ".".join(self.path)

    @property
    def length(self) -> int:
        """The length asked of hidapi: the report id byte and the data."""
        return self.size + 1


REPORTS: Final[tuple[Report, ...]] = (
    Report(("config", "voltage"), 48, 1, Coding.INT),  # nominal V
    Report(("config", "frequency"), 2, 1, Coding.INT),  # nominal Hz
    Report(("config", "power"), 3, 2, Coding.INT),  # nominal VA
    Report(("status",), 50, 1, Coding.BITS),
    Report(("input", "voltage"), 24, 2, Coding.TENTHS),  # V
    Report(("input", "frequency"), 25, 2, Coding.TENTHS),  # Hz
    Report(("output", "voltage"), 27, 2, Coding.TENTHS),  # V
    Report(("output", "power"), 71, 2, Coding.INT),  # W
    # The seed calls it "health"; it is the charge (HID RemainingCapacity, docs/tripplite.md).
    Report(("health",), 52, 1, Coding.INT),  # %
    Report(("time to empty",), 53, 2, Coding.INT),  # s
)

# The key of the HID path in the seed's JSON (a string; kept in Reading.text).
DEVICE_ID: Final = "device_id"
# Empty replies are asked again this many times before the read fails (the seed's retries=3).
EMPTY_RETRIES: Final = 3


@dataclass(frozen=True, slots=True)
class StatusBit:
    """One bit of the status byte: its name in the seed's JSON and the flag it means when set."""

    bit: int
    key: str
    when_set: Flag


# ONLINE and ON_BATTERY are not read from one bit alone: see :mod:`.status`.
STATUS_BITS: Final[tuple[StatusBit, ...]] = (
    StatusBit(0, "shutdown imminent", Flag.SHUTDOWN_IMMINENT),
    StatusBit(1, "ac present", Flag.ONLINE),
    StatusBit(2, "charging", Flag.CHARGING),
    StatusBit(3, "discharging", Flag.DISCHARGING),
    StatusBit(4, "needs replacement", Flag.REPLACE_BATTERY),
    # HID BelowRemainingCapacityLimit, NUT's LB.
    StatusBit(5, "below remaining capacity", Flag.LOW_BATTERY),
    StatusBit(6, "fully charged", Flag.FULLY_CHARGED),
    StatusBit(7, "fully discharged", Flag.FULLY_DISCHARGED),
)

KNOWN_FLAGS: Final[frozenset[Flag]] = frozenset(
    {Flag.ON_BATTERY} | {row.when_set for row in STATUS_BITS}
)


@dataclass(frozen=True, slots=True)
class Field:
    """A raw value that is a measure, and what to divide it by for the base unit."""

    measure: Measure
    divisor: float = 1.0


MEASURES: Final[Mapping[str, Field]] = {
    "input.voltage": Field(Measure.INPUT_VOLTAGE),
    "input.frequency": Field(Measure.INPUT_FREQUENCY),
    "output.voltage": Field(Measure.OUTPUT_VOLTAGE),
    "output.power": Field(Measure.OUTPUT_POWER),
    "config.power": Field(Measure.NOMINAL_APPARENT_POWER),
    "health": Field(Measure.BATTERY_CHARGE, 100.0),  # percent (report 52: the charge)
    "time to empty": Field(Measure.BATTERY_RUNTIME),
}
