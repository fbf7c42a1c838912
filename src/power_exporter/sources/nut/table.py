"""What NUT's variables mean: measures, status flags and identity, as tables.

Variable names are NUT's (docs/nut-names.txt); every value upsd gives is a string. A value is
*numeric* when it is a plain decimal number (``054.5`` is 54.5, ``-1`` is -1; no exponents, no
hex, no ``inf``/``nan``) and the variable is not one of the identifiers that merely look like
numbers (:data:`TEXT_ONLY_SUFFIXES`: ``ups.vendorid: 0463``, serials, firmware and driver
versions). Numeric values go to ``Reading.raw`` under their NUT name, as NUT gives them
(percent stays percent); the others go to ``Reading.text``.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from power_exporter.model import (
    DeviceIdentity,
    Flag,
    Measure,
    implausibility,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Field:
    """A NUT variable's measure and the factor that brings it to base units."""

    measure: Measure
    scale: float = 1.0


# NUT variable -> measure. Rows apply only when the variable is present and numeric. Where two
# variables give the same measure, the EARLIER row wins:
# - output.realpower before ups.realpower: both are the real power the load draws; the
#   output.* name is the more specific one, and drivers that give both give the same value.
# - output.power before ups.power (apparent power, VA), for the same reason.
NUT_VARS: Final[Mapping[str, Field]] = {
    "battery.charge": Field(Measure.BATTERY_CHARGE, 0.01),  # percent -> ratio
    "battery.runtime": Field(Measure.BATTERY_RUNTIME),  # seconds
    "battery.voltage": Field(Measure.BATTERY_VOLTAGE),
    "battery.temperature": Field(Measure.BATTERY_TEMPERATURE),  # degrees Celsius
    "input.voltage": Field(Measure.INPUT_VOLTAGE),
    "input.frequency": Field(Measure.INPUT_FREQUENCY),
    "input.current": Field(Measure.INPUT_CURRENT),
    "input.realpower": Field(Measure.INPUT_POWER),  # watts
    "output.voltage": Field(Measure.OUTPUT_VOLTAGE),
    "output.frequency": Field(Measure.OUTPUT_FREQUENCY),
    "output.current": Field(Measure.OUTPUT_CURRENT),
    "output.realpower": Field(Measure.OUTPUT_POWER),  # watts
    "ups.realpower": Field(Measure.OUTPUT_POWER),  # watts, when output.realpower is absent
    "output.power": Field(Measure.OUTPUT_APPARENT_POWER),  # volt-amperes
    "ups.power": Field(Measure.OUTPUT_APPARENT_POWER),  # volt-amperes, when output.power is absent
    "ups.load": Field(Measure.LOAD, 0.01),  # percent of nominal -> ratio
    "ups.realpower.nominal": Field(Measure.NOMINAL_POWER),
    "ups.power.nominal": Field(Measure.NOMINAL_APPARENT_POWER),
}


