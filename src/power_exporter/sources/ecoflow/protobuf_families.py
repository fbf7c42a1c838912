"""The protobuf device families: which schema an SN speaks, its normalized table, and its cache.

Facts: the project's EcoFlow field notes, sections 1.3 (display), 1.4 (runtime) and 3 (SN
prefixes), themselves from tolwi/hassio-ecoflow-cloud, foxthefox's
ioBroker adapter, maodijim's RIVER 3 schema and capture, and rabits/ha-ef-ble's SN list.

**The cache rule.** A device sends increments with only the fields that changed, and its
firmware sends zeros explicitly: the RIVER 3 capture has 33 of its 74 display values and 26
of its 94 runtime values as zeros on the wire (our ``.proto`` files declare every scalar
``optional``, so an explicit zero is seen as present). So, per key:

1. a field present on the wire sets its value, zero included;
2. a field not re-sent keeps its value: it did not change, and no zero is ever invented;
3. a *full snapshot* (the reply to our "get everything" request) drops the keys of the same
   message (scope) that it lacks: the device no longer reports them;
4. when a whole message stopped arriving for ``keep_for`` seconds (the offline limit,
   ``stale_after``, 900 s by default, so values last as long as "assume offline" promises),
   its keys are dropped (a battery pack unplugged).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from power_exporter.model import Flag, Measure, checked_measures
from power_exporter.sources.ecoflow.app_schemas import own_commands
from power_exporter.sources.ecoflow.envelope import BMS_REPORTS, COMMANDS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from power_exporter.sources.ecoflow.envelope import Command, Section

log = logging.getLogger(__name__)


class Schema(StrEnum):
    """Which inner messages a device's protobuf speaks."""

    POWER_STATION = "power_station"  # 254/21, 254/22, 32/2, 32/50 (RIVER 3, DELTA 3, DELTA Pro 3)
    POWERSTREAM = "powerstream"  # 20/1
    FOREIGN = "foreign"  # reuses the command numbers with schemas of its own: not decoded
    UNKNOWN = "unknown"  # no fact: decoded with the power-station tables, as seed 002 did


# SN prefix -> schema (longest prefix first). Field notes section 3.
SCHEMAS: Final[Mapping[str, Schema]] = {
    "R651": Schema.POWER_STATION,  # RIVER 3
    "R653": Schema.POWER_STATION,
    "R654": Schema.POWER_STATION,  # RIVER 3 UPS
    "R655": Schema.POWER_STATION,
    "R631": Schema.POWER_STATION,  # RIVER 3 Plus
    "R634": Schema.POWER_STATION,
    "R635": Schema.POWER_STATION,
    "P231": Schema.POWER_STATION,  # DELTA 3
    "D361": Schema.POWER_STATION,  # DELTA 3 1500
    "P351": Schema.POWER_STATION,  # DELTA 3 Plus
    "D3N1": Schema.POWER_STATION,  # DELTA 3 Classic
    "D3M1": Schema.POWER_STATION,  # DELTA 3 Max
    "D3E1": Schema.POWER_STATION,  # DELTA 3 Max Plus
    "D3U1": Schema.POWER_STATION,  # DELTA 3 Ultra
    "D3UP": Schema.POWER_STATION,  # DELTA 3 Ultra Plus
    "PR11": Schema.POWER_STATION,  # DELTA 3 Air
    "PR12": Schema.POWER_STATION,
    "PR21": Schema.POWER_STATION,
    "MR51": Schema.POWER_STATION,  # DELTA Pro 3
    "MR53": Schema.POWER_STATION,  # DELTA Pro 3E
    "HW51": Schema.POWERSTREAM,
    "HW52": Schema.FOREIGN,  # Smart Plug (2/1)
    "Y711": Schema.FOREIGN,  # DELTA Pro Ultra
    "BK": Schema.FOREIGN,  # STREAM family, Smart Meter
    "AC71": Schema.FOREIGN,  # WAVE 3
    "RF43": Schema.FOREIGN,  # Glacier Classic
    "RF44": Schema.FOREIGN,
    "RF45": Schema.FOREIGN,
    "HD31": Schema.FOREIGN,  # Smart Home Panel 2
    "HR": Schema.FOREIGN,  # Smart Home Panel 3, OCEAN Pro
    "HJ": Schema.FOREIGN,  # PowerOcean
    "HC31": Schema.FOREIGN,
    "R37": Schema.FOREIGN,  # PowerOcean Plus
    "F371": Schema.FOREIGN,  # Alternator Charger
}

