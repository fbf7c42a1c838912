"""A walk of an agent, through its profile, becomes a Reading.

Numbers go to ``raw`` as the agent gave them, keyed ``name`` for scalars and
``name|index_label=index`` for table rows (see :mod:`.naming`); strings go to ``text``;
columns with a measure give it through their unit conversion, the first column present
winning; a device's own energy total becomes a counter through :class:`Totals`, which carries
it over the device's resets; enums and the UPS-MIB alarm table give the flags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from power_exporter.model import (
    DeviceIdentity,
    Flag,
    Labels,
    Measure,
    Reading,
    checked_measures,
)
from power_exporter.sources.snmp.profiles import ALARM_FLAGS, UPS_ALARM_DESCR, UPS_WELL_KNOWN_ALARMS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.sources.monotonic import Totals
    from power_exporter.sources.snmp.columns import Column, Profile
    from power_exporter.sources.snmp.engine import Walk

RAW_SEPARATOR: Final = "|"
SERIAL_PLACEHOLDERS: Final = frozenset({"", "unknown", "n/a", "na", "none", "-", "0"})


def raw_key(column: Column, index: tuple[int, ...]) -> str:
    """The ``Reading.raw`` key of one value: the object name, and its row for a table."""
    if not column.index:
        return column.name
    return f"{column.name}{RAW_SEPARATOR}{column.index}={'.'.join(map(str, index))}"


_PHASE_SERIES: Final = frozenset(
    {
        Measure.INPUT_PHASE_VOLTAGE,
        Measure.INPUT_PHASE_CURRENT,
        Measure.INPUT_PHASE_POWER,
        Measure.INPUT_PHASE_APPARENT_POWER,
        Measure.OUTPUT_PHASE_VOLTAGE,
        Measure.OUTPUT_PHASE_CURRENT,
        Measure.OUTPUT_PHASE_POWER,
        Measure.OUTPUT_PHASE_APPARENT_POWER,
    }
)


def _labelled(
    rows: list[tuple[Column, tuple[int, ...], float]], numbers: Mapping[str, int]
) -> dict[Measure, dict[Labels, float]]:
    """Per-row series: rows past the table's own count left out, phases only when several."""
    labelled: dict[Measure, dict[Labels, float]] = {}
    for column, index, value in rows:
        limit = numbers.get(column.counted_by) if column.counted_by else None
        if limit is not None and index[0] > limit:
            continue
        if column.series is not None:
            labelled.setdefault(column.series, {})[_row_labels(column, index)] = value
    return {
        measure: series
        for measure, series in labelled.items()
        if len(series) > 1 or measure not in _PHASE_SERIES
    }


def _row_labels(column: Column, index: tuple[int, ...]) -> Labels:
    row = ".".join(map(str, index))
    return (("phase", f"L{row}"),) if column.per == "phase" else (("outlet", row),)


def _combine(column: Column, values: list[float]) -> float:
    if column.combine == "sum":
        return sum(values)
    if column.combine == "max":
        return max(values)
    return values[0]


def _alarm_flags(walk: Walk) -> set[Flag]:
    """Flags from the RFC 1628 alarm table: ALARM for any real alarm row, and its own flag."""
    flags: set[Flag] = set()
    prefix = UPS_WELL_KNOWN_ALARMS
    for found, value in walk.items():
        if found[: len(UPS_ALARM_DESCR)] != UPS_ALARM_DESCR or not isinstance(value, str):
            continue
        if value.startswith("0.0"):  # placeholder rows some cards keep (cetpower)
            continue
        flags.add(Flag.ALARM)
        arcs = tuple(int(a) for a in value.split(".") if a.isdigit())
        if arcs[: len(prefix)] == prefix and len(arcs) == len(prefix) + 1:
            flags |= ALARM_FLAGS.get(arcs[-1], frozenset())
    return flags


def build_reading(
    device: str,
    profile: Profile,
    walk: Walk,
    taken_at: float,
    sys_descr: str = "",
    *,
    raw: bool = True,
    totals: Totals | None = None,
) -> tuple[Reading, list[str]]:
    """The Reading of one walk, and what the plausibility rules dropped (for the log).

    ``totals`` are this device's energy totals so far (kept by its source between reads).
    """
    natives: dict[str, float] = {}
    text: dict[str, str] = {}
    rows: dict[str, list[float]] = {}
    counted: list[tuple[Column, tuple[int, ...], float]] = []
    numbers: dict[str, int] = {}
    for found, value in walk.items():
        located = profile.column_of(found)
        if located is None or value is None:
            continue
        column, index = located
        if column.text or isinstance(value, str):
            if isinstance(value, str) and value:
                text.setdefault(column.name, value)
            continue
        natives[raw_key(column, index)] = float(value)
        numbers.setdefault(column.name, value)
        converted = column.value(value)
        if converted is not None and column.measure is not None:
            rows.setdefault(column.name, []).append(converted)
        if converted is not None and column.series is not None:
            counted.append((column, index, converted))
    candidates = _candidates(profile, rows, totals)
    measures, problems = checked_measures(candidates.items(), "snmp")
    flags = _flags(profile, numbers, walk)
    if sys_descr:
        text["sysDescr"] = sys_descr
    identity = DeviceIdentity(
        name=device,
        source="snmp",
        vendor=_first(text, profile.identity.vendor_chain) or profile.identity.vendor,
        model=_first(text, profile.identity.model),
        serial=_serial(_first(text, profile.identity.serial)),
        firmware=_first(text, profile.identity.firmware),
        labels={"profile": profile.name},
    )
    reading = Reading(
        identity=identity,
        taken_at=taken_at,
        measures=measures,
        flags=flags,
        known_flags=profile.known_flags,
        raw=natives if raw else {},
        text=text,
        labelled=_labelled(counted, numbers),
    )
    return reading, problems


def _candidates(
    profile: Profile, rows: Mapping[str, list[float]], totals: Totals | None
) -> dict[Measure, float]:
    """Each measure from the first column giving it; energy totals made into counters."""
    candidates: dict[Measure, float] = {}
    for column in profile.columns:
        if column.measure is None or column.measure in candidates or column.name not in rows:
            continue
        value = _combine(column, rows[column.name])
        if column.total and totals is not None:
            counted_on = totals.update({column.name: value}).get(column.name)
            if counted_on is None:  # a total of 0: no news yet
                continue
            value = counted_on
        candidates[column.measure] = value
    return candidates


def _flags(profile: Profile, numbers: Mapping[str, int], walk: Walk) -> frozenset[Flag]:
    flags: set[Flag] = set()
    for enum in profile.status:
        if enum.column in numbers:
            flags |= enum.flags.get(numbers[enum.column], frozenset())
    if profile.alarms and numbers.get("upsAlarmsPresent", 0) > 0:
        flags |= _alarm_flags(walk)
    return frozenset(flags) & profile.known_flags


def _first(text: Mapping[str, str], chain: tuple[str, ...]) -> str:
    return next((text[name] for name in chain if text.get(name)), "")


def _serial(serial: str) -> str:
    return "" if serial.strip().lower() in SERIAL_PLACEHOLDERS else serial.strip()
