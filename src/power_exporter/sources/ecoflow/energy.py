"""Energy counters from the devices' own energy totals, in joules.

Facts: the project's EcoFlow field notes (tolwi/hassio-ecoflow-cloud counts ``pd.chgSunPower``,
``pd.chgPowerAC``/``DC`` as energy in and ``pd.dsgPowerAC``/``DC`` as energy out, in Wh, as
totals that only grow; foxthefox/ioBroker.ecoflow-mqtt the same units), section 1.6 (a
battery pack's lifetime ``accu_chg_energy``/``accu_dsg_energy``, Wh) and 1.7 (254/32, the
PowerStream's and the Smart Plug's day totals, by kind).

Only totals the device counts become counters; a device that gives power alone gets none
(integrating power samples would invent energy between them). Each device total goes
through :class:`~power_exporter.sources.monotonic.Totals` first, so one that resets (a
day's total at midnight, a reboot) carries on; the totals of one measure are then summed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from power_exporter.model import Measure
from power_exporter.sources.monotonic import MAX_KEYS, Totals

if TYPE_CHECKING:
    from collections.abc import Mapping

M = Measure
WH: Final = 3600.0  # joules per watt-hour


@dataclass(frozen=True, slots=True)
class Energy:
    """What a device total counts, and how many joules one of its units is."""

    measure: Measure
    joules: float = WH


# Keys whose value is a total, the same for every family that sends them.
TOTALS: Final[Mapping[str, Energy]] = {
    # DELTA 2 / RIVER 2 / RIVER Max / Pro / mini spell them AC/DC, DELTA Pro / Max / mini Ac/Dc
    "pd.chgSunPower": Energy(M.SOLAR_ENERGY),
    "pd.chgPowerAC": Energy(M.INPUT_ENERGY),
    "pd.chgPowerDC": Energy(M.INPUT_ENERGY),
    "pd.chgPowerAc": Energy(M.INPUT_ENERGY),
    "pd.chgPowerDc": Energy(M.INPUT_ENERGY),
    "pd.dsgPowerAC": Energy(M.OUTPUT_ENERGY),
    "pd.dsgPowerDC": Energy(M.OUTPUT_ENERGY),
    "pd.dsgPowerAc": Energy(M.OUTPUT_ENERGY),
    "pd.dsgPowerDc": Energy(M.OUTPUT_ENERGY),
    # DELTA 2 Max: the main pack's lifetime energy
    "bms_bmsInfo.accuChgEnergy": Energy(M.BATTERY_CHARGE_ENERGY),
    "bms_bmsInfo.accuDsgEnergy": Energy(M.BATTERY_DISCHARGE_ENERGY),
    # STREAM: the battery's lifetime energy, flat as the developer API names it
    "accuChgEnergy": Energy(M.BATTERY_CHARGE_ENERGY),
    "accuDsgEnergy": Energy(M.BATTERY_DISCHARGE_ENERGY),
}

# Keys by pattern: one total per battery pack, summed into the system's.
PATTERNS: Final[tuple[tuple[re.Pattern[str], Energy], ...]] = (
    (re.compile(r"bms_heartbeat\[\d+\]\.accu_chg_energy"), Energy(M.BATTERY_CHARGE_ENERGY)),
    (re.compile(r"bms_heartbeat\[\d+\]\.accu_dsg_energy"), Energy(M.BATTERY_DISCHARGE_ENERGY)),
    (
        re.compile(r"bms_slave_bmsSlaveInfo_\d+\.accuChgEnergy"),
        Energy(M.BATTERY_CHARGE_ENERGY),
    ),
    (
        re.compile(r"bms_slave_bmsSlaveInfo_\d+\.accuDsgEnergy"),
        Energy(M.BATTERY_DISCHARGE_ENERGY),
    ),
    # PowerOcean: each battery module's lifetime energy (Wh)
    (re.compile(r"bp\d+\.bpAccuChgEnergy"), Energy(M.BATTERY_CHARGE_ENERGY)),
    (re.compile(r"bp\d+\.bpAccuDsgEnergy"), Energy(M.BATTERY_DISCHARGE_ENERGY)),
)

# 254/32: the day's totals by ``watthType``, per product (the PowerStream reports the energy
# of its plugs too, which is not its own output). Field notes 1.7.
DAY_TOTALS: Final[Mapping[str, Mapping[int, Energy]]] = {
    "HW51": {  # PowerStream
        1: Energy(M.OUTPUT_ENERGY),  # to the house
        3: Energy(M.BATTERY_CHARGE_ENERGY),
        4: Energy(M.BATTERY_DISCHARGE_ENERGY),
        7: Energy(M.SOLAR_ENERGY),  # PV 1
        8: Energy(M.SOLAR_ENERGY),  # PV 2
    },
    "HW52": {5: Energy(M.OUTPUT_ENERGY)},  # Smart Plug: the energy it let through
}
_ITEM: Final = re.compile(r"254_32\.watthItem\[(\d+)\]\.watth\[\d+\]")
# DELTA 3 family, DELTA Pro 3: display statistics, object 7 = PV input energy (Wh).
_STATISTICS: Final = re.compile(r"display_statistics_sum\.list_info\[(\d+)\]\.content")
STATISTICS: Final[Mapping[int, Energy]] = {7: Energy(M.SOLAR_ENERGY)}


def device_totals(serial: str, raw: Mapping[str, float]) -> dict[str, tuple[Energy, float]]:
    """Every energy total a reading holds, by a key of its own: (what it counts, its value)."""
    found: dict[str, tuple[Energy, float]] = {}
    for key, value in raw.items():
        energy = TOTALS.get(key) or next((e for p, e in PATTERNS if p.fullmatch(key)), None)
        if energy is not None:
            found[key] = (energy, value)
    day = next((t for prefix, t in DAY_TOTALS.items() if serial.upper().startswith(prefix)), {})
    if day:
        sums: dict[int, float] = {}
        for key, value in raw.items():
            match = _ITEM.fullmatch(key)
            if match is None:
                continue
            kind = raw.get(f"254_32.watthItem[{match[1]}].watthType")
            if kind is not None and kind.is_integer() and int(kind) in day:
                sums[int(kind)] = sums.get(int(kind), 0.0) + value
        found.update({f"254_32.type{kind}": (day[kind], total) for kind, total in sums.items()})
    for key, value in raw.items():
        match = _STATISTICS.fullmatch(key)
        if match is None:
            continue
        kind = raw.get(f"display_statistics_sum.list_info[{match[1]}].object")
        if kind is not None and kind.is_integer() and int(kind) in STATISTICS:
            found[f"display_statistics.object{int(kind)}"] = (STATISTICS[int(kind)], value)
    return found


@dataclass(slots=True)
class EnergyCounters:
    """One device's energy counters: its totals made monotonic, then summed by measure."""

    totals: Totals = field(default_factory=Totals)
    _kinds: dict[str, Energy] = field(default_factory=dict)

    def measures(self, serial: str, raw: Mapping[str, float]) -> dict[Measure, float]:
        """The energy measures (joules) of a reading; empty when the device counts none."""
        found = device_totals(serial, raw)
        for key, (kind, _) in found.items():
            if key in self._kinds or len(self._kinds) < MAX_KEYS:
                self._kinds.setdefault(key, kind)
        counters = self.totals.update({key: value for key, (_, value) in found.items()})
        out: dict[Measure, float] = {}
        for key, counted in counters.items():
            energy = self._kinds.get(key)
            if energy is None:
                continue
            out[energy.measure] = out.get(energy.measure, 0.0) + counted * energy.joules
        return out