_POWER_STATION_COMMANDS: Final = frozenset({(254, 21), (254, 22), (32, 2), (32, 50)}) | {
    (254, 23),  # DELTA Pro 3's timestamped report: raw only
    *BMS_REPORTS,  # extra battery packs
}


def schema_of(serial: str) -> Schema:
    """The protobuf schema of a device by its SN (the longest matching prefix wins)."""
    for prefix in sorted(SCHEMAS, key=len, reverse=True):
        if serial.upper().startswith(prefix):
            return SCHEMAS[prefix]
    return Schema.UNKNOWN


def commands_for(serial: str) -> Mapping[tuple[int, int], Command]:
    """The inner messages we decode for this device; others are counted as unknown."""
    own = own_commands(serial)
    if own is not None:
        return own
    schema = schema_of(serial)
    if schema is Schema.FOREIGN:
        return {}
    if schema is Schema.POWERSTREAM:
        return {cmd: COMMANDS[cmd] for cmd in ((20, 1), (20, 4), (254, 32))}
    return {cmd: COMMANDS[cmd] for cmd in _POWER_STATION_COMMANDS}


# -- normalized mapping -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One raw key's contribution to a measure.

    Rows of one measure are either alternatives (``combine="first"``: the first key present,
    in table order) or parts (``combine="sum"``). ``below`` drops sentinel values (remaining
    times of 5939/5999 minutes mean "not applicable"); ``milli_above`` reads values above it
    as milli-units (RIVER 3 reports battery volts in mV, DELTA 3 in V).
    """

    measure: Measure
    scale: float = 1.0
    combine: str = "first"
    below: float | None = None
    milli_above: float | None = None

    def convert(self, value: float) -> float | None:
        """The value in base units, or None when it is a sentinel."""
        if self.below is not None and not value < self.below:
            return None
        if self.milli_above is not None and abs(value) > self.milli_above:
            value /= 1000.0
        return value * self.scale


_MINUTES: Final = 60.0
_NA_MINUTES: Final = 5000.0  # the notes' sentinels (5939, 5999, 143999) are all above

# Display (254/21) and runtime (254/22) keys, one property space. Field notes 1.3 and 1.4.
POWER_STATION_TABLE: Final[Mapping[str, Field]] = {
    "cms_batt_soc": Field(Measure.BATTERY_CHARGE, 0.01),  # whole system, as the display shows
    "bms_batt_soc": Field(Measure.BATTERY_CHARGE, 0.01),  # main pack
    "cms_batt_soh": Field(Measure.BATTERY_HEALTH, 0.01),
    "bms_batt_soh": Field(Measure.BATTERY_HEALTH, 0.01),
    "cms_dsg_rem_time": Field(Measure.BATTERY_RUNTIME, _MINUTES, below=_NA_MINUTES),
    "bms_dsg_rem_time": Field(Measure.BATTERY_RUNTIME, _MINUTES, below=_NA_MINUTES),
    "cms_batt_temp": Field(Measure.BATTERY_TEMPERATURE),
    "bms_max_cell_temp": Field(Measure.BATTERY_TEMPERATURE),
    "cms_batt_vol": Field(Measure.BATTERY_VOLTAGE, milli_above=1000.0),
    "bms_batt_vol": Field(Measure.BATTERY_VOLTAGE, milli_above=1000.0),
    "pow_in_sum_w": Field(Measure.INPUT_POWER),
    "pow_out_sum_w": Field(Measure.OUTPUT_POWER),
    "pow_get_pv": Field(Measure.SOLAR_INPUT_POWER, combine="sum"),
    "pow_get_pv2": Field(Measure.SOLAR_INPUT_POWER, combine="sum"),
    "pow_get_pv3": Field(Measure.SOLAR_INPUT_POWER, combine="sum"),
    "pow_get_pv4": Field(Measure.SOLAR_INPUT_POWER, combine="sum"),
    "pow_get_pv_h": Field(Measure.SOLAR_INPUT_POWER, combine="sum"),
    "pow_get_pv_l": Field(Measure.SOLAR_INPUT_POWER, combine="sum"),
    "plug_in_info_ac_in_vol": Field(Measure.INPUT_VOLTAGE),
    "plug_in_info_ac_in_feq": Field(Measure.INPUT_FREQUENCY),
    "plug_in_info_ac_in_amp": Field(Measure.INPUT_CURRENT),
    "plug_in_info_ac_out_vol": Field(Measure.OUTPUT_VOLTAGE),
    "ac_out_freq": Field(Measure.OUTPUT_FREQUENCY),
    "plug_in_info_ac_out_freq": Field(Measure.OUTPUT_FREQUENCY),
    "plug_in_info_ac_out_amp": Field(Measure.OUTPUT_CURRENT),
    "plug_in_info_ac_out_dsg_pow_max": Field(Measure.NOMINAL_POWER),
}
# While charging (state 2) only: a time to full is meaningless otherwise.
TIME_TO_FULL_TABLE: Final[Mapping[str, Field]] = {
    "cms_chg_rem_time": Field(Measure.BATTERY_TIME_TO_FULL, _MINUTES, below=_NA_MINUTES),
    "bms_chg_rem_time": Field(Measure.BATTERY_TIME_TO_FULL, _MINUTES, below=_NA_MINUTES),
}
AC_IN_POWER: Final = "pow_get_ac_in"  # W; 0 = no AC input
_AC_INPUTS: Final = frozenset(
    {Measure.INPUT_VOLTAGE, Measure.INPUT_FREQUENCY, Measure.INPUT_CURRENT}
)

# Battery state: 0 idle, 1 discharging, 2 charging ([R] DELTA Pro 3 doc, [T]); system first.
CHARGE_STATE_KEYS: Final = ("cms_chg_dsg_state", "bms_chg_dsg_state")
CHARGE_STATE_FLAGS: Final[Mapping[int, frozenset[Flag]]] = {
    0: frozenset(),
    1: frozenset({Flag.DISCHARGING}),
    2: frozenset({Flag.CHARGING}),
}
STATE_KNOWN_FLAGS: Final = frozenset({Flag.CHARGING, Flag.DISCHARGING})
_DISCHARGING: Final = 1
_CHARGING: Final = 2


@dataclass(frozen=True, slots=True)
class Normalized:
    """Measures and flags derived from a device's raw values."""

    measures: Mapping[Measure, float]
    flags: frozenset[Flag] = frozenset()
    known_flags: frozenset[Flag] = frozenset()
    problems: tuple[str, ...] = ()