# Per-outlet and per-phase variables -> labelled measures. ``outlet.<n>.<quantity>`` gives
# outlet="<n>"; ``input.<phase>.<quantity>`` and ``output.<phase>.<quantity>`` give
# phase="<phase>" (L1, L2, L3, N, or between two: L1-L2, L1-N), as NUT names them.
OUTLET_VAR: Final = re.compile(r"^outlet\.(\d+)\.([a-z]+)$")
PHASE_VAR: Final = re.compile(r"^(input|output)\.(L[1-3](?:-(?:L[1-3]|N))?|N)\.([a-z]+)$")
LABELLED_PREFIXES: Final = ("outlet.", "input.L", "input.N", "output.L", "output.N")
"""What every per-outlet or per-phase variable starts with (no regex for the others)."""
OUTLET_MEASURES: Final[Mapping[str, Measure]] = {
    "current": Measure.OUTLET_CURRENT,
    "realpower": Measure.OUTLET_POWER,  # watts
    "power": Measure.OUTLET_APPARENT_POWER,  # volt-amperes
    "voltage": Measure.OUTLET_VOLTAGE,
}
PHASE_MEASURES: Final[Mapping[tuple[str, str], Measure]] = {
    ("input", "voltage"): Measure.INPUT_PHASE_VOLTAGE,
    ("input", "current"): Measure.INPUT_PHASE_CURRENT,
    ("input", "realpower"): Measure.INPUT_PHASE_POWER,
    ("input", "power"): Measure.INPUT_PHASE_APPARENT_POWER,
    ("output", "voltage"): Measure.OUTPUT_PHASE_VOLTAGE,
    ("output", "current"): Measure.OUTPUT_PHASE_CURRENT,
    ("output", "realpower"): Measure.OUTPUT_PHASE_POWER,
    ("output", "power"): Measure.OUTPUT_PHASE_APPARENT_POWER,
}
OUTLET_STATES: Final[Mapping[str, float]] = {"on": 1.0, "off": 0.0}
"""``outlet.<n>.status`` -> ``power_outlet_on``; other values give no sample."""


# Text variables with a closed set of values -> their states, as raw state sets:
# network_ups_tools_<name>{state="<value>"} 1 for the value given (lower-cased), 0 for the
# other states; a value outside the set is added at 1. Values from NUT's docs and the DDL.
_LIMIT_STATES: Final = ("good", "warning-low", "critical-low", "warning-high", "critical-high")
STATE_SETS: Final[tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]] = (
    (re.compile(r"^ups\.beeper\.status$"), ("enabled", "disabled", "muted")),
    (
        re.compile(r"^ups\.test\.result$"),
        (
            "done and passed",
            "done and warning",
            "done and error",
            "aborted",
            "in progress",
            "no test initiated",
            "test scheduled",
        ),
    ),
    (
        re.compile(r"^ups\.type$"),
        ("offline / line interactive", "online", "offline", "line-interactive", "standby"),
    ),
    (re.compile(r"^battery\.charger\.status$"), ("charging", "discharging", "floating", "resting")),
    (re.compile(r"^outlet\.\d+\.status$"), ("on", "off")),
    (re.compile(r"^outlet\.\d+\.switchable$"), ("yes", "no")),
    (
        re.compile(r"\.(current|voltage|realpower|power|frequency|load|temperature)\.status$"),
        _LIMIT_STATES,
    ),
)


def states_of(variable: str) -> tuple[str, ...] | None:
    """The closed set of values of a text variable, or None when it has none."""
    for pattern, states in STATE_SETS:
        if pattern.search(variable):
            return states
    return None


@dataclass(frozen=True, slots=True)
class Derivation:
    """A measure computed from other variables when the device does not give it."""

    measure: Measure
    factors: tuple[str, ...]
    scale: float
    note: str


DERIVED_OUTPUT_POWER: Final = Derivation(
    measure=Measure.OUTPUT_POWER,
    factors=("ups.load", "ups.realpower.nominal"),
    scale=0.01,
    note=(
        "for NUT UPSes that report no real power (neither output.realpower nor ups.realpower), "
        "derived as ups.load / 100 x ups.realpower.nominal"
    ),
)
"""The output power of a UPS that only gives its load and nominal real power (APC Back-UPS,
CyberPower): an estimate, which the exposition's HELP text should say (``note``)."""

DERIVATIONS: Final[tuple[Derivation, ...]] = (DERIVED_OUTPUT_POWER,)

_CONTESTED: Final = frozenset(
    name
    for name, field in NUT_VARS.items()
    if sum(other.measure == field.measure for other in NUT_VARS.values()) > 1
) | frozenset(factor for rule in DERIVATIONS for factor in rule.factors)
"""Variables whose plausibility decides which value a measure takes (the Reading checks all)."""

