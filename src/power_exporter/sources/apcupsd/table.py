"""What apcupsd's status keys mean: measures, flags, dates and identity, as tables.

A value is *numeric* when its first word is a plain decimal number (``229.5 Volts``,
``17.0 Percent Load Capacity``) or a hex number (``0x05000008``), and its key is not one of
the identifiers in :data:`TEXT_KEYS`. The word after the number is its unit, matched without
regard to case (apcupsd 3.14.6 and older wrote ``seconds``). Numeric values go to
``Reading.raw`` under their key, in the unit apcupsd gives (percent stays percent, TIMELEFT
stays minutes); the dates in :data:`DATE_KEYS` go there as Unix seconds. Values that are not
numbers go to ``Reading.text`` as given, dates included.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from power_exporter.errors import StaleError
from power_exporter.model import DeviceIdentity, Flag, Measure, Reading, checked_measures

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


@dataclass(frozen=True, slots=True)
class Unit:
    """What a unit word measures, and the factor to the base unit of that quantity."""

    quantity: str
    factor: float


# Unit word (lower-cased) -> quantity and factor to base units.
UNITS: Final[Mapping[str, Unit]] = {
    "percent": Unit("ratio", 0.01),
    "minutes": Unit("time", 60.0),
    "minute": Unit("time", 60.0),
    "seconds": Unit("time", 1.0),
    "second": Unit("time", 1.0),
    "volts": Unit("voltage", 1.0),
    "hz": Unit("frequency", 1.0),
    "c": Unit("temperature", 1.0),
    "amps": Unit("current", 1.0),
    "watts": Unit("power", 1.0),
    "va": Unit("apparent_power", 1.0),
}


@dataclass(frozen=True, slots=True)
class Field:
    """A status key's measure, and the unit its value is in when apcupsd writes none."""

    measure: Measure
    default_unit: str


# Status key -> measure. Rows apply only when the key is present and numeric; the value is
# brought to base units by the unit word it carries (or the row's default unit).
APCUPSD_KEYS: Final[Mapping[str, Field]] = {
    "BCHARGE": Field(Measure.BATTERY_CHARGE, "percent"),
    "TIMELEFT": Field(Measure.BATTERY_RUNTIME, "minutes"),
    "BATTV": Field(Measure.BATTERY_VOLTAGE, "volts"),
    # ITEMP: apcupsd's USB driver reads it from the battery's temperature usage, which NUT's
    # usbhid-ups calls battery.temperature: one UPS gives one series under either daemon.
    "ITEMP": Field(Measure.BATTERY_TEMPERATURE, "c"),
    "LINEV": Field(Measure.INPUT_VOLTAGE, "volts"),
    "LINEFREQ": Field(Measure.INPUT_FREQUENCY, "hz"),
    "OUTPUTV": Field(Measure.OUTPUT_VOLTAGE, "volts"),
    "OUTCURNT": Field(Measure.OUTPUT_CURRENT, "amps"),
    "LOADPCT": Field(Measure.LOAD, "percent"),
    "NOMPOWER": Field(Measure.NOMINAL_POWER, "watts"),
    "NOMAPNT": Field(Measure.NOMINAL_APPARENT_POWER, "va"),
}

# Plausibility, only what this source must drop itself (the shared table of issue 13 owns
# the general rules; these two should move there):
# - apcupsd prints 0 W / 0 VA for a nominal power the UPS does not report: no UPS is rated 0.
ZERO_MEANS_UNKNOWN: Final = frozenset({"NOMPOWER", "NOMAPNT"})
# - DRIVER -> keys whose values that driver gets wrong. apcupsd's test driver stores its
#   runtime in seconds where minutes belong, so TIMELEFT reads 1200 minutes (20 h).
DRIVER_QUIRKS: Final[Mapping[str, frozenset[str]]] = {
    "TEST UPS Driver": frozenset({"TIMELEFT"}),
}

# STATUS word -> flag ("SHUTTING DOWN" is read as one word, SHUTTING_DOWN). Words not listed
# (NOBATT, SLAVE, SLAVEDOWN) stay in the text and in apcupsd_info{status}.
STATUS_WORDS: Final[Mapping[str, Flag]] = {
    "ONLINE": Flag.ONLINE,
    "ONBATT": Flag.ON_BATTERY,
    "LOWBATT": Flag.LOW_BATTERY,
    "REPLACEBATT": Flag.REPLACE_BATTERY,
    "CAL": Flag.CALIBRATING,
    "OVERLOAD": Flag.OVERLOAD,
    "TRIM": Flag.TRIM,
    "BOOST": Flag.BOOST,
    "SHUTTING_DOWN": Flag.SHUTDOWN_IMMINENT,
}
# STATFLAG bit -> flag (apcupsd's include/defines.h). The bits and the words are joined: when
# STATUS says only SHUTTING DOWN or COMMLOST, the bits still tell on-line from on-battery.
STATFLAG_BITS: Final[Mapping[int, Flag]] = {
    0x001: Flag.CALIBRATING,
    0x002: Flag.TRIM,
    0x004: Flag.BOOST,
    0x008: Flag.ONLINE,
    0x010: Flag.ON_BATTERY,
    0x020: Flag.OVERLOAD,
    0x040: Flag.LOW_BATTERY,
    0x080: Flag.REPLACE_BATTERY,
    0x200: Flag.SHUTDOWN_IMMINENT,
}
COMMLOST_WORD: Final = "COMMLOST"
COMMLOST_BIT: Final = 0x100
KNOWN_FLAGS: Final = frozenset(STATUS_WORDS.values()) | frozenset(STATFLAG_BITS.values())
"""Every flag apcupsd can tell: all of them are exposed 1/0 while the UPS is up."""

