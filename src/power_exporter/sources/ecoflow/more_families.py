"""The newer families' tables: PowerOcean, Smart Meter, STREAM, DELTA Pro Ultra, Smart Home Panel 2.

Facts: tolwi/hassio-ecoflow-cloud's developer-API key tables (``devices/public/*.py``,
Apache-2.0) and the payloads in its tests and issue threads, cross-checked where they exist
with foxthefox/ioBroker.ecoflow-mqtt's unit tables (MIT); docs/ecoflow.md lists them. These
are the developer API's keys (REST ``quota/all``, developer MQTT, and the JSON these products
send on the app API); the protobuf app-API messages of STREAM, Smart Meter, PowerOcean,
DELTA Pro Ultra and Smart Home Panel 2 are decoded under the same keys
(``app_energy_systems.py``). Only keys whose meaning and unit the sources agree on are
normalized; the rest stay raw.

- PowerOcean: ``sysGridPwr`` is signed, positive while the house draws from the grid (a
  published reply reads load 454 W = PV 0 + grid -4 + battery 458, with ``bpPwr`` -458:
  the battery's power is negative while it discharges).
  The inverter's phases (``pcsAPhase.*`` .. ``pcsCPhase.*``, the app API's 96/1): their
  volts are the grid's (phase L1..L3); their active power's sign and what it sums to are
  not established (a published reply reads -410 W per phase with 3080 W of PV and -2780 W
  of grid), so their power and current stay raw.
- Smart Meter: ``powGetSysGrid`` the site's grid power, per phase ``gridConnection*L1..L3``.
- STREAM: the DELTA 3 generation's flat battery keys, PV in total and the house load; grid
  keys stay raw (their sign is not established).
- DELTA Pro Ultra: ``hs_yj751_pd_appshow_addr.*`` (display) and ``..._backend_addr.*``.
- Smart Home Panel 2: grid and panel power, backup charge and time, per-circuit power
  ``loadInfo.hall1Watt[i]`` (circuit i + 1) and backup batteries.

The labelled series (per circuit, per phase, per battery) come from :data:`LABELLED`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from power_exporter.model import Flag, Measure
from power_exporter.sources.ecoflow import batteries, codes, families
from power_exporter.sources.ecoflow.families import Family, Field, FlagRule

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.model import Labels

M = Measure
_NO_TIME: Final = (0.0, 5000.0)  # remaining minutes above it mean "n/a"
_PERCENT_KNOWN: Final = (1.0, 100.0)
_MINUTES: Final = 60.0

_POWEROCEAN: Final[Mapping[str, Field]] = {
    "bpSoc": Field(M.BATTERY_CHARGE, 0.01),
    "96_8.bpSoc": Field(M.BATTERY_CHARGE, 0.01),
    "sysLoadPwr": Field(M.OUTPUT_POWER),
    "mpptPwr": Field(M.SOLAR_INPUT_POWER),
    "sysGridPwr": Field(M.GRID_POWER),
    "pcsAcFreq": Field(M.INPUT_FREQUENCY),
    # the DC Fit's own energy stream (app API 96/33): charge, PV, house load; its grid and
    # battery power stay raw (their signs are not established)
    "96_33.bpSoc": Field(M.BATTERY_CHARGE, 0.01),
    "96_33.pvPwr": Field(M.SOLAR_INPUT_POWER),
    "96_33.loadPwr": Field(M.OUTPUT_POWER),
}

_SMART_METER: Final[Mapping[str, Field]] = {"powGetSysGrid": Field(M.GRID_POWER)}

_STREAM: Final[Mapping[str, Field]] = {
    "cmsBattSoc": Field(M.BATTERY_CHARGE, 0.01),
    "f32ShowSoc": Field(M.BATTERY_CHARGE, 0.01),
    "bmsBattSoc": Field(M.BATTERY_CHARGE, 0.01),
    "cmsBattSoh": Field(M.BATTERY_HEALTH, 0.01, valid=_PERCENT_KNOWN),
    "bmsBattSoh": Field(M.BATTERY_HEALTH, 0.01, valid=_PERCENT_KNOWN),
    "cmsDsgRemTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "bmsDsgRemTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "maxCellTemp": Field(M.BATTERY_TEMPERATURE),
    "bmsMaxCellTemp": Field(M.BATTERY_TEMPERATURE),  # the app API's display upload
    # PV in total and the house load (a published STREAM Ultra push balances: load 561.25 W =
    # PV 79 W + the battery's 482.25 W, as the PowerOcean's sysLoadPwr does)
    "powGetPvSum": Field(M.SOLAR_INPUT_POWER),
    "powGetSysLoad": Field(M.OUTPUT_POWER),
}

_DPU: Final = "hs_yj751_pd_appshow_addr."
_DPU_BACKEND: Final = "hs_yj751_pd_backend_addr."
_DELTA_PRO_ULTRA: Final[Mapping[str, Field]] = {
    _DPU + "soc": Field(M.BATTERY_CHARGE, 0.01),
    _DPU + "remainTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    _DPU + "wattsInSum": Field(M.INPUT_POWER),
    _DPU + "wattsOutSum": Field(M.OUTPUT_POWER),
    _DPU + "inHvMpptPwr": Field(M.SOLAR_INPUT_POWER, add=True),
    _DPU + "inLvMpptPwr": Field(M.SOLAR_INPUT_POWER, add=True),
    _DPU_BACKEND + "inAcC20Vol": Field(M.INPUT_VOLTAGE),
}

_SHP2: Final[Mapping[str, Field]] = {
    "wattInfo.gridWatt": Field(M.INPUT_POWER),
    "wattInfo.allHallWatt": Field(M.OUTPUT_POWER),
    "backupIncreInfo.backupBatPer": Field(M.BATTERY_CHARGE, 0.01),
    "backupInfo.backupDischargeTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "pd303_mc.masterIncreInfo.gridVol": Field(M.INPUT_VOLTAGE),
    "masterIncreInfo.gridVol": Field(M.INPUT_VOLTAGE),  # the app API's 12/32
}

# WAVE 3 (app API): its 254/21 and 254/22 share the power stations' numbering, decoded under
# the proto names; the fields every source agrees on. The battery voltage's unit is not
# established: raw only.
_WAVE_3: Final[Mapping[str, Field]] = {
    "cms_batt_soc": Field(M.BATTERY_CHARGE, 0.01),
    "bms_batt_soc": Field(M.BATTERY_CHARGE, 0.01),
    "cms_batt_soh": Field(M.BATTERY_HEALTH, 0.01, valid=_PERCENT_KNOWN),
    "bms_batt_soh": Field(M.BATTERY_HEALTH, 0.01, valid=_PERCENT_KNOWN),
    "cms_dsg_rem_time": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "bms_dsg_rem_time": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "bms_max_cell_temp": Field(M.BATTERY_TEMPERATURE),
    "pow_in_sum_w": Field(M.INPUT_POWER),
    "pow_out_sum_w": Field(M.OUTPUT_POWER),
    "pow_get_pv": Field(M.SOLAR_INPUT_POWER),
    "plug_in_info_ac_in_vol": Field(M.INPUT_VOLTAGE),
    "plug_in_info_ac_in_feq": Field(M.INPUT_FREQUENCY),
}

# Glacier Classic (app API): display/runtime uploads numbered as the power stations'; 102 is
# its battery's temperature.
_GLACIER_CLASSIC: Final[Mapping[str, Field]] = {
    "cms_batt_soc": Field(M.BATTERY_CHARGE, 0.01),
    "cms_dsg_rem_time": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "cms_batt_temp": Field(M.BATTERY_TEMPERATURE),
    "pow_in_sum_w": Field(M.INPUT_POWER),
    "pow_out_sum_w": Field(M.OUTPUT_POWER),
    "plug_in_info_ac_in_vol": Field(M.INPUT_VOLTAGE),
}

# Smart Home Panel 3 (app API, its display upload under ``shp3.``): backup charge, grid
# (drawn from it: positive), home load; per leg and per circuit below (LABELLED).
_SHP3: Final[Mapping[str, Field]] = {
    "shp3.cms_batt_soc": Field(M.BATTERY_CHARGE, 0.01),
    "shp3.grid_pwr": Field(M.GRID_POWER),
    "shp3.load_pwr": Field(M.OUTPUT_POWER),
}

# OCEAN Pro inverter (app API, its display upload under ``ocean.``): charge, PV strings (a
# string reads at most 5500 W; larger is another field's number leaking through, tolwi notes).
# Its AC output ``pcs_pwr`` (negative while producing) stays raw.
_OCEAN_PV: Final = (0.0, 5500.0)
_OCEAN_PRO: Final[Mapping[str, Field]] = {
    "ocean.cms_batt_soc": Field(M.BATTERY_CHARGE, 0.01),
    **{
        f"ocean.pv{n}_pwr": Field(M.SOLAR_INPUT_POWER, valid=_OCEAN_PV, add=True)
        for n in range(1, 9)
    },
}

# Smart Generator (Dual Fuel, 4000, 3000; JSON on the app API): total output, AC volts (mV)
# and amperes (mA), rated output. Fuel level, fuel time left and the engine's temperature are
# not a battery's: raw only.
_SMART_GENERATOR: Final[Mapping[str, Field]] = {
    "pd.totalPower": Field(M.OUTPUT_POWER),
    "pd.acVol": Field(M.OUTPUT_VOLTAGE, 0.001),
    "pd.acCur": Field(M.OUTPUT_CURRENT, 0.001),
    "pd.oilMaxOutPower": Field(M.NOMINAL_POWER),
}

# Alternator Charger (app API, 254/21 of its own): power in from the alternator, out to the
# station; its input is the car battery. ``batSoc`` is the connected station's charge and
# ``temp`` the charger's: neither is this device's battery, both stay raw.
_ALTERNATOR: Final[Mapping[str, Field]] = {
    "254_21.alternatorPower": Field(M.INPUT_POWER),
    "254_21.stationPower": Field(M.OUTPUT_POWER),
    "254_21.carBatVolt": Field(M.INPUT_VOLTAGE),
    "254_21.ratedPower": Field(M.NOMINAL_POWER),
}

# Battery power: positive while it charges, negative while it discharges (PowerOcean).
_BATTERY_POWER: Final = FlagRule(positive=Flag.CHARGING, negative=Flag.DISCHARGING)
_CHG_DSG_STATE: Final = FlagRule(values={1: Flag.DISCHARGING, 2: Flag.CHARGING})

FAMILIES: Final[Mapping[str, Family]] = {
    "powerocean": Family(
        "PowerOcean, PowerOcean DC Fit, PowerOcean Plus",
        _POWEROCEAN,
        {"bpPwr": _BATTERY_POWER},
        "sysLoadPwr",
    ),
    "smart_meter": Family("Smart Meter", _SMART_METER, {}, "powGetSysGrid"),
    "stream": Family(
        "STREAM AC, AC Pro, Pro, Ultra, Ultra X, Max",
        _STREAM,
        {"cmsChgDsgState": _CHG_DSG_STATE, "bmsChgDsgState": _CHG_DSG_STATE},
        "gridConnectionPower",
    ),
    "delta_pro_ultra": Family("DELTA Pro Ultra", _DELTA_PRO_ULTRA, {}, _DPU + "wattsOutSum"),
    "shp2": Family("Smart Home Panel 2", _SHP2, {}, "wattInfo.allHallWatt"),
    "alternator": Family("Alternator Charger", _ALTERNATOR, {}, "254_21.alternatorPower"),
    "glacier_classic": Family(
        "Glacier Classic",
        _GLACIER_CLASSIC,
        {"cms_chg_dsg_state": _CHG_DSG_STATE},
        "glacier_classic (by serial only)",
    ),
    "shp3": Family("Smart Home Panel 3, OCEAN Smart Panel", _SHP3, {}, "shp3.load_pwr"),
    "smart_generator": Family(
        "Smart Generator (Dual Fuel, 4000, 3000)", _SMART_GENERATOR, {}, "pd.oilVal"
    ),
    "ocean_pro": Family("OCEAN Pro inverter", _OCEAN_PRO, {}, "ocean.pv1_pwr"),
    # no signature: its keys are the power stations', it is known by its serial only
    "wave3": Family(
        "WAVE 3", _WAVE_3, {"cms_chg_dsg_state": _CHG_DSG_STATE}, "wave3 (by serial only)"
    ),
}


@dataclass(frozen=True, slots=True)
class Labelled:
    """Keys matching ``pattern`` become one labelled series each: label = group 1 (+ shift)."""

    pattern: re.Pattern[str]
    measure: Measure
    label: str
    scale: float = 1.0
    shift: int = 0  # 0-based positions (loadInfo.hall1Watt[0]) become 1-based names
    names: Mapping[str, str] | None = None  # group 1 -> label value (pcsAPhase: "L1")
    valid_from: float | None = None  # raw values below it mean "unknown"

    def value(self, raw: float) -> float | None:
        """The value in base units, or None for "unknown"."""
        if self.valid_from is not None and raw < self.valid_from:
            return None
        return raw * self.scale


def _rule(
    pattern: str, measure: Measure, label: str, scale: float = 1.0, **kwargs: float
) -> Labelled:
    return Labelled(re.compile(pattern), measure, label, scale, **kwargs)  # type: ignore[arg-type]


_ABC: Final[Mapping[str, str]] = {"A": "L1", "B": "L2", "C": "L3"}
_BMS_DPU: Final = r"hs_yj751_bms_slave_addr\.(\d+)\."
LABELLED: Final[Mapping[str, tuple[Labelled, ...]]] = {
    "powerocean": (
        _rule(r"bp(\d+)\.bpSoc", M.BATTERY_PACK_CHARGE, "battery", 0.01),
        _rule(r"bp(\d+)\.bpSoh", M.BATTERY_PACK_HEALTH, "battery", 0.01, valid_from=1.0),
        _rule(r"bp(\d+)\.bpVol", M.BATTERY_PACK_VOLTAGE, "battery"),
        _rule(r"bp(\d+)\.bpMaxCellTemp", M.BATTERY_PACK_TEMPERATURE, "battery"),
        _rule(r"bp(\d+)\.bpCycles", M.BATTERY_PACK_CYCLES, "battery"),
        # the app API's 96/7 lists the packs from 0: pack bpSta[0] is bp1
        _rule(r"bpSta\[(\d+)\]\.bpSoc", M.BATTERY_PACK_CHARGE, "battery", 0.01, shift=1),
        _rule(
            r"bpSta\[(\d+)\]\.bpSoh",
            M.BATTERY_PACK_HEALTH,
            "battery",
            0.01,
            shift=1,
            valid_from=1.0,
        ),
        _rule(r"bpSta\[(\d+)\]\.bpVol", M.BATTERY_PACK_VOLTAGE, "battery", shift=1),
        _rule(r"bpSta\[(\d+)\]\.bpMaxCellTemp", M.BATTERY_PACK_TEMPERATURE, "battery", shift=1),
        _rule(r"bpSta\[(\d+)\]\.bpCycles", M.BATTERY_PACK_CYCLES, "battery", shift=1),
        # the inverter's phases A, B, C (the app API's 96/1): the grid's volts, L1..L3
        Labelled(re.compile(r"pcs([ABC])Phase\.vol"), M.INPUT_PHASE_VOLTAGE, "phase", names=_ABC),
    ),
    "smart_meter": (
        _rule(r"gridConnectionVol(L\d)", M.INPUT_PHASE_VOLTAGE, "phase"),
        _rule(r"gridConnectionAmp(L\d)", M.INPUT_PHASE_CURRENT, "phase"),
        _rule(r"gridConnectionPower(L\d)", M.INPUT_PHASE_POWER, "phase"),
    ),
    "delta_pro_ultra": (
        _rule(_BMS_DPU + "soc", M.BATTERY_PACK_CHARGE, "battery", 0.01),
        _rule(_BMS_DPU + "actSoh", M.BATTERY_PACK_HEALTH, "battery", 0.01, valid_from=1.0),
        _rule(_BMS_DPU + "temp", M.BATTERY_PACK_TEMPERATURE, "battery"),
        _rule(_BMS_DPU + "cycles", M.BATTERY_PACK_CYCLES, "battery"),
    ),
    "shp3": (
        # a circuit's consumption comes negative: read as the power it draws
        _rule(r"shp3\.ch(\d+)\.watt", M.CIRCUIT_POWER, "circuit", -1.0),
        _rule(r"shp3\.(l\d)_vol", M.INPUT_PHASE_VOLTAGE, "phase"),
        _rule(r"shp3\.grid_(l\d)_amp", M.INPUT_PHASE_CURRENT, "phase"),
        _rule(r"shp3\.grid_(l\d)_pwr", M.INPUT_PHASE_POWER, "phase"),
    ),
    "shp2": (
        _rule(r"loadInfo\.hall1Watt\[(\d+)\]", M.CIRCUIT_POWER, "circuit", shift=1),
        _rule(
            r"backupIncreInfo\.Energy(\d+)Info\.batteryPercentage",
            M.BATTERY_PACK_CHARGE,
            "battery",
            0.01,
        ),
    ),
}
MAX_SERIES: Final = 64  # per labelled measure and device


def _label_value(rule: Labelled, group: str) -> str:
    if rule.names is not None:
        return rule.names.get(group, group)
    return str(int(group) + rule.shift) if rule.shift else group.upper()


def family_for(name: str | None, raw: Mapping[str, float]) -> Family | None:
    """The family a serial names (ours first), else the one the keys betray, else None."""
    if name is not None and name in FAMILIES:
        return FAMILIES[name]
    found = families.family_for(name, raw)
    if found is not None:
        return found
    return next((family for family in FAMILIES.values() if family.signature in raw), None)


def family_name(family: Family | None) -> str | None:
    """The name of one of our families (None for the older tables)."""
    return next((name for name, known in FAMILIES.items() if known is family), None)


def labelled(family: Family | None, raw: Mapping[str, float]) -> dict[Measure, dict[Labels, float]]:
    """The labelled series of a reading of one of these families."""
    rules = LABELLED.get(family_name(family) or "", ())
    out: dict[Measure, dict[Labels, float]] = {}
    for key, value in raw.items():
        for rule in rules:
            match = rule.pattern.fullmatch(key)
            if match is None:
                continue
            converted = rule.value(value)
            series = out.setdefault(rule.measure, {})
            if converted is not None and len(series) < MAX_SERIES:
                name = _label_value(rule, match[1])
                series[((rule.label, name),)] = converted
            break
    return {measure: series for measure, series in out.items() if series}


def all_labelled(
    family: Family | None, raw: Mapping[str, float]
) -> dict[Measure, dict[Labels, float]]:
    """Every labelled series: battery packs and codes (any family), and this module's."""
    out = batteries.labelled(raw)
    out.update(codes.labelled(raw))
    for measure, series in labelled(family, raw).items():
        out.setdefault(measure, {}).update(series)
    return out
