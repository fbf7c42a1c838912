"""The vocabulary every source speaks: measures, status flags, identity and readings.

This module imports nothing from the package. A :class:`Reading` is plain typed data
in base units; it checks its own invariants so that nothing downstream has to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from power_exporter.errors import SourceError


class Measure(StrEnum):
    """A normalized quantity, always in base units (ratios 0..1, seconds, volts, watts...)."""

    BATTERY_CHARGE = "battery_charge"
    BATTERY_RUNTIME = "battery_runtime"
    BATTERY_TIME_TO_FULL = "battery_time_to_full"
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
    # Labelled measures: one series per outlet (label ``outlet``) or per phase (``phase``).
    OUTLET_CURRENT = "outlet_current"
    OUTLET_POWER = "outlet_power"
    OUTLET_APPARENT_POWER = "outlet_apparent_power"
    OUTLET_VOLTAGE = "outlet_voltage"
    OUTLET_ON = "outlet_on"
    INPUT_PHASE_VOLTAGE = "input_phase_voltage"
    INPUT_PHASE_CURRENT = "input_phase_current"
    INPUT_PHASE_POWER = "input_phase_power"
    INPUT_PHASE_APPARENT_POWER = "input_phase_apparent_power"
    OUTPUT_PHASE_VOLTAGE = "output_phase_voltage"
    OUTPUT_PHASE_CURRENT = "output_phase_current"
    OUTPUT_PHASE_POWER = "output_phase_power"
    OUTPUT_PHASE_APPARENT_POWER = "output_phase_apparent_power"
    # Energy counters (joules) from a device's own totals, carried on over its resets.
    INPUT_ENERGY = "input_energy"
    OUTPUT_ENERGY = "output_energy"
    SOLAR_ENERGY = "solar_energy"
    GRID_IMPORT_ENERGY = "grid_import_energy"
    GRID_EXPORT_ENERGY = "grid_export_energy"
    BATTERY_CHARGE_ENERGY = "battery_charge_energy"
    BATTERY_DISCHARGE_ENERGY = "battery_discharge_energy"
    # Labelled: one series per battery pack (label ``battery``, "0" the main pack).
    BATTERY_PACK_CHARGE = "battery_pack_charge"
    BATTERY_PACK_HEALTH = "battery_pack_health"
    BATTERY_PACK_VOLTAGE = "battery_pack_voltage"
    BATTERY_PACK_TEMPERATURE = "battery_pack_temperature"
    BATTERY_PACK_CYCLES = "battery_pack_cycles"
    # Signed: positive while the site draws from the grid, negative while it feeds the grid.
    GRID_POWER = "grid_power"
    # Labelled: one series per circuit of a home panel (label ``circuit``).
    CIRCUIT_POWER = "circuit_power"
    # Labelled: one series per component of a device (label ``component``; a battery pack's
    # also ``battery``): the code the device reports as it is, 0 = no error / no warning.
    DEVICE_ERROR_CODE = "device_error_code"
    DEVICE_WARNING_CODE = "device_warning_code"


Labels: TypeAlias = tuple[tuple[str, str], ...]
"""The labels of one series of a labelled measure, as (name, value) pairs: ``(("outlet", "3"),)``.
"""

RESERVED_LABELS: Final = frozenset(
    {"device", "flag", "reason", "measure", "state", "job", "instance", "le", "quantile"}
)
"""Label names the exporter or Prometheus give a meaning to: never a measure's or a device's own."""


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


@dataclass(frozen=True, slots=True)
class Bounds:
    """What values of a measure are physically possible, and which are devices' "unknown"s.

    ``low``..``high`` inclusive (``or_zero``: 0 too, as a frequency of no mains at all);
    ``sentinels`` are values, in the measure's base unit, that devices send for "no data"
    (65535 is 655.35 as a ratio of a percentage).
    """

    low: float
    high: float
    sentinels: frozenset[float] = frozenset()
    or_zero: bool = False
    # The whole parts a value near a sentinel can have: round(), which the sentinel test needs,
    # is slow, and most values are nowhere near one (implausibility()).
    near_sentinels: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        near = {int(s + d) for s in self.sentinels for d in (-SENTINEL_NEAR, 0.0, SENTINEL_NEAR)}
        object.__setattr__(self, "near_sentinels", frozenset(near))


SENTINEL_NEAR: Final = 1e-3
"""Far more than round(value, 9) can move a value: a value farther from every sentinel is none."""

_COUNT_SENTINELS: Final = frozenset({-1.0, 65535.0, 4294967295.0})
# The same, and 255 (a byte's "unknown"), on a percentage brought to a ratio (x 0.01).
_PERCENT_SENTINELS: Final = frozenset({-0.01, 2.55, 655.35, 42949672.95})
# -1 degree is a temperature: only the wider sentinels.
_TEMPERATURE_SENTINELS: Final = frozenset({65535.0, 4294967295.0})
_MAINS_FREQUENCY: Final = Bounds(40.0, 70.0, _COUNT_SENTINELS, or_zero=True)
_AC_VOLTAGE: Final = Bounds(0.0, 700.0, _COUNT_SENTINELS)
_CURRENT: Final = Bounds(0.0, 2000.0, _COUNT_SENTINELS)
_POWER: Final = Bounds(0.0, 2e6, _COUNT_SENTINELS)
_CODE: Final = Bounds(0.0, float(2**32 - 1))
RUNTIME_MAX: Final = 86400.0
"""Longest battery runtime taken as real, in seconds (24 h; see docs/design.md)."""

PLAUSIBLE: Final[Mapping[Measure, Bounds]] = MappingProxyType(
    {
        Measure.BATTERY_CHARGE: Bounds(0.0, 1.0, _PERCENT_SENTINELS),
        Measure.BATTERY_HEALTH: Bounds(0.0, 1.0, _PERCENT_SENTINELS),
        Measure.BATTERY_RUNTIME: Bounds(0.0, RUNTIME_MAX, _COUNT_SENTINELS),
        # a slow solar charge may take days: a week at most
        Measure.BATTERY_TIME_TO_FULL: Bounds(0.0, 7 * 86400.0, _COUNT_SENTINELS),
        Measure.BATTERY_VOLTAGE: Bounds(0.0, 1000.0, _COUNT_SENTINELS),
        Measure.BATTERY_TEMPERATURE: Bounds(-40.0, 100.0, _TEMPERATURE_SENTINELS),
        Measure.INPUT_VOLTAGE: _AC_VOLTAGE,
        Measure.INPUT_FREQUENCY: _MAINS_FREQUENCY,
        Measure.INPUT_CURRENT: _CURRENT,
        Measure.INPUT_POWER: _POWER,
        Measure.OUTPUT_VOLTAGE: _AC_VOLTAGE,
        Measure.OUTPUT_FREQUENCY: _MAINS_FREQUENCY,
        Measure.OUTPUT_CURRENT: _CURRENT,
        Measure.OUTPUT_POWER: _POWER,
        Measure.OUTPUT_APPARENT_POWER: _POWER,
        Measure.LOAD: Bounds(0.0, math.nextafter(2.5, 0.0), _PERCENT_SENTINELS),
        Measure.NOMINAL_POWER: _POWER,
        Measure.NOMINAL_APPARENT_POWER: _POWER,
        Measure.SOLAR_INPUT_POWER: Bounds(0.0, 1e5, _COUNT_SENTINELS),
        Measure.CHARGE_COULOMBS: Bounds(0.0, math.inf),
        Measure.OUTLET_CURRENT: _CURRENT,
        Measure.OUTLET_POWER: _POWER,
        Measure.OUTLET_APPARENT_POWER: _POWER,
        Measure.OUTLET_VOLTAGE: _AC_VOLTAGE,
        Measure.OUTLET_ON: Bounds(0.0, 1.0),
        Measure.INPUT_PHASE_VOLTAGE: _AC_VOLTAGE,
        Measure.INPUT_PHASE_CURRENT: _CURRENT,
        Measure.INPUT_PHASE_POWER: _POWER,
        Measure.INPUT_PHASE_APPARENT_POWER: _POWER,
        Measure.OUTPUT_PHASE_VOLTAGE: _AC_VOLTAGE,
        Measure.OUTPUT_PHASE_CURRENT: _CURRENT,
        Measure.OUTPUT_PHASE_POWER: _POWER,
        Measure.OUTPUT_PHASE_APPARENT_POWER: _POWER,
        **dict.fromkeys(
            (measure for measure in Measure if measure.value.endswith("_energy")),
            Bounds(0.0, math.inf),
        ),
        Measure.BATTERY_PACK_CHARGE: Bounds(0.0, 1.0, _PERCENT_SENTINELS),
        Measure.BATTERY_PACK_HEALTH: Bounds(0.0, 1.0, _PERCENT_SENTINELS),
        Measure.BATTERY_PACK_VOLTAGE: Bounds(0.0, 1000.0, _COUNT_SENTINELS),
        Measure.BATTERY_PACK_TEMPERATURE: Bounds(-40.0, 100.0, _TEMPERATURE_SENTINELS),
        Measure.BATTERY_PACK_CYCLES: Bounds(0.0, 1e5, _COUNT_SENTINELS),
        Measure.GRID_POWER: Bounds(-2e6, 2e6, _COUNT_SENTINELS),
        Measure.CIRCUIT_POWER: _POWER,
        # a code is a device's unsigned number, whatever it is: no value of it is "unknown"
        Measure.DEVICE_ERROR_CODE: _CODE,
        Measure.DEVICE_WARNING_CODE: _CODE,
    }
)
"""The plausibility policy: one row per measure, for every source. A value outside its row
never reaches ``power_*`` (the raw series keep it); it is counted by reason."""

STATION_RUNTIME_MAX: Final = 5000 * 60.0
"""A power station runs a small load for days: its runtime may go to 5000 min (EcoFlow's own
"n/a" threshold), where a UPS's cannot pass RUNTIME_MAX."""