# Keys whose values are identifiers or words, never numbers (a serial of digits is no count).
TEXT_KEYS: Final = frozenset(
    {
        "APC",
        "DATE",
        "END APC",
        "HOSTNAME",
        "VERSION",
        "UPSNAME",
        "CABLE",
        "DRIVER",
        "UPSMODE",
        "MODEL",
        "APCMODEL",
        "STATUS",
        "SERIALNO",
        "FIRMWARE",
        "MASTER",
        "SENSE",
        "SELFTEST",
        "LASTXFER",
        "ALARMDEL",
    }
)
# Dates kept as Unix seconds in raw (DATE and END APC, the time of the report, stay text).
DATE_KEYS: Final = frozenset(
    {"XONBATT", "XOFFBATT", "LASTSTEST", "BATTDATE", "MANDATE", "STARTTIME", "MASTERUPD"}
)
# Time-zone abbreviations of apcupsd 3.14.6 dates (``Thu Mar 08 01:34:21 PST 2012``) -> hours
# east of UTC. CST is taken as US Central. A date in a zone not listed is kept as text only.
ZONES: Final[Mapping[str, float]] = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "BST": 1,
    "CET": 1,
    "WEST": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "IST": 5.5,
    "JST": 9,
    "AEST": 10,
    "AEDT": 11,
    "NZST": 12,
    "NZDT": 13,
    "AST": -4,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
}
VENDOR: Final = "APC"  # apcupsd speaks APC's protocols only (smart, USB, SNMP, PCNET)
SERIAL_PLACEHOLDERS: Final = frozenset({"", "unknown", "none", "n/a", "na", "-"})
TEST_DRIVER: Final = "TEST UPS Driver"

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_HEX = re.compile(r"^0x[0-9A-Fa-f]{1,16}$")
_ISO_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}))?$"
)
_US_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{2})$")
_OLD_DATE = re.compile(r"^\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([A-Z]{1,5}) (\d{4})$")
_MONTHS: Final = {name: number for number, name in enumerate(calendar.month_abbr) if name}


def numeric_value(key: str, value: str) -> tuple[float, str] | None:
    """Return (number, unit word lower-cased or "") for a numeric value, else None."""
    if key in TEXT_KEYS or key in DATE_KEYS:
        return None
    words = value.split()
    if not words:
        return None
    first = words[0]
    if _NUMBER.match(first):
        number = float(first)
    elif _HEX.match(first):
        number = float(int(first, 16))
    else:
        return None
    if not math.isfinite(number):
        return None
    return number, words[1].lower() if len(words) > 1 else ""


def _timestamp(
    year: int, month: int, day: int, clock: tuple[int, int, int], offset_hours: float
) -> float | None:
    try:
        moment = datetime(year, month, day, *clock)  # noqa: DTZ001 (offset applied below)
    except ValueError:
        return None
    return calendar.timegm(moment.timetuple()) - offset_hours * 3600.0


def parse_date(value: str) -> float | None:
    """A date as apcupsd writes it -> Unix seconds; None for ``N/A`` or anything else.

    ``2026-11-23 08:17:08 +0000`` (3.14.8+), ``Thu Mar 08 01:34:21 PST 2012`` (3.14.6 and
    older), ``2001-09-21`` or ``09/21/01`` (battery and manufacture dates, midnight UTC).
    """
    text = " ".join(value.split())
    if match := _ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.group(1, 2, 3))
        if match.group(4) is None:
            return _timestamp(year, month, day, (0, 0, 0), 0.0)
        clock = (int(match.group(4)), int(match.group(5)), int(match.group(6)))
        sign = -1.0 if match.group(7) == "-" else 1.0
        offset = sign * (int(match.group(8)) + int(match.group(9)) / 60.0)
        return _timestamp(year, month, day, clock, offset)
    if match := _US_DATE.match(text):
        month, day, year = (int(part) for part in match.group(1, 2, 3))
        return _timestamp(2000 + year if year < 70 else 1900 + year, month, day, (0, 0, 0), 0.0)  # noqa: PLR2004
    if (match := _OLD_DATE.match(text)) and match.group(1) in _MONTHS and match.group(6) in ZONES:
        clock = (int(match.group(3)), int(match.group(4)), int(match.group(5)))
        month, day, year = _MONTHS[match.group(1)], int(match.group(2)), int(match.group(7))
        return _timestamp(year, month, day, clock, ZONES[match.group(6)])
    return None