# ups.status token -> flag. Tokens not listed here (CP, TEST, unknown vendor ones) are kept in
# the raw status series only. WAIT is not a flag: it means the driver has no data yet.
NUT_FLAGS: Final[Mapping[str, Flag]] = {
    "OL": Flag.ONLINE,
    "OB": Flag.ON_BATTERY,
    "LB": Flag.LOW_BATTERY,
    "HB": Flag.HIGH_BATTERY,
    "RB": Flag.REPLACE_BATTERY,
    "CHRG": Flag.CHARGING,
    "DISCHRG": Flag.DISCHARGING,
    "BYPASS": Flag.BYPASS,
    "CAL": Flag.CALIBRATING,
    "OFF": Flag.OFF,
    "OVER": Flag.OVERLOAD,
    "TRIM": Flag.TRIM,
    "BOOST": Flag.BOOST,
    "FSD": Flag.SHUTDOWN_IMMINENT,
    "SD": Flag.SHUTDOWN_IMMINENT,
    "ALARM": Flag.ALARM,
}

# battery.charger.status value -> flag it adds (NUT 2.8.1+ drivers say "charging" here rather
# than CHRG in ups.status; "floating" and "resting" add nothing).
CHARGER_FLAGS: Final[Mapping[str, Flag]] = {
    "charging": Flag.CHARGING,
    "discharging": Flag.DISCHARGING,
}

KNOWN_FLAGS: Final = frozenset(NUT_FLAGS.values()) | frozenset(CHARGER_FLAGS.values())
"""Every flag NUT can know: all of them are exposed 1/0 while a NUT UPS with a status is up."""

STATUS_VAR: Final = "ups.status"
CHARGER_VAR: Final = "battery.charger.status"
WAIT_TOKEN: Final = "WAIT"  # noqa: S105 - a NUT status token, not a password

# Variables whose values look like numbers but are identifiers: kept as text, never as raw
# numbers (a vendor id 0463 is not four hundred and sixty-three). Matched on whole name parts.
TEXT_ONLY_SUFFIXES: Final = (
    "serial",
    "vendorid",
    "productid",
    "firmware",
    "firmware.aux",
    "version",
    "version.internal",
    "part",
    "macaddr",
)

# Identity: the first non-blank variable of each chain (as Home Assistant's NUT integration).
VENDOR_CHAIN: Final = ("device.mfr", "ups.mfr", "ups.vendorid")
MODEL_CHAIN: Final = ("device.model", "ups.model", "ups.productid")
SERIAL_CHAIN: Final = ("device.serial", "ups.serial")
FIRMWARE_CHAIN: Final = ("ups.firmware",)
SERIAL_PLACEHOLDERS: Final = frozenset({"", "unknown", "blank", "none", "n/a", "na", "-"})

# The labels of network_ups_tools_device_info (DRuggeri/nut_exporter): device.<label> as given.
DEVICE_INFO_LABELS: Final = (
    "model",
    "mfr",
    "serial",
    "type",
    "description",
    "contact",
    "location",
    "part",
    "macaddr",
)

_DEVICE_INFO_VARS: Final = tuple((label, f"device.{label}") for label in DEVICE_INFO_LABELS)

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


def numeric_value(name: str, value: str) -> float | None:
    """Return the number a NUT value stands for, or None when it is text (module docstring)."""
    text = value.strip()
    if not _NUMBER.match(text) or is_text_only(name):
        return None
    return float(text)


@functools.lru_cache(maxsize=4096)  # a UPS repeats its names at every poll
def is_text_only(name: str) -> bool:
    """Whether a variable is an identifier that may look numeric but is never a number."""
    return any(name == suffix or name.endswith("." + suffix) for suffix in TEXT_ONLY_SUFFIXES)


def status_tokens(variables: Mapping[str, str]) -> list[str]:
    """Return the tokens of ``ups.status`` in the order NUT gave them, without repeats."""
    return list(dict.fromkeys(variables.get(STATUS_VAR, "").split()))