def apply_table(table: Mapping[str, Field], raw: Mapping[str, float]) -> dict[Measure, float]:
    """Candidate measures from ``raw`` by ``table`` (not yet checked for range)."""
    out: dict[Measure, float] = {}
    for key, row in table.items():
        value = raw.get(key)
        if value is None:
            continue
        converted = row.convert(value)
        if converted is None:
            continue
        if row.combine == "sum":
            out[row.measure] = out.get(row.measure, 0.0) + converted
        elif row.measure not in out:
            out[row.measure] = converted
    return out


def normalize(serial: str, raw: Mapping[str, float]) -> Normalized | None:
    """The measures and flags of a power station's protobuf values.

    None for the other schemas: PowerStream's ``20_1.*`` keys are the developer API's, whose
    family table (``families.py``) applies to them as they are; foreign schemas have none.
    A time to full only while charging; no 0 V / 0 Hz / 0 A of AC input while AC input power
    comes in (RIVER 3 leaves those fields at 0); ``on_battery`` when the AC input reads 0 W
    and the battery discharges.
    """
    if schema_of(serial) not in {Schema.POWER_STATION, Schema.UNKNOWN}:
        return None
    state = next(
        (raw[key] for key in CHARGE_STATE_KEYS if raw.get(key) in CHARGE_STATE_FLAGS), None
    )
    candidates = apply_table(POWER_STATION_TABLE, raw)
    if state == _CHARGING:
        candidates.update(apply_table(TIME_TO_FULL_TABLE, raw))
    ac_in = raw.get(AC_IN_POWER)
    if ac_in is not None and ac_in > 0:
        for measure in _AC_INPUTS:
            if candidates.get(measure) == 0:
                del candidates[measure]
    measures, problems = checked_measures(candidates.items(), "ecoflow")
    if state is None:
        return Normalized(measures, problems=tuple(problems))
    flags, known = CHARGE_STATE_FLAGS[int(state)], STATE_KNOWN_FLAGS
    if ac_in is not None:
        known |= {Flag.ON_BATTERY}
        if ac_in <= 0 and state == _DISCHARGING:
            flags |= {Flag.ON_BATTERY}
    return Normalized(measures, flags, known, tuple(problems))