@dataclass(frozen=True, slots=True)
class Split:
    """A status split into numbers (raw, native units), their unit words, and text."""

    raw: dict[str, float]
    units: dict[str, str]
    text: dict[str, str]


def split_values(status: Mapping[str, str]) -> Split:
    """Split a status into numeric values (raw), dates (raw, Unix seconds) and text."""
    split = Split({}, {}, {})
    for key, value in status.items():
        split.text[key] = value
        if key in DATE_KEYS:
            moment = parse_date(value)
            if moment is not None:
                split.raw[key] = moment
            continue
        parsed = numeric_value(key, value)
        if parsed is not None:
            split.raw[key], split.units[key] = parsed
            del split.text[key]
    return split


def status_words(status: Mapping[str, str]) -> list[str]:
    """STATUS as words, ``SHUTTING DOWN`` as one (``SHUTTING_DOWN``), without repeats."""
    words = " ".join(status.get("STATUS", "").split()).replace("SHUTTING DOWN", "SHUTTING_DOWN")
    return list(dict.fromkeys(words.split()))


def statflag(split: Split) -> int:
    """The STATFLAG bits (0 when absent)."""
    value = split.raw.get("STATFLAG")
    return int(value) if value is not None and 0 <= value < 2**32 else 0


def flags_of(status: Mapping[str, str], bits: int) -> frozenset[Flag]:
    """The flags that STATUS words and STATFLAG bits set."""
    flags = {STATUS_WORDS[word] for word in status_words(status) if word in STATUS_WORDS}
    flags.update(flag for bit, flag in STATFLAG_BITS.items() if bits & bit)
    return frozenset(flags)


def measures_of(split: Split, driver: str) -> tuple[dict[Measure, float], list[str]]:
    """Measures by APCUPSD_KEYS in base units, and why any candidate was dropped."""
    candidates: list[tuple[Measure, float]] = []
    problems: list[str] = []
    skipped = DRIVER_QUIRKS.get(driver, frozenset())
    for key, field in APCUPSD_KEYS.items():
        if key not in split.raw:
            continue
        number, word = split.raw[key], split.units.get(key) or field.default_unit
        unit, expected = UNITS.get(word), UNITS[field.default_unit]
        if unit is None or unit.quantity != expected.quantity:
            problems.append(f"{key} in {word!r}, expected {field.default_unit}")
        elif key in skipped:
            problems.append(f"{key} from the {driver!r} is not trusted: {number:g} {word}")
        elif key in ZERO_MEANS_UNKNOWN and number == 0:
            continue  # the UPS did not say (not a problem to log every poll)
        else:
            candidates.append((field.measure, number * unit.factor))
    good, bad = checked_measures(candidates)
    return good, problems + bad


def _serial(value: str) -> str:
    text = value.strip()
    return "" if text.lower() in SERIAL_PLACEHOLDERS or set(text) == {"0"} else text


def identity_of(name: str, status: Mapping[str, str]) -> DeviceIdentity:
    """Who the UPS is; ``labels`` carries what the apcupsd_exporter names label with."""
    model = status.get("MODEL") or status.get("APCMODEL", "")
    return DeviceIdentity(
        name=name,
        source="apcupsd",
        vendor=VENDOR,
        model=model,
        serial=_serial(status.get("SERIALNO", "")),
        firmware=status.get("FIRMWARE", ""),
        labels={
            "ups": status.get("UPSNAME", ""),
            "hostname": status.get("HOSTNAME", ""),
            "model": model,
            "status": " ".join(status.get("STATUS", "").split()),
        },
    )


def apcupsd_reading(
    name: str, status: Mapping[str, str], events: Sequence[str], taken_at: float
) -> tuple[Reading, list[str]]:
    """Build a Reading from a status (and the event log), and say why any measure was dropped.

    Raises StaleError when apcupsd has lost communication with the UPS (COMMLOST).
    """
    split = split_values(status)
    bits = statflag(split)
    if COMMLOST_WORD in status_words(status) or bits & COMMLOST_BIT:
        raise StaleError(f"{name}: apcupsd has lost communication with the UPS (COMMLOST)")
    measures, problems = measures_of(split, status.get("DRIVER", ""))
    if events:
        split.text["LASTEVENT"] = events[-1]
    reading = Reading(
        identity=identity_of(name, status),
        taken_at=taken_at,
        measures=measures,
        flags=flags_of(status, bits),
        known_flags=KNOWN_FLAGS,
        raw=split.raw,
        text=split.text,
    )
    return reading, problems
