"""Every battery pack of a power station, the main one and the extra ones, by its number.

Facts: the project's EcoFlow field notes. Protobuf stations report each pack in a BMS
heartbeat (32/50 and the other pairs of ``envelope.BMS_REPORTS``) whose ``num`` is the pack's
number, 0 for the main pack (section 1.6); the raw keys are ``bms_heartbeat[<num>].<field>``.
JSON stations name their packs by prefix (section 2, "Extra batteries"): DELTA 2 ``bms_bmsStatus``
and ``bms_slave``, DELTA 2 Max ``bms_slave_bmsSlaveStatus_1`` / ``_2``, DELTA Pro / Max / mini
and RIVER Max / Pro ``bmsMaster`` and ``bmsSlave1`` / ``bmsSlave2``.

For each pack: charge (ratio), health (ratio; 0 = unknown, left out), voltage (V: packs report
mV, but RIVER 2 reports whole volts, so a value above 1000 is read as mV), temperature (°C) and
charge cycles. The pack number is the ``battery`` label: "0" the main pack, "1", "2"... the
extra ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from power_exporter.model import Measure

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.model import Labels

MAX_PACKS: Final = 16  # no station takes more; a payload cannot make us keep more


class Part(StrEnum):
    """What of a pack a value says."""

    CHARGE = "charge"
    HEALTH = "health"
    VOLTAGE = "voltage"
    TEMPERATURE = "temperature"
    CYCLES = "cycles"


@dataclass(frozen=True, slots=True)
class PackField:
    """How one key of a pack becomes one of its parts."""

    part: Part
    scale: float = 1.0
    low: float | None = None  # raw values below it mean "unknown" (state of health 0)
    milli_above: float | None = None

    def convert(self, value: float) -> float | None:
        """The value in base units, or None when it means "unknown"."""
        if self.low is not None and value < self.low:
            return None
        if self.milli_above is not None and abs(value) > self.milli_above:
            value /= 1000.0
        return value * self.scale


# Each part -> its labelled measure (``power_battery_pack_*{battery="N"}``).
MEASURES: Final[Mapping[Part, Measure]] = {
    Part.CHARGE: Measure.BATTERY_PACK_CHARGE,
    Part.HEALTH: Measure.BATTERY_PACK_HEALTH,
    Part.VOLTAGE: Measure.BATTERY_PACK_VOLTAGE,
    Part.TEMPERATURE: Measure.BATTERY_PACK_TEMPERATURE,
    Part.CYCLES: Measure.BATTERY_PACK_CYCLES,
}

_CHARGE: Final = PackField(Part.CHARGE, 0.01)
_HEALTH: Final = PackField(Part.HEALTH, 0.01, low=1.0)
_VOLTS: Final = PackField(Part.VOLTAGE, milli_above=1000.0)
_TEMP: Final = PackField(Part.TEMPERATURE)
_CYCLES: Final = PackField(Part.CYCLES)

# Sub-keys of a pack, in priority order (the float SoC before the whole one).
PACK_FIELDS: Final[Mapping[str, PackField]] = {
    "f32_show_soc": _CHARGE,
    "f32ShowSoc": _CHARGE,
    "soc": _CHARGE,
    "soh": _HEALTH,
    "vol": _VOLTS,
    "temp": _TEMP,
    "cycles": _CYCLES,
}

# JSON pack prefixes -> pack number.
JSON_PACKS: Final[Mapping[str, str]] = {
    "bms_bmsStatus": "0",
    "bms_slave": "1",
    "bms_slave_bmsSlaveStatus_1": "1",
    "bms_slave_bmsSlaveStatus_2": "2",
    "bmsMaster": "0",
    "bmsSlave1": "1",
    "bmsSlave2": "2",
}
_PROTOBUF_KEY: Final = re.compile(r"bms_heartbeat\[(\d+)\]\.(\w+)")


def packs(raw: Mapping[str, float]) -> dict[str, dict[Part, float]]:
    """Every pack's parts, by pack number (``"0"`` the main pack)."""
    found: dict[str, dict[str, float]] = {}
    for key, value in raw.items():
        match = _PROTOBUF_KEY.fullmatch(key)
        if match is not None:
            number, name = match[1], match[2]
        else:
            prefix, _, name = key.rpartition(".")
            number = JSON_PACKS.get(prefix, "")
            if not number:
                continue
        if name in PACK_FIELDS and (number in found or len(found) < MAX_PACKS):
            found.setdefault(number, {})[name] = value
    out: dict[str, dict[Part, float]] = {}
    for number, values in found.items():
        parts: dict[Part, float] = {}
        for name, row in PACK_FIELDS.items():
            if name not in values or row.part in parts:
                continue
            converted = row.convert(values[name])
            if converted is not None:
                parts[row.part] = converted
        if parts:
            out[number] = parts
    return out


def labelled(raw: Mapping[str, float]) -> dict[Measure, dict[Labels, float]]:
    """The packs as labelled measures: measure -> ``(("battery", "N"),)`` -> value."""
    out: dict[Measure, dict[Labels, float]] = {}
    for number, parts in packs(raw).items():
        for part, value in parts.items():
            out.setdefault(MEASURES[part], {})[(("battery", number),)] = value
    return out