SOURCE_PLAUSIBLE: Final[Mapping[str, Mapping[Measure, Bounds]]] = MappingProxyType(
    {"ecoflow": {Measure.BATTERY_RUNTIME: Bounds(0.0, STATION_RUNTIME_MAX, _COUNT_SENTINELS)}}
)
"""Rows of PLAUSIBLE that differ for one source kind (the Reading's ``identity.source``)."""

NOT_FINITE: Final = "not_finite"
SENTINEL: Final = "sentinel"
OUT_OF_RANGE: Final = "out_of_range"
IMPLAUSIBLE_REASONS: Final = (NOT_FINITE, SENTINEL, OUT_OF_RANGE)


def bounds_of(measure: Measure, source: str = "") -> Bounds:
    """The row of the policy for ``measure`` from a device of the ``source`` kind."""
    override = SOURCE_PLAUSIBLE.get(source)
    if override is not None and measure in override:
        return override[measure]
    return PLAUSIBLE[measure]


_ROWS: Final[dict[Measure, Bounds]] = dict(PLAUSIBLE)  # a plain dict: the quickest lookup


def implausibility(measure: Measure, value: float, source: str = "") -> str | None:
    """The reason ``value`` cannot be a ``measure`` (one of IMPLAUSIBLE_REASONS), or None."""
    if not math.isfinite(value):
        return NOT_FINITE
    # Every measure of every reading comes here: bounds_of() inlined for sources without rows.
    bounds = bounds_of(measure, source) if source in SOURCE_PLAUSIBLE else _ROWS[measure]
    if int(value) in bounds.near_sentinels and round(value, 9) in bounds.sentinels:
        return SENTINEL
    if bounds.low <= value <= bounds.high or (bounds.or_zero and value == 0.0):
        return None
    return OUT_OF_RANGE


