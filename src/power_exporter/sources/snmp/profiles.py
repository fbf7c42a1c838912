"""The SNMP profiles: one table per MIB family, chosen by sysObjectID (docs/snmp.md).

Facts (OIDs, units, enums) are from RFC 1628, APC's PowerNet-MIB, Eaton's XUPS-MIB and
CyberPower's CPS-MIB; the quirks each ``unknown`` column guards against were seen in real
recordings (tests/fixtures/snmp). Within a profile, the first column giving a measure wins.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from power_exporter.model import Flag, Measure
from power_exporter.sources.snmp.columns import (
    ABSOLUTE_ZERO,
    HUNDREDTHS_KW,
    INT_UNKNOWN,
    MINUS_ONE,
    MINUTES,
    PERCENT,
    TENTHS,
    TENTHS_KWH,
    TENTHS_PERCENT,
    TIMETICKS,
    Column,
    Identity,
    Profile,
    StatusEnum,
    oid,
    per_outlet,
    per_phase,
    scalar,
    table,
    text,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

M = Measure
_F = frozenset
ONLINE: Final = _F({Flag.ONLINE})
ON_BATTERY: Final = _F({Flag.ON_BATTERY, Flag.DISCHARGING})
LOW: Final = _F({Flag.LOW_BATTERY})
BYPASS: Final = _F({Flag.BYPASS})
OFF: Final = _F({Flag.OFF})
BOOST: Final = _F({Flag.ONLINE, Flag.BOOST})
TRIM: Final = _F({Flag.ONLINE, Flag.TRIM})
REPLACE: Final = _F({Flag.REPLACE_BATTERY})

SYS_OBJECT_ID: Final = oid("1.3.6.1.2.1.1.2.0")
SYS_DESCR: Final = oid("1.3.6.1.2.1.1.1.0")
UPS_IDENT_MANUFACTURER: Final = oid("1.3.6.1.2.1.33.1.1.1.0")

# -- RFC 1628 UPS-MIB ----------------------------------------------------------------------
U = "1.3.6.1.2.1.33.1."
UPS_MIB_TEMPERATURE: Final = scalar(
    "upsBatteryTemperature", U + "2.7", M.BATTERY_TEMPERATURE, zero_is_absent=True
)
UPS_MIB_COLUMNS: Final[tuple[Column, ...]] = (
    text("upsIdentManufacturer", U + "1.1"),
    text("upsIdentModel", U + "1.2"),
    text("upsIdentUPSSoftwareVersion", U + "1.3"),
    text("upsIdentAgentSoftwareVersion", U + "1.4"),
    text("upsIdentName", U + "1.5"),
    scalar("upsBatteryStatus", U + "2.1"),
    scalar("upsSecondsOnBattery", U + "2.2"),
    scalar(
        "upsEstimatedMinutesRemaining",
        U + "2.3",
        M.BATTERY_RUNTIME,
        scale=MINUTES,
        unknown=INT_UNKNOWN,
    ),
    scalar(
        "upsEstimatedChargeRemaining",
        U + "2.4",
        M.BATTERY_CHARGE,
        scale=PERCENT,
        unknown=INT_UNKNOWN,
    ),
    scalar("upsBatteryVoltage", U + "2.5", M.BATTERY_VOLTAGE, scale=TENTHS, unknown=INT_UNKNOWN),
    scalar("upsBatteryCurrent", U + "2.6", scale=TENTHS, unknown=MINUS_ONE),
    UPS_MIB_TEMPERATURE,
    scalar("upsInputLineBads", U + "3.1"),
    scalar("upsInputNumLines", U + "3.2"),
    table(
        "upsInputFrequency",
        U + "3.3.1.2",
        "upsInputLineIndex",
        M.INPUT_FREQUENCY,
        scale=TENTHS,
        unknown=INT_UNKNOWN,
    ),
    table(
        "upsInputVoltage",
        U + "3.3.1.3",
        "upsInputLineIndex",
        M.INPUT_VOLTAGE,
        unknown=INT_UNKNOWN,
        **per_phase(M.INPUT_PHASE_VOLTAGE, "upsInputNumLines"),
    ),
    table(
        "upsInputCurrent",
        U + "3.3.1.4",
        "upsInputLineIndex",
        M.INPUT_CURRENT,
        scale=TENTHS,
        unknown=INT_UNKNOWN,
        **per_phase(M.INPUT_PHASE_CURRENT, "upsInputNumLines"),
    ),
    table(
        "upsInputTruePower",
        U + "3.3.1.5",
        "upsInputLineIndex",
        M.INPUT_POWER,
        unknown=INT_UNKNOWN,
        combine="sum",
        **per_phase(M.INPUT_PHASE_POWER, "upsInputNumLines"),
    ),
    scalar("upsOutputSource", U + "4.1"),
    scalar("upsOutputFrequency", U + "4.2", M.OUTPUT_FREQUENCY, scale=TENTHS, unknown=INT_UNKNOWN),
    scalar("upsOutputNumLines", U + "4.3"),
    table(
        "upsOutputVoltage",
        U + "4.4.1.2",
        "upsOutputLineIndex",
        M.OUTPUT_VOLTAGE,
        unknown=INT_UNKNOWN,
        **per_phase(M.OUTPUT_PHASE_VOLTAGE, "upsOutputNumLines"),
    ),
    table(
        "upsOutputCurrent",
        U + "4.4.1.3",
        "upsOutputLineIndex",
        M.OUTPUT_CURRENT,
        scale=TENTHS,
        unknown=INT_UNKNOWN,
        **per_phase(M.OUTPUT_PHASE_CURRENT, "upsOutputNumLines"),
    ),
    table(
        "upsOutputPower",
        U + "4.4.1.4",
        "upsOutputLineIndex",
        M.OUTPUT_POWER,
        unknown=INT_UNKNOWN,
        combine="sum",
        **per_phase(M.OUTPUT_PHASE_POWER, "upsOutputNumLines"),
    ),
    table(
        "upsOutputPercentLoad",
        U + "4.4.1.5",
        "upsOutputLineIndex",
        M.LOAD,
        scale=PERCENT,
        unknown=INT_UNKNOWN,
        combine="max",
    ),
    scalar("upsBypassFrequency", U + "5.1", scale=TENTHS, unknown=INT_UNKNOWN),
    scalar("upsBypassNumLines", U + "5.2"),
    table("upsBypassVoltage", U + "5.3.1.2", "upsBypassLineIndex", unknown=INT_UNKNOWN),
    table(
        "upsBypassCurrent", U + "5.3.1.3", "upsBypassLineIndex", scale=TENTHS, unknown=INT_UNKNOWN
    ),
    table("upsBypassPower", U + "5.3.1.4", "upsBypassLineIndex", unknown=INT_UNKNOWN),
    scalar("upsAlarmsPresent", U + "6.1"),
    scalar("upsTestResultsSummary", U + "7.3"),
    scalar("upsConfigInputVoltage", U + "9.1"),
    scalar("upsConfigOutputVoltage", U + "9.3"),
    scalar("upsConfigOutputVA", U + "9.5", M.NOMINAL_APPARENT_POWER, unknown=INT_UNKNOWN),
    scalar("upsConfigOutputPower", U + "9.6", M.NOMINAL_POWER, unknown=INT_UNKNOWN),
    scalar("upsConfigLowBattTime", U + "9.7"),
    scalar("upsConfigAudibleStatus", U + "9.8"),
    scalar("upsConfigLowVoltageTransferPoint", U + "9.9"),
    scalar("upsConfigHighVoltageTransferPoint", U + "9.10"),
)
UPS_ALARM_DESCR: Final = oid(U + "6.2.1.2")
UPS_WELL_KNOWN_ALARMS: Final = oid(U + "6.3")
# upsWellKnownAlarms.N -> flags it sets (besides ALARM, which any present alarm sets).
ALARM_FLAGS: Final[Mapping[int, frozenset[Flag]]] = MappingProxyType(
    {
        1: REPLACE,  # upsAlarmBatteryBad
        2: _F({Flag.ON_BATTERY}),  # upsAlarmOnBattery
        3: LOW,  # upsAlarmLowBattery
        4: LOW,  # upsAlarmDepletedBattery
        8: _F({Flag.OVERLOAD}),  # upsAlarmOutputOverload
        9: BYPASS,  # upsAlarmOnBypass
        14: OFF,  # upsAlarmUpsOutputOff
        15: OFF,  # upsAlarmUpsSystemOff
        22: _F({Flag.SHUTDOWN_IMMINENT}),  # upsAlarmShutdownPending
        23: _F({Flag.SHUTDOWN_IMMINENT}),  # upsAlarmShutdownImminent
    }
)
UPS_MIB_STATUS: Final = (
    # upsOutputSource: other 1, none 2, normal 3, bypass 4, battery 5, booster 6, reducer 7
    StatusEnum("upsOutputSource", {2: OFF, 3: ONLINE, 4: BYPASS, 5: ON_BATTERY, 6: BOOST, 7: TRIM}),
    # upsBatteryStatus: unknown 1, batteryNormal 2, batteryLow 3, batteryDepleted 4
    StatusEnum("upsBatteryStatus", {3: LOW, 4: LOW}),
)
UPS_MIB_ALARM_FLAGS: Final = frozenset().union(*ALARM_FLAGS.values()) | {Flag.ALARM}
UPS_MIB_TREES: Final = tuple(oid(U + group) for group in ("1", "2", "3", "4", "5", "6", "7", "9"))

UPS_MIB: Final = Profile(
    name="ups-mib",
    description="RFC 1628 UPS-MIB (any vendor's card that serves it)",
    identity=Identity(
        vendor="",
        vendor_chain=("upsIdentManufacturer",),
        model=("upsIdentModel",),
        firmware=("upsIdentUPSSoftwareVersion",),
    ),
    subtrees=UPS_MIB_TREES,
    columns=UPS_MIB_COLUMNS,
    status=UPS_MIB_STATUS,
    extra_flags=UPS_MIB_ALARM_FLAGS,
    alarms=True,
)

TRIPPLITE: Final = Profile(
    name="tripplite",
    description="Tripp Lite WEBCARDLX / PowerAlert: UPS-MIB, -273 °C when no probe",
    identity=Identity(
        vendor="Tripp Lite", model=("upsIdentModel",), firmware=("upsIdentAgentSoftwareVersion",)
    ),
    subtrees=UPS_MIB_TREES,
    columns=tuple(
        scalar(
            c.name, ".".join(map(str, c.oid)), c.measure, zero_is_absent=True, unknown=ABSOLUTE_ZERO
        )
        if c is UPS_MIB_TEMPERATURE
        else c
        for c in UPS_MIB_COLUMNS
    ),
    status=UPS_MIB_STATUS,
    extra_flags=UPS_MIB_ALARM_FLAGS,
    alarms=True,
)

# -- APC PowerNet-MIB: UPS --------------------------------------------------------------------
A = "1.3.6.1.4.1.318.1.1.1."
APC_UPS: Final = Profile(
    name="apc-ups",
    description="APC Smart-UPS / Symmetra on a Network Management Card (PowerNet-MIB)",
    identity=Identity(
        vendor="APC",
        model=("upsBasicIdentModel",),
        serial=("upsAdvIdentSerialNumber",),
        firmware=("upsAdvIdentFirmwareRevision",),
    ),
    subtrees=(oid(A + "1"), oid(A + "2"), oid(A + "3"), oid(A + "4")),
    columns=(
        text("upsBasicIdentModel", A + "1.1.1"),
        text("upsBasicIdentName", A + "1.1.2"),
        text("upsAdvIdentFirmwareRevision", A + "1.2.1"),
        text("upsAdvIdentDateOfManufacture", A + "1.2.2"),
        text("upsAdvIdentSerialNumber", A + "1.2.3"),
        scalar("upsBasicBatteryStatus", A + "2.1.1"),
        scalar("upsBasicBatteryTimeOnBattery", A + "2.1.2"),
        scalar("upsHighPrecBatteryCapacity", A + "2.3.1", M.BATTERY_CHARGE, scale=TENTHS_PERCENT),
        scalar("upsAdvBatteryCapacity", A + "2.2.1", M.BATTERY_CHARGE, scale=PERCENT),
        scalar("upsHighPrecBatteryTemperature", A + "2.3.2", M.BATTERY_TEMPERATURE, scale=TENTHS),
        scalar("upsAdvBatteryTemperature", A + "2.2.2", M.BATTERY_TEMPERATURE),
        scalar("upsAdvBatteryRunTimeRemaining", A + "2.2.3", M.BATTERY_RUNTIME, scale=TIMETICKS),
        scalar("upsAdvBatteryReplaceIndicator", A + "2.2.4"),
        scalar("upsAdvBatteryNominalVoltage", A + "2.2.7"),
        scalar(
            "upsHighPrecBatteryActualVoltage",
            A + "2.3.4",
            M.BATTERY_VOLTAGE,
            scale=TENTHS,
            unknown=MINUS_ONE,
        ),
        scalar("upsAdvBatteryActualVoltage", A + "2.2.8", M.BATTERY_VOLTAGE, unknown=MINUS_ONE),
        scalar("upsHighPrecInputLineVoltage", A + "3.3.1", M.INPUT_VOLTAGE, scale=TENTHS),
        scalar("upsAdvInputLineVoltage", A + "3.2.1", M.INPUT_VOLTAGE),
        scalar("upsHighPrecInputFrequency", A + "3.3.4", M.INPUT_FREQUENCY, scale=TENTHS),
        scalar("upsAdvInputFrequency", A + "3.2.4", M.INPUT_FREQUENCY),
        scalar("upsAdvInputLineFailCause", A + "3.2.5"),
        scalar("upsBasicOutputStatus", A + "4.1.1"),
        scalar("upsHighPrecOutputVoltage", A + "4.3.1", M.OUTPUT_VOLTAGE, scale=TENTHS),
        scalar("upsAdvOutputVoltage", A + "4.2.1", M.OUTPUT_VOLTAGE),
        scalar("upsHighPrecOutputFrequency", A + "4.3.2", M.OUTPUT_FREQUENCY, scale=TENTHS),
        scalar("upsAdvOutputFrequency", A + "4.2.2", M.OUTPUT_FREQUENCY),
        scalar("upsHighPrecOutputLoad", A + "4.3.3", M.LOAD, scale=TENTHS_PERCENT),
        scalar("upsAdvOutputLoad", A + "4.2.3", M.LOAD, scale=PERCENT),
        scalar("upsHighPrecOutputCurrent", A + "4.3.4", M.OUTPUT_CURRENT, scale=TENTHS),
        scalar("upsAdvOutputCurrent", A + "4.2.4", M.OUTPUT_CURRENT),
        scalar("upsAdvOutputActivePower", A + "4.2.8", M.OUTPUT_POWER, unknown=MINUS_ONE),
        scalar(
            "upsAdvOutputApparentPower", A + "4.2.9", M.OUTPUT_APPARENT_POWER, unknown=MINUS_ONE
        ),
    ),
    status=(
        # upsBasicOutputStatus (1..28): only the values whose meaning is plain.
        StatusEnum(
            "upsBasicOutputStatus",
            {
                2: ONLINE,
                3: ON_BATTERY,
                4: BOOST,
                5: OFF,
                6: BYPASS,
                7: OFF,
                9: BYPASS,
                10: BYPASS,
                11: OFF,
                12: TRIM,
                13: ONLINE,
                15: ON_BATTERY | {Flag.CALIBRATING},
                16: BYPASS,
            },
        ),
        # upsBasicBatteryStatus: unknown 1, normal 2, low 3, inFault 4, noBatteryPresent 5
        StatusEnum("upsBasicBatteryStatus", {3: LOW, 4: _F({Flag.ALARM}), 5: _F({Flag.ALARM})}),
        # upsAdvBatteryReplaceIndicator: noBatteryNeedsReplacing 1, batteryNeedsReplacing 2
        StatusEnum("upsAdvBatteryReplaceIndicator", {2: REPLACE}),
    ),
)

# -- APC PowerNet-MIB: rPDU2 metered / switched rack PDUs ---------------------------------------
# Read from real cards (tests/fixtures/snmp: an AP8641 metered-by-outlet with switching, an
# AP7902B switched PDU): power in hundredths of kW (kVA), currents in tenths of A, voltage in
# whole V, energy in tenths of kWh, and -1 wherever a model does not measure a quantity (the
# AP7902B meters current only: its voltage, powers, power factor and energy are all -1).
# rPDU2IdentTable is rPDU2 2 itself: its columns are 26.2.1.N (no table node between).
P = "1.3.6.1.4.1.318.1.1.26."
OUTLET_STATE: Final = ((1, 0.0), (2, 1.0))  # rPDU2OutletSwitchedStatusState: off 1, on 2
APC_RPDU2: Final = Profile(
    name="apc-rpdu2",
    description="APC rack PDUs, metered and switched (PowerNet-MIB rPDU2)",
    identity=Identity(
        vendor="APC",
        model=("rPDU2IdentModelNumber",),
        serial=("rPDU2IdentSerialNumber",),
        firmware=("rPDU2IdentFirmwareRev",),
    ),
    subtrees=(
        oid(P + "2.1"),
        oid(P + "4.3"),
        oid(P + "6.3"),
        oid(P + "8.3"),
        oid(P + "9.2.3"),
        oid(P + "9.4.3"),
    ),
    columns=(
        table("rPDU2IdentName", P + "2.1.3", "rPDU2IdentIndex", text=True),
        table("rPDU2IdentFirmwareRev", P + "2.1.6", "rPDU2IdentIndex", text=True),
        table("rPDU2IdentModelNumber", P + "2.1.8", "rPDU2IdentIndex", text=True),
        table("rPDU2IdentSerialNumber", P + "2.1.9", "rPDU2IdentIndex", text=True),
        table("rPDU2DeviceStatusLoadState", P + "4.3.1.4", "rPDU2DeviceStatusIndex"),
        table(
            "rPDU2DeviceStatusPower",
            P + "4.3.1.5",
            "rPDU2DeviceStatusIndex",
            M.OUTPUT_POWER,
            scale=HUNDREDTHS_KW,
            unknown=MINUS_ONE,
            combine="sum",
        ),
        table("rPDU2DeviceStatusPeakPower", P + "4.3.1.6", "rPDU2DeviceStatusIndex"),
        table(
            "rPDU2DeviceStatusEnergy",
            P + "4.3.1.9",
            "rPDU2DeviceStatusIndex",
            M.OUTPUT_ENERGY,
            scale=TENTHS_KWH,
            unknown=MINUS_ONE,
            combine="sum",
            total=True,
        ),
        table(
            "rPDU2DeviceStatusApparentPower",
            P + "4.3.1.16",
            "rPDU2DeviceStatusIndex",
            M.OUTPUT_APPARENT_POWER,
            scale=HUNDREDTHS_KW,
            unknown=MINUS_ONE,
            combine="sum",
        ),
        table("rPDU2DeviceStatusPowerFactor", P + "4.3.1.17", "rPDU2DeviceStatusIndex"),
        table("rPDU2PhaseStatusLoadState", P + "6.3.1.4", "rPDU2PhaseStatusIndex"),
        table(
            "rPDU2PhaseStatusCurrent",
            P + "6.3.1.5",
            "rPDU2PhaseStatusIndex",
            M.INPUT_CURRENT,
            scale=TENTHS,
            unknown=MINUS_ONE,
            **per_phase(M.INPUT_PHASE_CURRENT),
        ),
        table(
            "rPDU2PhaseStatusVoltage",
            P + "6.3.1.6",
            "rPDU2PhaseStatusIndex",
            M.INPUT_VOLTAGE,
            unknown=MINUS_ONE,
            **per_phase(M.INPUT_PHASE_VOLTAGE),
        ),
        table(
            "rPDU2PhaseStatusPower",
            P + "6.3.1.7",
            "rPDU2PhaseStatusIndex",
            M.INPUT_POWER,
            scale=HUNDREDTHS_KW,
            unknown=MINUS_ONE,
            combine="sum",
            **per_phase(M.INPUT_PHASE_POWER),
        ),
        table(
            "rPDU2PhaseStatusApparentPower",
            P + "6.3.1.8",
            "rPDU2PhaseStatusIndex",
            scale=HUNDREDTHS_KW,
            unknown=MINUS_ONE,
            **per_phase(M.INPUT_PHASE_APPARENT_POWER),
        ),
        table("rPDU2PhaseStatusPowerFactor", P + "6.3.1.9", "rPDU2PhaseStatusIndex"),
        table("rPDU2PhaseStatusPeakCurrent", P + "6.3.1.10", "rPDU2PhaseStatusIndex"),
        # Banks (breaker groups) have no label of their own in power_*: raw series only.
        table("rPDU2BankStatusLoadState", P + "8.3.1.4", "rPDU2BankStatusIndex"),
        table("rPDU2BankStatusCurrent", P + "8.3.1.5", "rPDU2BankStatusIndex"),
        table("rPDU2BankStatusPeakCurrent", P + "8.3.1.6", "rPDU2BankStatusIndex"),
        table(
            "rPDU2OutletSwitchedStatusName",
            P + "9.2.3.1.3",
            "rPDU2OutletSwitchedStatusIndex",
            text=True,
        ),
        table(
            "rPDU2OutletSwitchedStatusState",
            P + "9.2.3.1.5",
            "rPDU2OutletSwitchedStatusIndex",
            levels=OUTLET_STATE,
            **per_outlet(M.OUTLET_ON),
        ),
        table(
            "rPDU2OutletMeteredStatusName",
            P + "9.4.3.1.3",
            "rPDU2OutletMeteredStatusIndex",
            text=True,
        ),
        table("rPDU2OutletMeteredStatusState", P + "9.4.3.1.5", "rPDU2OutletMeteredStatusIndex"),
        table(
            "rPDU2OutletMeteredStatusCurrent",
            P + "9.4.3.1.6",
            "rPDU2OutletMeteredStatusIndex",
            scale=TENTHS,
            unknown=MINUS_ONE,
            **per_outlet(M.OUTLET_CURRENT),
        ),
        table(
            "rPDU2OutletMeteredStatusPower",
            P + "9.4.3.1.7",
            "rPDU2OutletMeteredStatusIndex",
            unknown=MINUS_ONE,
            **per_outlet(M.OUTLET_POWER),
        ),
        table(
            "rPDU2OutletMeteredStatusPeakPower", P + "9.4.3.1.8", "rPDU2OutletMeteredStatusIndex"
        ),
        # Each outlet's own energy total (tenths of kWh): raw only, there is no per-outlet
        # energy family in power_* yet.
        table("rPDU2OutletMeteredStatusEnergy", P + "9.4.3.1.11", "rPDU2OutletMeteredStatusIndex"),
    ),
    status=(
        # rPDU2DeviceStatusLoadState: lowLoad 1, normal 2, nearOverload 3, overload 4 (the
        # AP7902B, which meters no power, answers 5)
        StatusEnum("rPDU2DeviceStatusLoadState", {4: _F({Flag.OVERLOAD})}),
    ),
)

# -- Eaton XUPS-MIB (Powerware, ConnectUPS, Network-M2) and the MGE tree of Eaton cards ---------
X = "1.3.6.1.4.1.534.1."
G = "1.3.6.1.4.1.705.1."
EATON: Final = Profile(
    name="eaton-xups",
    description="Eaton / Powerware cards (XUPS-MIB), MGE-MIB as a fallback",
    identity=Identity(
        vendor="Eaton",
        model=("xupsIdentModel", "upsmgIdentFamilyName"),
        serial=("upsmgIdentSerialNumber",),
        firmware=("xupsIdentSoftwareVersion",),
    ),
    subtrees=(
        oid(X + "1"),
        oid(X + "2"),
        oid(X + "3"),
        oid(X + "4"),
        oid(X + "10"),
        oid(G + "1"),
        oid(G + "5"),
    ),
    columns=(
        text("xupsIdentManufacturer", X + "1.1"),
        text("xupsIdentModel", X + "1.2"),
        text("xupsIdentSoftwareVersion", X + "1.3"),
        scalar("xupsBatTimeRemaining", X + "2.1", M.BATTERY_RUNTIME, unknown=INT_UNKNOWN),
        scalar("xupsBatVoltage", X + "2.2", M.BATTERY_VOLTAGE, unknown=INT_UNKNOWN),
        scalar("xupsBatCurrent", X + "2.3", unknown=MINUS_ONE),
        scalar("xupsBatCapacity", X + "2.4", M.BATTERY_CHARGE, scale=PERCENT, unknown=INT_UNKNOWN),
        scalar("xupsBatteryAbmStatus", X + "2.5"),
        scalar(
            "xupsInputFrequency", X + "3.1", M.INPUT_FREQUENCY, scale=TENTHS, unknown=INT_UNKNOWN
        ),
        scalar("xupsInputNumPhases", X + "3.3"),
        table(
            "xupsInputVoltage",
            X + "3.4.1.2",
            "xupsInputPhase",
            M.INPUT_VOLTAGE,
            unknown=INT_UNKNOWN,
            **per_phase(M.INPUT_PHASE_VOLTAGE, "xupsInputNumPhases"),
        ),
        table(
            "xupsInputCurrent",
            X + "3.4.1.3",
            "xupsInputPhase",
            M.INPUT_CURRENT,
            unknown=INT_UNKNOWN,
            **per_phase(M.INPUT_PHASE_CURRENT, "xupsInputNumPhases"),
        ),
        table(
            "xupsInputWatts",
            X + "3.4.1.4",
            "xupsInputPhase",
            M.INPUT_POWER,
            unknown=INT_UNKNOWN,
            combine="sum",
            **per_phase(M.INPUT_PHASE_POWER, "xupsInputNumPhases"),
        ),
        scalar("xupsOutputLoad", X + "4.1", M.LOAD, scale=PERCENT, unknown=INT_UNKNOWN),
        scalar(
            "xupsOutputFrequency", X + "4.2", M.OUTPUT_FREQUENCY, scale=TENTHS, unknown=INT_UNKNOWN
        ),
        scalar("xupsOutputNumPhases", X + "4.3"),
        table(
            "xupsOutputVoltage",
            X + "4.4.1.2",
            "xupsOutputPhase",
            M.OUTPUT_VOLTAGE,
            unknown=INT_UNKNOWN,
            **per_phase(M.OUTPUT_PHASE_VOLTAGE, "xupsOutputNumPhases"),
        ),
        table(
            "xupsOutputCurrent",
            X + "4.4.1.3",
            "xupsOutputPhase",
            M.OUTPUT_CURRENT,
            unknown=INT_UNKNOWN,
            **per_phase(M.OUTPUT_PHASE_CURRENT, "xupsOutputNumPhases"),
        ),
        table(
            "xupsOutputWatts",
            X + "4.4.1.4",
            "xupsOutputPhase",
            M.OUTPUT_POWER,
            unknown=INT_UNKNOWN,
            combine="sum",
            **per_phase(M.OUTPUT_PHASE_POWER, "xupsOutputNumPhases"),
        ),
        scalar("xupsOutputSource", X + "4.5"),
        scalar("xupsConfigOutputVoltage", X + "10.1"),
        scalar("xupsConfigInputVoltage", X + "10.2"),
        scalar("xupsConfigOutputWatts", X + "10.3", M.NOMINAL_POWER, unknown=INT_UNKNOWN),
        scalar("xupsConfigOutputFreq", X + "10.4", scale=TENTHS),
        text("upsmgIdentFamilyName", G + "1.1"),
        text("upsmgIdentSerialNumber", G + "1.7"),
        scalar("upsmgBatteryRemainingTime", G + "5.1", M.BATTERY_RUNTIME, unknown=INT_UNKNOWN),
        scalar(
            "upsmgBatteryLevel", G + "5.2", M.BATTERY_CHARGE, scale=PERCENT, unknown=INT_UNKNOWN
        ),
        scalar(
            "upsmgBatteryVoltage", G + "5.5", M.BATTERY_VOLTAGE, scale=TENTHS, unknown=INT_UNKNOWN
        ),
    ),
    status=(
        # xupsOutputSource: other 1, none 2, normal 3, bypass 4, battery 5, booster 6,
        # reducer 7, parallelCapacity 8, parallelRedundant 9, highEfficiency 10,
        # maintenanceBypass 11, essMode 12
        StatusEnum(
            "xupsOutputSource",
            {
                2: OFF,
                3: ONLINE,
                4: BYPASS,
                5: ON_BATTERY,
                6: BOOST,
                7: TRIM,
                8: ONLINE,
                9: ONLINE,
                10: ONLINE,
                11: BYPASS,
                12: ONLINE,
            },
        ),
        # xupsBatteryAbmStatus: charging 1, discharging 2, floating 3, resting 4, unknown 5,
        # disconnected 6, underTest 7
        StatusEnum(
            "xupsBatteryAbmStatus",
            {
                1: _F({Flag.CHARGING}),
                2: _F({Flag.DISCHARGING}),
                6: _F({Flag.ALARM}),
                7: _F({Flag.CALIBRATING}),
            },
        ),
    ),
)

# -- CyberPower CPS-MIB (RMCARD) -----------------------------------------------------------------
C = "1.3.6.1.4.1.3808.1.1.1."
CYBERPOWER: Final = Profile(
    name="cyberpower",
    description="CyberPower UPSes on an RMCARD (CPS-MIB)",
    identity=Identity(
        vendor="CyberPower",
        model=("upsBaseIdentModel",),
        serial=("upsAdvanceIdentSerialNumber",),
        firmware=("upsAdvanceIdentFirmwareRevision",),
    ),
    subtrees=(oid(C + "1"), oid(C + "2"), oid(C + "3"), oid(C + "4")),
    columns=(
        text("upsBaseIdentModel", C + "1.1.1"),
        text("upsAdvanceIdentFirmwareRevision", C + "1.2.1"),
        text("upsAdvanceIdentSerialNumber", C + "1.2.3"),
        scalar("upsBaseBatteryStatus", C + "2.1.1"),
        scalar("upsBaseBatteryTimeOnBattery", C + "2.1.2"),
        scalar("upsAdvanceBatteryCapacity", C + "2.2.1", M.BATTERY_CHARGE, scale=PERCENT),
        scalar("upsAdvanceBatteryVoltage", C + "2.2.2", M.BATTERY_VOLTAGE, scale=TENTHS),
        scalar(
            "upsAdvanceBatteryTemperature", C + "2.2.3", M.BATTERY_TEMPERATURE, zero_is_absent=True
        ),
        scalar(
            "upsAdvanceBatteryRunTimeRemaining", C + "2.2.4", M.BATTERY_RUNTIME, scale=TIMETICKS
        ),
        scalar("upsAdvanceBatteryReplaceIndicator", C + "2.2.5"),
        scalar("upsAdvanceInputLineVoltage", C + "3.2.1", M.INPUT_VOLTAGE, scale=TENTHS),
        scalar("upsAdvanceInputFrequency", C + "3.2.4", M.INPUT_FREQUENCY, scale=TENTHS),
        scalar("upsAdvanceInputLineFailCause", C + "3.2.5"),
        scalar("upsBaseOutputStatus", C + "4.1.1"),
        scalar("upsAdvanceOutputVoltage", C + "4.2.1", M.OUTPUT_VOLTAGE, scale=TENTHS),
        scalar("upsAdvanceOutputFrequency", C + "4.2.2", M.OUTPUT_FREQUENCY, scale=TENTHS),
        scalar("upsAdvanceOutputLoad", C + "4.2.3", M.LOAD, scale=PERCENT),
        scalar("upsAdvanceOutputCurrent", C + "4.2.4", M.OUTPUT_CURRENT, scale=TENTHS),
        scalar("upsAdvanceOutputPower", C + "4.2.5", M.OUTPUT_POWER, unknown=MINUS_ONE),
    ),
    status=(
        # upsBaseOutputStatus: unknown 1, onLine 2, onBattery 3, onBoost 4, onSleep 5, off 6,
        # rebooting 7, onECO 8, onBypass 9, onBuck 10, onOverload 11
        StatusEnum(
            "upsBaseOutputStatus",
            {
                2: ONLINE,
                3: ON_BATTERY,
                4: BOOST,
                5: OFF,
                6: OFF,
                8: ONLINE,
                9: BYPASS,
                10: TRIM,
                11: ONLINE | {Flag.OVERLOAD},
            },
        ),
        # upsBaseBatteryStatus: unknown 1, batteryNormal 2, batteryLow 3, batteryNotPresent 4
        StatusEnum("upsBaseBatteryStatus", {3: LOW, 4: _F({Flag.ALARM})}),
        # upsAdvanceBatteryReplaceIndicator: noBatteryNeedsReplacing 1, batteryNeedsReplacing 2
        StatusEnum("upsAdvanceBatteryReplaceIndicator", {2: REPLACE}),
    ),
)

# -- ENTITY-SENSOR-MIB (RFC 3433): cards without a UPS MIB ----------------------------------------
E = "1.3.6.1.2.1.99.1.1.1."
ENTITY_SENSOR: Final = Profile(
    name="entity-sensor",
    description="ENTITY-SENSOR-MIB sensors only (raw series; no UPS MIB to normalize)",
    identity=Identity(vendor=""),
    subtrees=(oid("1.3.6.1.2.1.99.1.1"),),
    columns=(
        table("entPhySensorType", E + "1", "entPhysicalIndex"),
        table("entPhySensorScale", E + "2", "entPhysicalIndex"),
        table("entPhySensorPrecision", E + "3", "entPhysicalIndex"),
        table("entPhySensorValue", E + "4", "entPhysicalIndex"),
        table("entPhySensorOperStatus", E + "5", "entPhysicalIndex"),
    ),
)

PROFILES: Final[Mapping[str, Profile]] = MappingProxyType(
    {p.name: p for p in (UPS_MIB, APC_UPS, APC_RPDU2, EATON, CYBERPOWER, TRIPPLITE, ENTITY_SENSOR)}
)

# sysObjectID prefix -> profile; the longest matching prefix wins.
BY_SYS_OBJECT_ID: Final[Mapping[tuple[int, ...], Profile]] = MappingProxyType(
    {
        oid("1.3.6.1.4.1.318.1.3.4"): APC_RPDU2,  # APC rack PDUs (rPDU, rPDU2, MSP)
        oid("1.3.6.1.4.1.318"): APC_UPS,  # every other APC NMC
        oid("1.3.6.1.4.1.534"): EATON,  # Eaton / Powerware
        oid("1.3.6.1.4.1.705"): EATON,  # MGE, Eaton 9PX cards
        oid("1.3.6.1.4.1.3808"): CYBERPOWER,
        oid("1.3.6.1.4.1.850"): TRIPPLITE,
    }
)


def choose(sys_object_id: str | None, has_ups_mib: bool) -> Profile:  # noqa: FBT001
    """The profile for an agent: by sysObjectID, else UPS-MIB if served, else ENTITY-SENSOR."""
    if sys_object_id:
        try:
            found = oid(sys_object_id)
        except ValueError:
            found = ()
        matches = [p for p in BY_SYS_OBJECT_ID if found[: len(p)] == p]
        if matches:
            return BY_SYS_OBJECT_ID[max(matches, key=len)]
    return UPS_MIB if has_ups_mib else ENTITY_SENSOR
