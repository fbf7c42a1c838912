"""The vocabulary every source speaks: measures, status flags, identity and readings.

This module imports nothing from the package. A :class:`Reading` is plain typed data
in base units; it checks its own invariants so that nothing downstream has to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeAlias, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from power_exporter.errors import SourceError


class Measure(StrEnum):
    """A normalized quantity, always in base units (ratios 0..1, seconds, volts, watts...)."""

    BATTERY_CHARGE = "battery_charge"
    BATTERY_RUNTIME = "battery_runtime"
    BATTERY_VOLTAGE = "battery_voltage"
    BATTERY_TEMPERATURE = "battery_temperature"
    BATTERY_HEALTH = "battery_health"
    INPUT_VOLTAGE = "input_voltage"
    INPUT_FREQUENCY = "input_frequency"
    INPUT_CURRENT = "input_current"
    INPUT_POWER = "input_power"
    OUTPUT_VOLTAGE = "output_voltage"
    OUTPUT_FREQUENCY = "output_frequency"
    OUTPUT_CURRENT = "output_current"
    OUTPUT_POWER = "output_power"
    OUTPUT_APPARENT_POWER = "output_apparent_power"
    LOAD = "load"
    NOMINAL_POWER = "nominal_power"
    NOMINAL_APPARENT_POWER = "nominal_apparent_power"
    SOLAR_INPUT_POWER = "solar_input_power"
    CHARGE_COULOMBS = "charge_coulombs"
    INPUT_ENERGY = "input_energy"
    OUTPUT_ENERGY = "output_energy"
    SOLAR_ENERGY = "solar_energy"
    GRID_IMPORT_ENERGY = "grid_import_energy"
    GRID_EXPORT_ENERGY = "grid_export_energy"
    BATTERY_CHARGE_ENERGY = "battery_charge_energy"
    BATTERY_DISCHARGE_ENERGY = "battery_discharge_energy"


class Flag(StrEnum):
    """A status flag; the value is the ``flag`` label of ``power_status``."""

    ONLINE = "online"
    ON_BATTERY = "on_battery"
    LOW_BATTERY = "low_battery"
    HIGH_BATTERY = "high_battery"
    REPLACE_BATTERY = "replace_battery"
    CHARGING = "charging"
    DISCHARGING = "discharging"
    BYPASS = "bypass"
    CALIBRATING = "calibrating"
    OFF = "off"
    OVERLOAD = "overload"
    TRIM = "trim"
    BOOST = "boost"
    SHUTDOWN_IMMINENT = "shutdown_imminent"
    ALARM = "alarm"
    FULLY_CHARGED = "fully_charged"
    FULLY_DISCHARGED = "fully_discharged"


# Measures that are ratios and must lie in 0..1 (a load may exceed its nominal, so it is not here).
RATIO_MEASURES: Final = frozenset({Measure.BATTERY_CHARGE, Measure.BATTERY_HEALTH})
# Measures that can never be negative.
NON_NEGATIVE_MEASURES: Final = frozenset(
    {
        Measure.BATTERY_CHARGE,
        Measure.BATTERY_HEALTH,
        Measure.BATTERY_RUNTIME,
        Measure.LOAD,
        Measure.NOMINAL_POWER,
        Measure.NOMINAL_APPARENT_POWER,
        Measure.INPUT_FREQUENCY,
        Measure.OUTPUT_FREQUENCY,
        Measure.CHARGE_COULOMBS,
        *(measure for measure in Measure if measure.value.endswith("_energy")),
    }
)


def measure_problem(measure: Measure, value: float) -> str | None:
    """Say why ``value`` cannot be a ``measure``, or return None when it can."""
    if not math.isfinite(value):
        return f"{measure.value} is not finite: {value!r}"
    if measure in RATIO_MEASURES and not 0.0 <= value <= 1.0:
        return f"{measure.value} ratio outside 0..1: {value!r}"
    if measure in NON_NEGATIVE_MEASURES and value < 0.0:
        return f"{measure.value} is negative: {value!r}"
    return None


def checked_measures(
    pairs: Iterable[tuple[Measure, float]],
) -> tuple[dict[Measure, float], list[str]]:
    """Split candidate measures into the valid ones and the reasons the others were dropped."""
    good: dict[Measure, float] = {}
    problems: list[str] = []
    for measure, value in pairs:
        problem = measure_problem(measure, value)
        if problem is None:
            good[measure] = value
        else:
            problems.append(problem)
    return good, problems


_K = TypeVar("_K")
_V = TypeVar("_V")


def _frozen_map(items: Mapping[_K, _V]) -> Mapping[_K, _V]:
    return MappingProxyType(dict(items))


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who a device is: its configured name, its source kind and what it says of itself.

    ``labels`` holds source-specific identity labels a raw naming scheme may use
    (EcoFlow's ``device_name``, TrippLite's ``hostname``...).
    """

    name: str
    source: str
    vendor: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a device needs a name")
        object.__setattr__(self, "labels", _frozen_map(self.labels))


@dataclass(frozen=True, slots=True)
class Reading:
    """One good reading of one device.

    ``measures`` are normalized, in base units; a measure the device does not give is
    absent. ``flags`` are the status flags that are set, out of ``known_flags``, the flags
    this source can know at all (rendered 1/0). ``raw`` keeps every numeric value the
    device gave under its native name; ``text`` its string values (``ups.status``,
    ``device.mfr``...). ``taken_at`` is Unix time in seconds.
    """

    identity: DeviceIdentity
    taken_at: float
    measures: Mapping[Measure, float] = field(default_factory=dict)
    flags: frozenset[Flag] = frozenset()
    known_flags: frozenset[Flag] = frozenset()
    raw: Mapping[str, float] = field(default_factory=dict)
    text: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for measure, value in self.measures.items():
            problem = measure_problem(measure, value)
            if problem is not None:
                raise ValueError(problem)
        for name, value in self.raw.items():
            if not math.isfinite(value):
                raise ValueError(f"raw {name} is not finite: {value!r}")
        if not self.flags <= self.known_flags:
            unknown = ", ".join(sorted(self.flags - self.known_flags))
            raise ValueError(f"flags set that the source does not know: {unknown}")
        object.__setattr__(self, "measures", _frozen_map(self.measures))
        object.__setattr__(self, "raw", _frozen_map(self.raw))
        object.__setattr__(self, "text", _frozen_map(self.text))

    @property
    def device(self) -> str:
        """The configured name of the device."""
        return self.identity.name


@dataclass(frozen=True, slots=True)
class DeviceFault:
    """A device of a source could not be read this time (the others may have been)."""

    device: str
    error: SourceError


@dataclass(frozen=True, slots=True)
class Roster:
    """The devices a fan-out entry has now (a UPS list, an account's device list).

    A device of the entry missing from its rosters for the entry's ``retire_after`` leaves
    the exporter; one that comes back returns. Entries that never send a roster keep their
    devices for good.
    """

    entry: str
    devices: frozenset[str]

    @property
    def device(self) -> str:
        """The entry the roster speaks for (so every event names a device or an entry)."""
        return self.entry


Event: TypeAlias = "Reading | DeviceFault | Roster"
