"""The vocabulary of the SNMP profiles: a column per MIB object, with its unit conversion.

Every conversion is data on the column: ``scale`` brings the device's unit to the base unit
(:data:`TENTHS`, :data:`TIMETICKS`, :data:`MINUTES`, :data:`PERCENT`...), ``unknown`` lists the
raw values the MIB (or the vendor's firmware) uses for "no data" (:data:`GAUGE_UNKNOWN`,
:data:`MINUS_ONE`), ``zero_is_absent`` marks objects where 0 means "no sensor" (a battery
temperature of exactly 0 °C), ``levels`` maps an enum to values (an outlet's off/on to 0/1),
``total`` marks a device's own energy total (carried over its resets into a counter), and
``combine`` says how the rows of a table give one value.
NULL, noSuchObject and noSuchInstance never reach a column: they mean absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal, TypedDict

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.model import Flag, Measure

TENTHS: Final = 0.1
HUNDREDTHS: Final = 0.01
TIMETICKS: Final = 0.01  # TimeTicks are hundredths of a second
MINUTES: Final = 60.0
PERCENT: Final = 0.01  # percent -> ratio
TENTHS_PERCENT: Final = 0.001  # tenths of a percent -> ratio
HUNDREDTHS_KW: Final = 10.0  # hundredths of a kilowatt (or kVA) -> watts (VA)
TENTHS_KWH: Final = 360_000.0  # tenths of a kilowatt-hour -> joules

GAUGE_UNKNOWN: Final = frozenset({4294967295})  # Gauge32 all ones: "unknown" (Huawei, Tripp Lite)
MINUS_ONE: Final = frozenset({-1})  # "not supported" (Riello NetMan, APC -1 objects)
INT_UNKNOWN: Final = frozenset({-1, 2147483647, 4294967295})
ABSOLUTE_ZERO: Final = frozenset({-273})  # Tripp Lite PowerAlert: no temperature probe


def oid(dotted: str) -> tuple[int, ...]:
    """``"1.3.6.1"`` -> ``(1, 3, 6, 1)``."""
    return tuple(int(arc) for arc in dotted.strip(".").split("."))


@dataclass(frozen=True, slots=True)
class Column:
    """One MIB object: a scalar (``index`` empty) or a column of a table.

    ``name`` is the MIB object name, which is also its raw metric name (as snmp_exporter's
    generator names it); ``index`` names the table's index object, the label of its rows.
    A column with a ``measure`` gives that normalized measure; the first column of a profile
    that gives a measure wins, so the high-precision objects come first. A table column with
    a ``series`` gives that labelled measure per row as well (per outlet or per phase).
    """

    name: str
    oid: tuple[int, ...]
    measure: Measure | None = None
    scale: float = 1.0
    unknown: frozenset[int] = frozenset()
    zero_is_absent: bool = False
    index: str = ""
    combine: Literal["first", "sum", "max"] = "first"
    text: bool = False  # a string: identity or description, never a number
    # A table column may also give one series per row of a labelled measure: per outlet
    # (``outlet="<index>"``) or per phase (``phase="L<index>"``, only when there are several).
    series: Measure | None = None
    per: Literal["", "outlet", "phase"] = ""
    # The scalar that counts the table's rows in use (upsInputNumLines): rows past it are
    # placeholders some cards keep (a single-phase UPS with a three-row table).
    counted_by: str = ""
    # An enum read as values: (raw, value) pairs; a raw value not listed means "no data".
    levels: tuple[tuple[int, float], ...] = ()
    # A device's own energy total (it resets now and then): made into a counter.
    total: bool = False

    def value(self, raw: int) -> float | None:
        """The base-unit value of a raw number, or None when it means "no data"."""
        if raw in self.unknown or (self.zero_is_absent and raw == 0):
            return None
        if self.levels:
            return dict(self.levels).get(raw)
        return round(raw * self.scale, 9)


class SeriesKeys(TypedDict, total=False):
    """The keywords that make a table column give a labelled measure per row."""

    series: Measure
    per: Literal["outlet", "phase"]
    counted_by: str


def per_phase(series: Measure, counted_by: str = "") -> SeriesKeys:
    """Keywords of a table column that also gives ``series`` per phase."""
    return {"series": series, "per": "phase", "counted_by": counted_by}


def per_outlet(series: Measure) -> SeriesKeys:
    """Keywords of a table column that also gives ``series`` per outlet."""
    return {"series": series, "per": "outlet"}


def scalar(name: str, dotted: str, measure: Measure | None = None, **kw: object) -> Column:
    """A scalar object (``.0`` is added when it is read)."""
    return Column(name, oid(dotted), measure, **kw)  # type: ignore[arg-type]


def text(name: str, dotted: str) -> Column:
    """A string scalar: an identity or description."""
    return Column(name, oid(dotted), text=True)


def table(
    name: str, dotted: str, index: str, measure: Measure | None = None, **kw: object
) -> Column:
    """A column of a table whose rows are labelled by ``index``."""
    return Column(name, oid(dotted), measure, index=index, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class StatusEnum:
    """An enumerated status object and the flags each of its values sets."""

    column: str
    flags: Mapping[int, frozenset[Flag]]


@dataclass(frozen=True, slots=True)
class Identity:
    """Which columns name the device (the first present, non-blank one of each chain)."""

    vendor: str
    vendor_chain: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    serial: tuple[str, ...] = ()
    firmware: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """What to read from one family of agents, and what it means."""

    name: str
    description: str
    identity: Identity
    subtrees: tuple[tuple[int, ...], ...]
    columns: tuple[Column, ...]
    status: tuple[StatusEnum, ...] = ()
    # Known flags beyond the enums' (the UPS-MIB alarm table's).
    extra_flags: frozenset[Flag] = frozenset()
    alarms: bool = False  # read the RFC 1628 alarm table
    by_oid: Mapping[tuple[int, ...], Column] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_oid", {column.oid: column for column in self.columns})
        for column in self.columns:
            if not any(column.oid[: len(tree)] == tree for tree in self.subtrees):
                raise ValueError(f"{self.name}: {column.name} lies outside the walked subtrees")

    @property
    def known_flags(self) -> frozenset[Flag]:
        """Every flag this profile can set."""
        flags = frozenset().union(*(f for e in self.status for f in e.flags.values()))
        return flags | self.extra_flags

    def column_of(self, found: tuple[int, ...]) -> tuple[Column, tuple[int, ...]] | None:
        """The column an OID of a walk belongs to, and its index (``(0,)`` for a scalar)."""
        for cut in range(len(found) - 1, 0, -1):
            column = self.by_oid.get(found[:cut])
            if column is not None:
                return column, found[cut:]
        return None
