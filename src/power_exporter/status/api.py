"""The JSON API, version 1: what the status page shows, for scripts and home automation.

``GET /api/v1/devices`` lists every device; ``GET /api/v1/devices/{name}`` answers one (its
name URL-encoded: ``/`` of a fan-out device may stay as it is). ``?history=1h`` (any
duration up to ``1h``: ``90s``, ``15m``) adds each device's ring of charge, load and power.
The schema is ``docs/api.md`` and ``schema.json`` beside this module; within ``v1`` fields
are only ever added, never renamed, retyped or removed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from power_exporter import __version__
from power_exporter.model import Flag, Measure
from power_exporter.status.history import WINDOW
from power_exporter.status.words import duration

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from power_exporter.model import Labels
    from power_exporter.status.history import History, Series
    from power_exporter.store import DeviceState, Store

API_VERSION: Final = 1
State = Literal["up", "down", "pending"]
Level = Literal["ok", "battery", "low", "down", "pending", "empty"]

# The unit of every measure, as the API documents it (a ratio is 0..1, not percent).
UNITS: Final[Mapping[Measure, str]] = {
    Measure.BATTERY_CHARGE: "ratio",
    Measure.BATTERY_RUNTIME: "seconds",
    Measure.BATTERY_TIME_TO_FULL: "seconds",
    Measure.BATTERY_VOLTAGE: "volts",
    Measure.BATTERY_TEMPERATURE: "celsius",
    Measure.BATTERY_HEALTH: "ratio",
    Measure.INPUT_VOLTAGE: "volts",
    Measure.INPUT_FREQUENCY: "hertz",
    Measure.INPUT_CURRENT: "amperes",
    Measure.INPUT_POWER: "watts",
    Measure.OUTPUT_VOLTAGE: "volts",
    Measure.OUTPUT_FREQUENCY: "hertz",
    Measure.OUTPUT_CURRENT: "amperes",
    Measure.OUTPUT_POWER: "watts",
    Measure.OUTPUT_APPARENT_POWER: "voltamperes",
    Measure.LOAD: "ratio",
    Measure.NOMINAL_POWER: "watts",
    Measure.NOMINAL_APPARENT_POWER: "voltamperes",
    Measure.SOLAR_INPUT_POWER: "watts",
    Measure.CHARGE_COULOMBS: "coulombs",
    Measure.OUTLET_CURRENT: "amperes",
    Measure.OUTLET_POWER: "watts",
    Measure.OUTLET_APPARENT_POWER: "voltamperes",
    Measure.OUTLET_VOLTAGE: "volts",
    Measure.OUTLET_ON: "boolean",
    Measure.INPUT_PHASE_VOLTAGE: "volts",
    Measure.INPUT_PHASE_CURRENT: "amperes",
    Measure.INPUT_PHASE_POWER: "watts",
    Measure.INPUT_PHASE_APPARENT_POWER: "voltamperes",
    Measure.OUTPUT_PHASE_VOLTAGE: "volts",
    Measure.OUTPUT_PHASE_CURRENT: "amperes",
    Measure.OUTPUT_PHASE_POWER: "watts",
    Measure.OUTPUT_PHASE_APPARENT_POWER: "voltamperes",
    **{measure: "joules" for measure in Measure if measure.value.endswith("_energy")},
    Measure.BATTERY_PACK_CHARGE: "ratio",
    Measure.BATTERY_PACK_HEALTH: "ratio",
    Measure.BATTERY_PACK_VOLTAGE: "volts",
    Measure.BATTERY_PACK_TEMPERATURE: "celsius",
    Measure.BATTERY_PACK_CYCLES: "cycles",
    Measure.GRID_POWER: "watts",
    Measure.CIRCUIT_POWER: "watts",
    Measure.DEVICE_ERROR_CODE: "code",
    Measure.DEVICE_WARNING_CODE: "code",
}
assert set(UNITS) == set(Measure), "every measure needs its unit"  # noqa: S101 - checked at import

_DURATION: Final = re.compile(r"^([1-9][0-9]{0,4})([smh]?)$")
_SECONDS: Final[Mapping[str, int]] = {"": 1, "s": 1, "m": 60, "h": 3600}


class QueryError(ValueError):
    """A query parameter the API cannot take (answered 400)."""


def history_window(value: str | None) -> float | None:
    """Seconds of history asked for by ``?history=`` (None: not asked); QueryError if bad."""
    if value is None:
        return None
    match = _DURATION.match(value.strip().lower())
    seconds = int(match[1]) * _SECONDS[match[2]] if match else 0
    if not 0 < seconds <= WINDOW:
        raise QueryError(f"history must be a duration up to 1h (90s, 15m, 1h), not {value!r}")
    return float(seconds)


@dataclass(frozen=True, slots=True)
class DeviceView:
    """One device as the page and the API show it."""

    name: str
    entry: str
    source: str
    state: State
    reason: str | None
    error: str | None
    vendor: str
    model: str
    serial: str
    firmware: str
    interval: float
    last_reading: float | None
    age: float | None
    measures: Mapping[Measure, float]
    labelled: Mapping[Measure, Mapping[Labels, float]]
    flags: frozenset[Flag]
    known_flags: frozenset[Flag]
    history: Series | None

    def has(self, flag: Flag) -> bool:
        """Whether the flag is set."""
        return flag in self.flags

    def json(self) -> dict[str, object]:
        """The device's JSON object (see docs/api.md)."""
        document: dict[str, object] = {
            "name": self.name,
            "entry": self.entry,
            "source": self.source,
            "state": self.state,
            "reason": self.reason,
            "error": self.error,
            "identity": {
                "vendor": self.vendor,
                "model": self.model,
                "serial": self.serial,
                "firmware": self.firmware,
            },
            "interval_seconds": self.interval,
            "last_reading": self.last_reading,
            "age_seconds": None if self.age is None else round(self.age, 3),
            "measures": {measure.value: value for measure, value in self.measures.items()},
            "flags": {flag.value: flag in self.flags for flag in sorted(self.known_flags)},
        }
        if self.labelled:  # per outlet, per phase...: one entry per series
            document["labelled"] = {
                measure.value: [
                    {"labels": dict(labels), "value": value} for labels, value in series.items()
                ]
                for measure, series in self.labelled.items()
            }
        if self.history is not None:
            series = self.history
            document["history"] = {
                "step_seconds": series.step,
                "times": series.times,
                "battery_charge": _float32(series.charge),
                "load": _float32(series.load),
                "power": _float32(series.power),
            }
        return document