# -- the cache and its rule ----------------------------------------------------------------

DEFAULT_KEEP_FOR: Final = 900.0


@dataclass(slots=True)
class _Entry:
    value: float
    seen: float
    scope: str


@dataclass(slots=True)
class FieldCache:
    """The latest value of every raw key of one device, kept by the rule above."""

    keep_for: float = DEFAULT_KEEP_FOR
    _values: dict[str, _Entry] = field(default_factory=dict)
    _texts: dict[str, tuple[str, float, str]] = field(default_factory=dict)
    _scopes: dict[str, float] = field(default_factory=dict)

    def merge(
        self,
        scope: str,
        values: Mapping[str, float],
        texts: Mapping[str, str],
        now: float,
        *,
        full: bool = False,
    ) -> None:
        """Merge one message of ``scope``; a ``full`` snapshot drops the scope's absent keys."""
        self._scopes[scope] = now
        for key, value in values.items():
            if math.isfinite(value):
                self._values[key] = _Entry(value, now, scope)
        for key, text in texts.items():
            self._texts[key] = (text, now, scope)
        if full:
            for key in [k for k, e in self._values.items() if e.scope == scope]:
                if key not in values:
                    del self._values[key]
            for key in [k for k, (_, _, s) in self._texts.items() if s == scope]:
                if key not in texts:
                    del self._texts[key]

    def merge_sections(self, sections: Iterable[Section], now: float, *, full: bool) -> None:
        """Merge every decoded section of one payload."""
        for section in sections:
            whole = full or section.whole  # a whole report zeroes what it no longer holds
            self.merge(section.scope, section.values, section.texts, now, full=whole)

    def expire(self, now: float) -> None:
        """Apply part 4 of the rule: the keys of a message silent for ``keep_for`` go."""
        dead = {scope for scope, seen in self._scopes.items() if now - seen > self.keep_for}
        for key in [k for k, e in self._values.items() if e.scope in dead]:
            del self._values[key]
        for key in [k for k, (_, _, s) in self._texts.items() if s in dead]:
            del self._texts[key]
        for scope in dead:
            del self._scopes[scope]

    def values(self) -> dict[str, float]:
        """Every numeric raw value."""
        return {key: entry.value for key, entry in self._values.items()}

    def texts(self) -> dict[str, str]:
        """Every string raw value."""
        return {key: text for key, (text, _, _) in self._texts.items()}

    def __len__(self) -> int:
        return len(self._values) + len(self._texts)