def has_status(variables: Mapping[str, str]) -> bool:
    """Whether the device gives a status at all (an ePDU gives none, or a blank one)."""
    return bool(variables.get(STATUS_VAR, "").strip())


def known_flags_of(variables: Mapping[str, str]) -> frozenset[Flag]:
    """The flags this device can tell: all of NUT's with a status, its charger's, or none."""
    if has_status(variables):
        return KNOWN_FLAGS
    if variables.get(CHARGER_VAR, "").strip():
        return frozenset(CHARGER_FLAGS.values())
    return frozenset()


def flags_of(variables: Mapping[str, str]) -> frozenset[Flag]:
    """Return the known flags set by ``ups.status`` and ``battery.charger.status``."""
    flags = {NUT_FLAGS[token] for token in status_tokens(variables) if token in NUT_FLAGS}
    charger = variables.get(CHARGER_VAR, "").strip().lower()
    if charger in CHARGER_FLAGS:
        flags.add(CHARGER_FLAGS[charger])
    return frozenset(flags)


def candidates_of(raw: Mapping[str, float]) -> dict[Measure, float]:
    """Measures from the numeric variables by NUT_VARS then DERIVATIONS, for the Reading to check.

    Where two variables give one measure, the first *plausible* one wins (a sentinel in
    output.realpower gives way to ups.realpower); if none is, the first stands, for the
    Reading to drop and count. A derivation is made only from plausible factors.
    """
    candidates: dict[Measure, float] = {}
    implausible: set[str] = set()  # variables
    shaky: set[Measure] = set()  # measures whose candidate so far is implausible
    for name, field in NUT_VARS.items():
        if name not in raw:
            continue
        value = raw[name] * field.scale
        # A measure only one variable gives takes its value, plausible or not: no test here.
        if name in _CONTESTED and implausibility(field.measure, value) is not None:
            implausible.add(name)
            if field.measure not in candidates:
                candidates[field.measure] = value
                shaky.add(field.measure)
        elif field.measure not in candidates or field.measure in shaky:
            candidates[field.measure] = value
            shaky.discard(field.measure)
    for rule in DERIVATIONS:
        if (
            rule.measure not in candidates
            and all(name in raw for name in rule.factors)
            and not implausible.intersection(rule.factors)
        ):
            product = rule.scale
            for name in rule.factors:
                product *= raw[name]
            candidates[rule.measure] = product
    return candidates


def _first(variables: Mapping[str, str], chain: tuple[str, ...], *, serial: bool = False) -> str:
    for name in chain:
        value = variables.get(name, "").strip()
        if serial and (value.lower() in SERIAL_PLACEHOLDERS or set(value) == {"0"}):
            continue
        if value:
            return value
    return ""


def identity_of(name: str, source: str, variables: Mapping[str, str]) -> DeviceIdentity:
    """Build the identity of a UPS from its variables, with the fallback chains above."""
    return DeviceIdentity(
        name=name,
        source=source,
        vendor=_first(variables, VENDOR_CHAIN),
        model=_first(variables, MODEL_CHAIN),
        serial=_first(variables, SERIAL_CHAIN, serial=True),
        firmware=_first(variables, FIRMWARE_CHAIN),
        labels={label: variables.get(name, "") for label, name in _DEVICE_INFO_VARS},
    )


class ProblemLog:
    """Logs the measures dropped for each device when that set changes, not every poll."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, ...]] = {}
        self.dropped = 0

    def note(self, device: str, problems: list[str]) -> None:
        """Count this poll's problems and log them if they differ from the last poll's."""
        self.dropped += len(problems)
        current = tuple(sorted(problems))
        if self._last.get(device, ()) == current:
            return
        self._last[device] = current
        if current:
            log.warning("%s: dropped invalid values: %s", device, "; ".join(current))
        else:
            log.info("%s: values valid again", device)
