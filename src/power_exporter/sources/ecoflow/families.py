"""Per-family tables: EcoFlow quota keys -> normalized measures and status flags.

Facts from the field tables in the project's EcoFlow notes (tolwi/hassio-ecoflow-cloud's
key tables and real diagnostic dumps, foxthefox/ioBroker.ecoflow-mqtt's unit tables,
rustyy/ecoflow-api's transcription of EcoFlow's developer documentation), checked against
the captured dumps in the tests' fixtures. docs/ecoflow.md lists them per family.

Rules of a table (one row per key, in priority order):

- a row applies only when its key is present (and its ``when`` key, if any, is non-zero);
- ``scale`` turns the device's unit into the base unit (mV -> V is 0.001, % -> ratio 0.01);
- ``valid`` is the range of *raw* values that mean something; outside it the value is a
  "not applicable" sentinel (remaining time 5999 min, state of health 0) and is skipped;
- several rows of one measure: the first present one wins, unless the rows say ``add``
  (two solar inputs), when the present ones are summed;
- ``swap32``: the value is a little-endian uint32 read as big-endian (RIVER mini AC volts);
- ``milli_above``: a value above it is in milli-units (``bmsBattVol``: V on DELTA 3, mV on
  RIVER 3, under one key);
- ``direction``: the row applies only while the battery goes that way (a time to full is
  meaningless while discharging, and EcoFlow reports it as a sentinel or a stale number);
- ``remain``: a combined remaining time (``pd.remainTime`` of RIVER Max/Pro/mini): time to
  empty when negative or while discharging, time to full while charging, nothing when idle.

Flags come from a second table, first present key deciding: a sign rule (battery current
positive = charging) or a value rule (``cmsChgDsgState`` 1 = discharging, 2 = charging).
``on_battery`` comes from the family's own AC input key: set when the AC input reads 0 W and
the battery serves the output (it discharges, or the family's battery-output key is
positive); known whenever both can be told. Where the AC input key reads positive, an AC
input voltage, frequency or current of 0 is the firmware not filling the field (RIVER 3
sends 0 V and 0 Hz with 50.7 W coming in), not a measurement, and is left out.
A device of an unknown family gets no measures; its raw ``ecoflow_*`` series stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from power_exporter.model import Flag, Measure

if TYPE_CHECKING:
    from collections.abc import Mapping

M = Measure
_NO_TIME: Final = (0.0, 5000.0)  # remaining minutes; 5939, 5999, 143999 mean "n/a"
_PERCENT_KNOWN: Final = (1.0, 100.0)  # state of health 0 = unknown
_MINUTES: Final = 60.0


@dataclass(frozen=True, slots=True)
class Field:
    """How one quota key becomes a measure."""

    measure: Measure
    scale: float = 1.0
    valid: tuple[float, float] | None = None
    add: bool = False
    swap32: bool = False
    when: str | None = None
    milli_above: float | None = None
    direction: Flag | None = None
    remain: bool = False


@dataclass(frozen=True, slots=True)
class FlagRule:
    """How one quota key sets status flags."""

    positive: Flag | None = None
    negative: Flag | None = None
    values: Mapping[int, Flag] = field(default_factory=dict)

    def known(self) -> frozenset[Flag]:
        """Every flag this rule can set."""
        found = {self.positive, self.negative, *self.values.values()}
        return frozenset(flag for flag in found if flag is not None)


@dataclass(frozen=True, slots=True)
class OnBattery:
    """Where a family says it runs from its battery.

    ``ac_in``: its AC input power key (0 = no AC input); ``battery_out``: a key whose
    positive value is the battery serving the output, where the family has no direction
    flag (None: the DISCHARGING flag tells).
    """

    ac_in: str
    battery_out: str | None = None


@dataclass(frozen=True, slots=True)
class Family:
    """One table: the products it covers, its rows, and a key that betrays it."""

    products: str
    fields: Mapping[str, Field]
    flags: Mapping[str, FlagRule]
    signature: str
    on_battery: OnBattery | None = None


_AC_INPUTS: Final = frozenset({M.INPUT_VOLTAGE, M.INPUT_FREQUENCY, M.INPUT_CURRENT})
_INV_IN: Final = OnBattery("inv.inputWatts")
_CHARGING: Final = Flag.CHARGING
_CHARGE_SIGN: Final = FlagRule(positive=Flag.CHARGING, negative=Flag.DISCHARGING)
_CHG_DSG_STATE: Final = FlagRule(values={1: Flag.DISCHARGING, 2: Flag.CHARGING})

# DELTA 2, DELTA 2 Max, RIVER 2, RIVER 2 Max, RIVER 2 Pro ("G2"): battery under bms_*.
_G2: Final[Mapping[str, Field]] = {
    "bms_emsStatus.f32LcdShowSoc": Field(M.BATTERY_CHARGE, 0.01),
    "bms_emsStatus.lcdShowSoc": Field(M.BATTERY_CHARGE, 0.01),
    "pd.soc": Field(M.BATTERY_CHARGE, 0.01),
    "bms_bmsStatus.soh": Field(M.BATTERY_HEALTH, 0.01, valid=_PERCENT_KNOWN),
    "bms_emsStatus.dsgRemainTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "bms_emsStatus.chgRemainTime": Field(
        M.BATTERY_TIME_TO_FULL, _MINUTES, valid=_NO_TIME, direction=_CHARGING
    ),
    "bms_bmsStatus.temp": Field(M.BATTERY_TEMPERATURE),
    "pd.wattsInSum": Field(M.INPUT_POWER),
    "pd.wattsOutSum": Field(M.OUTPUT_POWER),
    "inv.acInVol": Field(M.INPUT_VOLTAGE, 0.001),
    "inv.acInAmp": Field(M.INPUT_CURRENT, 0.001),
    "inv.acInFreq": Field(M.INPUT_FREQUENCY),
    "inv.invOutVol": Field(M.OUTPUT_VOLTAGE, 0.001),
    "inv.invOutAmp": Field(M.OUTPUT_CURRENT, 0.001),
    "inv.invOutFreq": Field(M.OUTPUT_FREQUENCY),
    "mppt.inWatts": Field(M.SOLAR_INPUT_POWER, add=True),
    "mppt.pv2InWatts": Field(M.SOLAR_INPUT_POWER, add=True),
}
_G2_FLAGS: Final[Mapping[str, FlagRule]] = {"bms_bmsStatus.amp": _CHARGE_SIGN}

# DELTA Pro, DELTA Max, DELTA mini ("G1D"): bmsMaster.*, ems.*; mppt.* in deci-units.
_G1D: Final[Mapping[str, Field]] = {
    "ems.f32LcdShowSoc": Field(M.BATTERY_CHARGE, 0.01),
    "ems.lcdShowSoc": Field(M.BATTERY_CHARGE, 0.01),
    "pd.soc": Field(M.BATTERY_CHARGE, 0.01),
    "bmsMaster.soh": Field(M.BATTERY_HEALTH, 0.01, valid=_PERCENT_KNOWN),
    "ems.dsgRemainTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "ems.chgRemainTime": Field(
        M.BATTERY_TIME_TO_FULL, _MINUTES, valid=_NO_TIME, direction=_CHARGING
    ),
    "bmsMaster.vol": Field(M.BATTERY_VOLTAGE, 0.001),
    "bmsMaster.temp": Field(M.BATTERY_TEMPERATURE),
    "pd.wattsInSum": Field(M.INPUT_POWER),
    "pd.wattsOutSum": Field(M.OUTPUT_POWER),
    "inv.acInVol": Field(M.INPUT_VOLTAGE, 0.001),
    "inv.acInAmp": Field(M.INPUT_CURRENT, 0.001),
    "inv.acInFreq": Field(M.INPUT_FREQUENCY),
    "inv.invOutVol": Field(M.OUTPUT_VOLTAGE, 0.001),
    "inv.invOutAmp": Field(M.OUTPUT_CURRENT, 0.001),
    "inv.invOutFreq": Field(M.OUTPUT_FREQUENCY),
    "mppt.inWatts": Field(M.SOLAR_INPUT_POWER, 0.1),
}

# RIVER Max, RIVER Pro ("G1R"): AC input under inv.invIn*.
_G1R: Final[Mapping[str, Field]] = {
    "pd.soc": Field(M.BATTERY_CHARGE, 0.01),
    "bmsMaster.soc": Field(M.BATTERY_CHARGE, 0.01),
    "pd.remainTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME, remain=True),
    "bmsMaster.vol": Field(M.BATTERY_VOLTAGE, 0.001),
    "bmsMaster.temp": Field(M.BATTERY_TEMPERATURE),
    "pd.wattsInSum": Field(M.INPUT_POWER),
    "pd.wattsOutSum": Field(M.OUTPUT_POWER),
    "inv.invInVol": Field(M.INPUT_VOLTAGE, 0.001),
    "inv.invInAmp": Field(M.INPUT_CURRENT, 0.001),
    "inv.invInFreq": Field(M.INPUT_FREQUENCY),
    "inv.invOutVol": Field(M.OUTPUT_VOLTAGE, 0.001),
    "inv.invOutAmp": Field(M.OUTPUT_CURRENT, 0.001),
    "inv.invOutFreq": Field(M.OUTPUT_FREQUENCY),
}

# RIVER mini: everything under inv.*, its AC volts/amps byte-swapped.
_RIVER_MINI: Final[Mapping[str, Field]] = {
    "inv.soc": Field(M.BATTERY_CHARGE, 0.01),
    "pd.soc": Field(M.BATTERY_CHARGE, 0.01),
    "pd.remainTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME, remain=True),
    "inv.vol": Field(M.BATTERY_VOLTAGE, 0.001),
    "inv.temp": Field(M.BATTERY_TEMPERATURE),
    "pd.wattsInSum": Field(M.INPUT_POWER),
    "pd.wattsOutSum": Field(M.OUTPUT_POWER),
    "inv.invInVol": Field(M.INPUT_VOLTAGE, 0.001, swap32=True),
    "inv.invInAmp": Field(M.INPUT_CURRENT, 0.001, swap32=True),
    "inv.invInFreq": Field(M.INPUT_FREQUENCY),
    "inv.invOutVol": Field(M.OUTPUT_VOLTAGE, 0.001, swap32=True),
    "inv.invOutAmp": Field(M.OUTPUT_CURRENT, 0.001, swap32=True),
    "inv.invOutFreq": Field(M.OUTPUT_FREQUENCY),
}

# DELTA 3 family, DELTA Pro 3 on the developer API: flat camelCase protobuf field names.
_PROTOBUF_JSON: Final[Mapping[str, Field]] = {
    "cmsBattSoc": Field(M.BATTERY_CHARGE, 0.01),
    "bmsBattSoc": Field(M.BATTERY_CHARGE, 0.01),
    "cmsBattSoh": Field(M.BATTERY_HEALTH, 0.01, valid=_PERCENT_KNOWN),
    "bmsBattSoh": Field(M.BATTERY_HEALTH, 0.01, valid=_PERCENT_KNOWN),
    "cmsDsgRemTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "bmsDsgRemTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "cmsChgRemTime": Field(M.BATTERY_TIME_TO_FULL, _MINUTES, valid=_NO_TIME, direction=_CHARGING),
    "bmsChgRemTime": Field(M.BATTERY_TIME_TO_FULL, _MINUTES, valid=_NO_TIME, direction=_CHARGING),
    # volts on DELTA 3 / DELTA Pro 3 but millivolts on RIVER 3: a value above 1000 is mV
    "cmsBattVol": Field(M.BATTERY_VOLTAGE, milli_above=1000.0),
    "bmsBattVol": Field(M.BATTERY_VOLTAGE, milli_above=1000.0),
    "cmsBattTemp": Field(M.BATTERY_TEMPERATURE),
    "bmsMaxCellTemp": Field(M.BATTERY_TEMPERATURE),
    "powInSumW": Field(M.INPUT_POWER),
    "powOutSumW": Field(M.OUTPUT_POWER),
    "plugInInfoAcInVol": Field(M.INPUT_VOLTAGE),
    "plugInInfoAcInFeq": Field(M.INPUT_FREQUENCY),
    "plugInInfoAcInAmp": Field(M.INPUT_CURRENT),
    "plugInInfoAcOutVol": Field(M.OUTPUT_VOLTAGE),
    "plugInInfoAcOutFreq": Field(M.OUTPUT_FREQUENCY),
    "acOutFreq": Field(M.OUTPUT_FREQUENCY),
    "plugInInfoAcOutDsgPowMax": Field(M.NOMINAL_POWER),
    "powGetPv": Field(M.SOLAR_INPUT_POWER, add=True),
    "powGetPv2": Field(M.SOLAR_INPUT_POWER, add=True),
    "powGetPvH": Field(M.SOLAR_INPUT_POWER, add=True),
    "powGetPvL": Field(M.SOLAR_INPUT_POWER, add=True),
}

# PowerStream microinverter: "20_1." + heartbeat names, mostly deci-units.
_PS: Final = "20_1.bpType"  # 0 = no battery attached: battery rows do not apply
_POWERSTREAM: Final[Mapping[str, Field]] = {
    "20_1.batSoc": Field(M.BATTERY_CHARGE, 0.01, when=_PS),
    "20_1.dsgRemainTime": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME, when=_PS),
    "20_1.chgRemainTime": Field(
        M.BATTERY_TIME_TO_FULL, _MINUTES, valid=_NO_TIME, when=_PS, direction=_CHARGING
    ),
    "20_1.batInputVolt": Field(M.BATTERY_VOLTAGE, 0.1, when=_PS),
    "20_1.batTemp": Field(M.BATTERY_TEMPERATURE, 0.1, when=_PS),
    "20_1.pv1InputWatts": Field(M.SOLAR_INPUT_POWER, 0.1, add=True),
    "20_1.pv2InputWatts": Field(M.SOLAR_INPUT_POWER, 0.1, add=True),
    "20_1.invOutputWatts": Field(M.OUTPUT_POWER, 0.1),
    "20_1.invOpVolt": Field(M.OUTPUT_VOLTAGE, 0.1),
    "20_1.invFreq": Field(M.OUTPUT_FREQUENCY, 0.1),
    "20_1.ratedPower": Field(M.NOMINAL_POWER, 0.1),
}

# Smart Plug: "2_1." + heartbeat names; it reports volt 0 for a moment before real values.
_SMART_PLUG: Final[Mapping[str, Field]] = {
    "2_1.watts": Field(M.OUTPUT_POWER, 0.1),
    "2_1.volt": Field(M.OUTPUT_VOLTAGE, valid=(1.0, 1000.0)),
    "2_1.current": Field(M.OUTPUT_CURRENT, 0.001),
    "2_1.freq": Field(M.OUTPUT_FREQUENCY),
}

_GLACIER: Final[Mapping[str, Field]] = {
    "bms_emsStatus.f32LcdSoc": Field(M.BATTERY_CHARGE, 0.01),
    "bms_bmsStatus.soc": Field(M.BATTERY_CHARGE, 0.01),
    "bms_emsStatus.dsgRemain": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "bms_emsStatus.chgRemain": Field(
        M.BATTERY_TIME_TO_FULL, _MINUTES, valid=_NO_TIME, direction=_CHARGING
    ),
    "bms_bmsStatus.vol": Field(M.BATTERY_VOLTAGE),
    "bms_bmsStatus.tmp": Field(M.BATTERY_TEMPERATURE),
}

_WAVE_2: Final[Mapping[str, Field]] = {
    "bms.soc": Field(M.BATTERY_CHARGE, 0.01),
    "pd.batDsgRemain": Field(M.BATTERY_RUNTIME, _MINUTES, valid=_NO_TIME),
    "pd.batChgRemain": Field(M.BATTERY_TIME_TO_FULL, _MINUTES, valid=_NO_TIME, direction=_CHARGING),
    "bms.tmp": Field(M.BATTERY_TEMPERATURE),
    "pd.acPwrIn": Field(M.INPUT_POWER),
    "pd.pvPower": Field(M.SOLAR_INPUT_POWER),
}

FAMILIES: Final[Mapping[str, Family]] = {
    "delta2": Family(
        "DELTA 2, DELTA 2 Max",
        {**_G2, "bms_bmsStatus.vol": Field(M.BATTERY_VOLTAGE, 0.001)},
        _G2_FLAGS,
        "bms_bmsStatus.soc",
        _INV_IN,
    ),
    "river2": Family(
        "RIVER 2, RIVER 2 Max, RIVER 2 Pro",
        {**_G2, "bms_bmsStatus.vol": Field(M.BATTERY_VOLTAGE)},  # whole volts on RIVER 2
        _G2_FLAGS,
        "bms_bmsStatus.soc",
        _INV_IN,
    ),
    "delta_g1": Family(
        "DELTA Pro, DELTA Max, DELTA mini",
        _G1D,
        {"bmsMaster.amp": _CHARGE_SIGN},
        "ems.lcdShowSoc",
        _INV_IN,
    ),
    "river_g1": Family(
        "RIVER Max, RIVER Pro", _G1R, {"bmsMaster.amp": _CHARGE_SIGN}, "bmsMaster.soc", _INV_IN
    ),
    "river_mini": Family("RIVER mini", _RIVER_MINI, {"inv.amp": _CHARGE_SIGN}, "inv.soc", _INV_IN),
    "protobuf_json": Family(
        "DELTA Pro 3, DELTA 3 family (developer API)",
        _PROTOBUF_JSON,
        {"cmsChgDsgState": _CHG_DSG_STATE, "bmsChgDsgState": _CHG_DSG_STATE},
        "cmsBattSoc",
        OnBattery("powGetAcIn"),
    ),
    # A grid-tie microinverter has no AC input: feeding from its battery at night is its
    # normal work, not a power station on battery, so it never says on_battery.
    "powerstream": Family(
        "PowerStream",
        _POWERSTREAM,
        # battery watts: positive = the battery feeds the inverter, negative = it charges
        {"20_1.batInputWatts": FlagRule(positive=Flag.DISCHARGING, negative=Flag.CHARGING)},
        "20_1.invOutputWatts",
    ),
    "smart_plug": Family("Smart Plug", _SMART_PLUG, {}, "2_1.watts"),  # no battery
    "glacier": Family(
        "Glacier",
        _GLACIER,
        {},
        "pd.motorWat",
        OnBattery("bms_bmsStatus.inWatts", battery_out="bms_bmsStatus.outWatts"),
    ),
    "wave2": Family(
        "WAVE 2",
        _WAVE_2,
        {},
        "pd.batDsgRemain",
        OnBattery("pd.acPwrIn", battery_out="pd.batPwrOut"),
    ),
}

# Without a family from the serial, the first family whose signature key is present. Only
# families whose keys mean the same for every product in them; G2 without its voltage row.
_DETECT: Final[tuple[Family, ...]] = (
    FAMILIES["powerstream"],
    FAMILIES["smart_plug"],
    FAMILIES["protobuf_json"],
    FAMILIES["glacier"],
    FAMILIES["wave2"],
    Family(
        "DELTA 2 / RIVER 2 (voltage unit unknown)", _G2, _G2_FLAGS, "bms_bmsStatus.soc", _INV_IN
    ),
    FAMILIES["delta_g1"],
    FAMILIES["river_g1"],
    FAMILIES["river_mini"],
)


def family_for(name: str | None, raw: Mapping[str, float]) -> Family | None:
    """The family a device's serial names, else the one its keys betray, else None."""
    if name is not None and name in FAMILIES:
        return FAMILIES[name]
    return next((family for family in _DETECT if family.signature in raw), None)