def measure_problem(measure: Measure, value: float, source: str = "") -> str | None:
    """Say why ``value`` cannot be a ``measure``, or return None when it can."""
    reason = implausibility(measure, value, source)
    if reason is None:
        return None
    bounds = bounds_of(measure, source)
    where = f"outside {bounds.low:g}..{bounds.high:g}" if reason == OUT_OF_RANGE else reason
    return f"{measure.value} {where}: {value:.10g}"


def checked_measures(
    pairs: Iterable[tuple[Measure, float]], source: str = ""
) -> tuple[dict[Measure, float], list[str]]:
    """Collect candidate measures, and say why the policy drops any (for the source's log).

    Every candidate is returned: the Reading built from them drops the implausible ones and
    keeps them in ``Reading.dropped``, so that the store counts them, whatever the source.
    """
    candidates: dict[Measure, float] = {}
    problems: list[str] = []
    for measure, value in pairs:
        candidates[measure] = value
        problem = measure_problem(measure, value, source)
        if problem is not None:
            problems.append(problem)
    return candidates, problems


_K = TypeVar("_K")
_V = TypeVar("_V")


# One read-only empty mapping for every empty field: a proxy is an object the garbage
# collector walks, and most readings have no dropped, labelled or identity labels.
_EMPTY: Final[Mapping[Any, Any]] = MappingProxyType({})