def _float32(values: list[float | None]) -> list[float | None]:
    """Stored float32 values as the numbers they stood for: 0.44, not 0.4399999976158142."""
    return [None if value is None else float(f"{value:.7g}") for value in values]


def state_of(state: DeviceState) -> State:
    """up, down (with a reason), or pending: not read yet, nothing failed either."""
    if state.up:
        return "up"
    return "down" if state.reason or state.last_seen is not None else "pending"


def view(state: DeviceState, history: History, now: float, window: float | None) -> DeviceView:
    """The view of one device; its history only when a window is asked for."""
    identity = state.identity
    reading = state.reading if state.up else None
    age = None if state.last_seen is None else max(0.0, now - state.last_seen)
    series = history.series(state.name, window, now) if window is not None else None
    if window is not None and series is None:
        series = history.empty()
    return DeviceView(
        name=state.name,
        entry=state.unit,
        source=state.source,
        state=state_of(state),
        reason=None if state.up else (state.reason or None),
        error=None if state.up else (state.last_error or None),
        vendor=identity.vendor,
        model=identity.model,
        serial=identity.serial,
        firmware=identity.firmware,
        interval=state.interval,
        last_reading=state.last_seen,
        age=age,
        measures=reading.measures if reading is not None else {},
        labelled=reading.labelled if reading is not None else {},
        flags=reading.flags if reading is not None else frozenset(),
        known_flags=reading.known_flags if reading is not None else frozenset(),
        history=series,
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """The one thing that matters now, and the counts behind it.

    ``headline`` is ``what`` and, on battery, `` · `` and ``left`` ("16 min left"), the
    shortest runtime of the devices on battery (``runtime_left``, in seconds).
    """

    level: Level
    what: str
    total: int
    up: int
    down: list[str]
    on_battery: list[str]
    low_battery: list[str]
    runtime_left: float | None = None

    @property
    def left(self) -> str:
        """'16 min left', or '' when no device on battery gives its runtime."""
        return "" if self.runtime_left is None else f"{duration(self.runtime_left)} left"

    @property
    def headline(self) -> str:
        """The one line that says it all."""
        return f"{self.what} · {self.left}" if self.left else self.what

    def json(self) -> dict[str, object]:
        """The summary's JSON object."""
        return {
            "level": self.level,
            "headline": self.headline,
            "devices": self.total,
            "up": self.up,
            "down": self.down,
            "on_battery": self.on_battery,
            "low_battery": self.low_battery,
            "runtime_left_seconds": self.runtime_left,
        }


def _names(names: list[str], one: str, many: str) -> str:
    if len(names) == 1:
        return f"{one}: {names[0]}"
    return f"{len(names)} {many}: {', '.join(names[:3])}{', …' if len(names) > 3 else ''}"  # noqa: PLR2004


def summarize(views: Iterable[DeviceView]) -> Summary:
    """The headline: low battery, then on battery, then down, then all well."""
    devices = list(views)
    up = [device for device in devices if device.state == "up"]
    down = [device.name for device in devices if device.state == "down"]
    battery = [device.name for device in up if device.has(Flag.ON_BATTERY)]
    low = [device.name for device in up if device.has(Flag.LOW_BATTERY)]
    runtimes = [
        device.measures[Measure.BATTERY_RUNTIME]
        for device in up
        if device.has(Flag.ON_BATTERY) and Measure.BATTERY_RUNTIME in device.measures
    ]
    level: Level
    if low:
        level, what = "low", _names(low, "Low battery", "on low battery")
    elif battery:
        level, what = "battery", _names(battery, "On battery", "on battery")
    elif down:
        level, what = "down", _names(down, "Down", "devices down")
    elif not devices:
        level, what = "empty", "No devices configured"
    elif len(up) < len(devices):
        level, what = "pending", "Waiting for the first readings"
    elif any(Flag.ON_BATTERY in device.known_flags for device in up):
        level, what = "ok", "All on mains"
    else:
        level, what = "ok", "All devices up"
    left = min(runtimes) if runtimes else None
    return Summary(level, what, len(devices), len(up), down, battery, low, left)


class DevicesApi:
    """Builds the API's documents from the store and the history."""

    def __init__(self, store: Store, history: History) -> None:
        self.store = store
        self.history = history

    def views(self, window: float | None = None, now: float | None = None) -> list[DeviceView]:
        """Every device, in the order they were registered."""
        now = time.time() if now is None else now
        return [view(state, self.history, now, window) for state in self.store]

    def _envelope(self, now: float) -> dict[str, object]:
        return {"api_version": API_VERSION, "exporter_version": __version__, "generated_at": now}

    def devices(self, window: float | None = None, now: float | None = None) -> dict[str, object]:
        """The document of ``GET /api/v1/devices`` (``now``: the time it is taken at)."""
        now = time.time() if now is None else now
        views = self.views(window, now)
        return {
            **self._envelope(now),
            "summary": summarize(views).json(),
            "units": {measure.value: unit for measure, unit in UNITS.items()},
            "devices": [device.json() for device in views],
        }

    def device(self, name: str, window: float | None = None) -> dict[str, object] | None:
        """The document of ``GET /api/v1/devices/{name}``, or None for an unknown name."""
        state = self.store.get(name)
        if state is None:
            return None
        now = time.time()
        return {**self._envelope(now), "device": view(state, self.history, now, window).json()}