def _swap32(value: float) -> float | None:
    if not value.is_integer() or not 0 <= value < 1 << 32:
        return None
    return float(int.from_bytes(int(value).to_bytes(4, "little"), "big"))


def _scaled(value: float, scale: float) -> float:
    # 524 * 0.1 is 52.400000000000006 but 524 / 10 is 52.4: divide by the whole divisor.
    if 0.0 < scale < 1.0:
        divisor = round(1.0 / scale)
        if abs(divisor * scale - 1.0) < 1e-12:  # noqa: PLR2004
            return value / divisor
    return value * scale


def _value(row: Field, value: float, going: Flag | None) -> tuple[Measure, float] | None:
    """One row's measure and value in base units, or None when it does not apply now."""
    measure = row.measure
    if row.swap32:
        swapped = _swap32(value)
        if swapped is None:
            return None
        value = swapped
    if row.remain:  # negative: to empty; positive: to full while charging, else to empty
        if value > 0 and going is Flag.CHARGING:
            measure = M.BATTERY_TIME_TO_FULL
        elif value > 0 and going is not Flag.DISCHARGING:
            return None  # idle or unknown: a positive number could be either
        value = abs(value)
    if row.direction is not None and going is not row.direction:
        return None
    if row.valid is not None and not row.valid[0] <= value <= row.valid[1]:
        return None
    if row.milli_above is not None and abs(value) > row.milli_above:
        value /= 1000.0
    return measure, _scaled(value, row.scale)