def _frozen_map(items: Mapping[_K, _V]) -> Mapping[_K, _V]:
    return MappingProxyType(dict(items)) if items else _EMPTY


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
    absent, and one the plausibility policy (:data:`PLAUSIBLE`) refuses is moved to
    ``dropped`` (measure -> reason) when the Reading is built, whatever the source.
    ``flags`` are the status flags that are set, out of ``known_flags``, the flags this
    source can know at all (rendered 1/0). ``raw`` keeps every numeric value the
    device gave under its native name; ``text`` its string values (``ups.status``,
    ``device.mfr``...). ``labelled`` holds the measures a device has several of (per outlet,
    per phase): measure -> labels -> value, checked by the same policy. ``taken_at`` is Unix
    time in seconds.
    """

    identity: DeviceIdentity
    taken_at: float
    measures: Mapping[Measure, float] = field(default_factory=dict)
    flags: frozenset[Flag] = frozenset()
    known_flags: frozenset[Flag] = frozenset()
    raw: Mapping[str, float] = field(default_factory=dict)
    text: Mapping[str, str] = field(default_factory=dict)
    labelled: Mapping[Measure, Mapping[Labels, float]] = field(default_factory=dict)
    dropped: Mapping[Measure, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kept: dict[Measure, float] = {}
        dropped = dict(self.dropped)
        source = self.identity.source
        for measure, value in self.measures.items():
            reason = implausibility(measure, value, source)
            if reason is None:
                kept[measure] = value
            else:
                dropped[measure] = reason
        labelled = _screened(self.labelled, source, dropped)
        if not all(map(math.isfinite, self.raw.values())):  # the loop only to say which
            for name, value in self.raw.items():
                if not math.isfinite(value):
                    raise ValueError(f"raw {name} is not finite: {value!r}")
        if not self.flags <= self.known_flags:
            unknown = ", ".join(sorted(self.flags - self.known_flags))
            raise ValueError(f"flags set that the source does not know: {unknown}")
        object.__setattr__(self, "measures", _frozen_map(kept))
        object.__setattr__(self, "labelled", _frozen_map(labelled))
        object.__setattr__(self, "dropped", _frozen_map(dropped))
        object.__setattr__(self, "raw", _frozen_map(self.raw))
        object.__setattr__(self, "text", _frozen_map(self.text))

    @property
    def device(self) -> str:
        """The configured name of the device."""
        return self.identity.name


def _screened(
    labelled: Mapping[Measure, Mapping[Labels, float]], source: str, dropped: dict[Measure, str]
) -> dict[Measure, Mapping[Labels, float]]:
    """Labelled measures through the policy; what it refuses goes to ``dropped``."""
    kept: dict[Measure, Mapping[Labels, float]] = {}
    for measure, series in labelled.items():
        if not RESERVED_LABELS.isdisjoint([name for labels in series for name, _ in labels]):
            _refuse_reserved(measure, series)
        good: dict[Labels, float] = {}
        for labels, value in series.items():
            reason = implausibility(measure, value, source)
            if reason is None:
                good[labels] = value
            else:
                dropped[measure] = reason
        if good:
            kept[measure] = _frozen_map(good)
    return kept


def _refuse_reserved(measure: Measure, series: Mapping[Labels, float]) -> None:
    """Raise for the first series of ``measure`` that uses a reserved label name."""
    for labels in series:
        clash = RESERVED_LABELS.intersection(name for name, _ in labels)
        if clash:
            raise ValueError(f"{measure.value}: reserved label {min(clash)!r}")


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