def _going(family: Family, raw: Mapping[str, float]) -> Flag | None:
    """Which way the battery goes: CHARGING, DISCHARGING, or None (idle, unknown)."""
    found = _direction(family, raw)[0]
    return next((flag for flag in (Flag.CHARGING, Flag.DISCHARGING) if flag in found), None)


def _ac_in_live(family: Family, raw: Mapping[str, float]) -> bool:
    rule = family.on_battery
    return rule is not None and raw.get(rule.ac_in, 0.0) > 0


def measures(family: Family, raw: Mapping[str, float]) -> list[tuple[Measure, float]]:
    """The candidate measures of a reading (not yet checked for plausibility)."""
    first: dict[Measure, float] = {}
    summed: dict[Measure, float] = {}
    going = _going(family, raw)
    ac_in_live = _ac_in_live(family, raw)
    for key, row in family.fields.items():
        value = raw.get(key)
        if value is None or (row.when is not None and not raw.get(row.when)):
            continue
        found = _value(row, value, going)
        if found is None:
            continue
        measure, converted = found
        if ac_in_live and measure in _AC_INPUTS and converted == 0:
            continue  # a field the firmware leaves at 0 while power comes in
        if row.add:
            summed[measure] = summed.get(measure, 0.0) + converted
        elif measure not in first:
            first[measure] = converted
    return [*first.items(), *((m, v) for m, v in summed.items() if m not in first)]


def _direction(family: Family, raw: Mapping[str, float]) -> tuple[frozenset[Flag], frozenset[Flag]]:
    for key, rule in family.flags.items():
        value = raw.get(key)
        if value is None:
            continue
        found: Flag | None
        if rule.values:
            found = rule.values.get(int(value)) if value.is_integer() else None
        else:
            found = rule.positive if value > 0 else rule.negative if value < 0 else None
        return (frozenset({found}) if found else frozenset(), rule.known())
    return frozenset(), frozenset()


def flags(family: Family, raw: Mapping[str, float]) -> tuple[frozenset[Flag], frozenset[Flag]]:
    """(flags set, flags known): direction and ``on_battery``.

    The direction comes from the first rule whose key is present, ``on_battery`` from the
    family's AC input.
    """
    found, known = _direction(family, raw)
    rule = family.on_battery
    ac_in = raw.get(rule.ac_in) if rule is not None else None
    if rule is None or ac_in is None:
        return found, known
    if rule.battery_out is not None:
        served = raw.get(rule.battery_out)
        if served is None:
            return found, known
        from_battery = served > 0
    elif known:
        from_battery = Flag.DISCHARGING in found
    else:
        return found, known
    if ac_in <= 0 and from_battery:
        found |= {Flag.ON_BATTERY}
    return found, known | {Flag.ON_BATTERY}
