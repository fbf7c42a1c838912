"""The metric contract: every normalized family, as a table.

Names and help texts are checked once, when this module loads; rendering never validates
per sample. Measure values come from a device's last reading: taken in the background at
the device's interval for ``/metrics`` (which never waits on a device), by the probe for
``/probe``; the help says so in words true of both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from power_exporter.model import Flag, Measure

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.sources.base import MetricKind

METRIC_NAME: Final = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Suffixes Prometheus gives meaning to; a family of another kind must not end in them.
RESERVED_SUFFIXES: Final[Mapping[str, tuple[MetricKind, ...]]] = {
    "_total": ("counter",),
    "_count": (),
    "_sum": (),
    "_bucket": (),
    "_created": (),
    "_info": ("info",),
}


@dataclass(frozen=True, slots=True)
class Spec:
    """One family of the contract."""

    name: str
    kind: MetricKind
    help: str


def problem_with_family(name: str, kind: MetricKind) -> str | None:
    """Say why ``name`` cannot be a family of ``kind``, or return None."""
    if not METRIC_NAME.match(name):
        return f"invalid metric name {name!r}"
    for suffix, kinds in RESERVED_SUFFIXES.items():
        if name.endswith(suffix) and kind not in kinds:
            return f"a {kind} must not end in {suffix}: {name!r}"
    if kind == "counter" and not name.endswith("_total"):
        return f"a counter must end in _total: {name!r}"
    if kind == "info" and not name.endswith("_info"):
        return f"an info family must end in _info: {name!r}"
    return None


def problem_with_label(name: str) -> str | None:
    """Say why ``name`` cannot be a label name, or return None."""
    if not LABEL_NAME.match(name) or name.startswith("__"):
        return f"invalid label name {name!r}"
    return None


# True of /metrics (the last background reading) and of /probe (the probe's own reading).
_CACHED: Final = " As of the device's last reading."
_DERIVED_POWER: Final = (
    " For a NUT UPS that reports ups.load and ups.realpower.nominal but no real power,"
    " derived as load x nominal real power."
)

_ENERGY: Final = (
    " From the device's own energy total, carried on over the device's resets (a daily total,"
    " a reboot): it never goes back while the exporter runs."
)
_PHASE: Final = "Input of one phase (L1, L2, L3) or between two (L1-L2, L1-N): "
# Measure -> (metric name, help). Units follow the Prometheus naming guide.
MEASURES: Final[Mapping[Measure, Spec]] = {
    spec_measure: Spec(name, "counter" if name.endswith("_total") else "gauge", text + _CACHED)
    for spec_measure, name, text in (
        (Measure.BATTERY_CHARGE, "power_battery_charge_ratio", "Battery charge, 0 to 1."),
        (Measure.BATTERY_RUNTIME, "power_battery_runtime_seconds", "Estimated runtime on battery."),
        (
            Measure.BATTERY_TIME_TO_FULL,
            "power_battery_time_to_full_seconds",
            "Estimated time until the battery is full, while it charges.",
        ),
        (Measure.BATTERY_VOLTAGE, "power_battery_voltage_volts", "Battery voltage."),
        (Measure.BATTERY_TEMPERATURE, "power_battery_temperature_celsius", "Battery temperature."),
        (Measure.BATTERY_HEALTH, "power_battery_health_ratio", "Battery state of health, 0 to 1."),
        (Measure.INPUT_VOLTAGE, "power_input_voltage_volts", "Input voltage."),
        (Measure.INPUT_FREQUENCY, "power_input_frequency_hertz", "Input frequency."),
        (Measure.INPUT_CURRENT, "power_input_current_amperes", "Input current."),
        (Measure.INPUT_POWER, "power_input_power_watts", "Input real power."),
        (Measure.OUTPUT_VOLTAGE, "power_output_voltage_volts", "Output voltage."),
        (Measure.OUTPUT_FREQUENCY, "power_output_frequency_hertz", "Output frequency."),
        (Measure.OUTPUT_CURRENT, "power_output_current_amperes", "Output current."),
        (Measure.OUTPUT_POWER, "power_output_power_watts", "Output real power." + _DERIVED_POWER),
        (
            Measure.OUTPUT_APPARENT_POWER,
            "power_output_apparent_power_voltamperes",
            "Output apparent power.",
        ),
        (Measure.LOAD, "power_load_ratio", "Load as a ratio of the nominal capacity."),
        (Measure.NOMINAL_POWER, "power_nominal_power_watts", "Rated real power."),
        (
            Measure.NOMINAL_APPARENT_POWER,
            "power_nominal_apparent_power_voltamperes",
            "Rated apparent power.",
        ),
        (Measure.SOLAR_INPUT_POWER, "power_solar_input_power_watts", "Solar input power."),
        (
            Measure.CHARGE_COULOMBS,
            "power_charge_coulombs_total",
            "Accumulated charge in coulombs (ampere-seconds).",
        ),
        (Measure.OUTLET_CURRENT, "power_outlet_current_amperes", "Current of one outlet."),
        (Measure.OUTLET_POWER, "power_outlet_power_watts", "Real power of one outlet."),
        (
            Measure.OUTLET_APPARENT_POWER,
            "power_outlet_apparent_power_voltamperes",
            "Apparent power of one outlet.",
        ),
        (Measure.OUTLET_VOLTAGE, "power_outlet_voltage_volts", "Voltage of one outlet."),
        (Measure.OUTLET_ON, "power_outlet_on", "1 when the outlet is switched on, 0 when off."),
        (Measure.INPUT_PHASE_VOLTAGE, "power_input_phase_voltage_volts", _PHASE + "voltage."),
        (
            Measure.INPUT_PHASE_CURRENT,
            "power_input_phase_current_amperes",
            _PHASE + "current (N: neutral).",
        ),
        (Measure.INPUT_PHASE_POWER, "power_input_phase_power_watts", _PHASE + "real power."),
        (
            Measure.INPUT_PHASE_APPARENT_POWER,
            "power_input_phase_apparent_power_voltamperes",
            _PHASE + "apparent power.",
        ),
        (
            Measure.OUTPUT_PHASE_VOLTAGE,
            "power_output_phase_voltage_volts",
            _PHASE.replace("Input", "Output") + "voltage.",
        ),
        (
            Measure.OUTPUT_PHASE_CURRENT,
            "power_output_phase_current_amperes",
            _PHASE.replace("Input", "Output") + "current (N: neutral).",
        ),
        (
            Measure.OUTPUT_PHASE_POWER,
            "power_output_phase_power_watts",
            _PHASE.replace("Input", "Output") + "real power.",
        ),
        (
            Measure.OUTPUT_PHASE_APPARENT_POWER,
            "power_output_phase_apparent_power_voltamperes",
            _PHASE.replace("Input", "Output") + "apparent power.",
        ),
        (Measure.INPUT_ENERGY, "power_input_energy_joules_total", "Energy taken in." + _ENERGY),
        (Measure.OUTPUT_ENERGY, "power_output_energy_joules_total", "Energy given out." + _ENERGY),
        (Measure.SOLAR_ENERGY, "power_solar_energy_joules_total", "Solar energy in." + _ENERGY),
        (
            Measure.GRID_IMPORT_ENERGY,
            "power_grid_import_energy_joules_total",
            "Energy drawn from the grid." + _ENERGY,
        ),
        (
            Measure.GRID_EXPORT_ENERGY,
            "power_grid_export_energy_joules_total",
            "Energy fed into the grid." + _ENERGY,
        ),
        (
            Measure.BATTERY_CHARGE_ENERGY,
            "power_battery_charge_energy_joules_total",
            "Energy charged into the battery." + _ENERGY,
        ),
        (
            Measure.BATTERY_DISCHARGE_ENERGY,
            "power_battery_discharge_energy_joules_total",
            "Energy discharged from the battery." + _ENERGY,
        ),
        (
            Measure.BATTERY_PACK_CHARGE,
            "power_battery_pack_charge_ratio",
            "Charge of one battery pack (battery 0: the main pack), 0 to 1.",
        ),
        (
            Measure.BATTERY_PACK_HEALTH,
            "power_battery_pack_health_ratio",
            "State of health of one battery pack, 0 to 1.",
        ),
        (
            Measure.BATTERY_PACK_VOLTAGE,
            "power_battery_pack_voltage_volts",
            "Voltage of one battery pack.",
        ),
        (
            Measure.BATTERY_PACK_TEMPERATURE,
            "power_battery_pack_temperature_celsius",
            "Temperature of one battery pack.",
        ),
        (
            Measure.BATTERY_PACK_CYCLES,
            "power_battery_pack_cycles",
            "Full charge cycles one battery pack has counted.",
        ),
        (
            Measure.GRID_POWER,
            "power_grid_power_watts",
            "Power exchanged with the grid: positive drawn from it, negative fed into it.",
        ),
        (Measure.CIRCUIT_POWER, "power_circuit_power_watts", "Power of one circuit of a panel."),
        (
            Measure.DEVICE_ERROR_CODE,
            "power_device_error_code",
            (
                "Error code one component of the device reports, as the device gives it:"
                " 0 no error (the vendor's manual says what another value means)."
            ),
        ),
        (
            Measure.DEVICE_WARNING_CODE,
            "power_device_warning_code",
            (
                "Warning code one component of the device reports, as the device gives it:"
                " 0 no warning."
            ),
        ),
    )
}
# The label each labelled measure's series carry (besides device), for the docs and checks.
MEASURE_LABELS: Final[Mapping[Measure, str]] = {
    **dict.fromkeys(
        (
            Measure.OUTLET_CURRENT,
            Measure.OUTLET_POWER,
            Measure.OUTLET_APPARENT_POWER,
            Measure.OUTLET_VOLTAGE,
            Measure.OUTLET_ON,
        ),
        "outlet",
    ),
    **dict.fromkeys(
        (
            Measure.INPUT_PHASE_VOLTAGE,
            Measure.INPUT_PHASE_CURRENT,
            Measure.INPUT_PHASE_POWER,
            Measure.INPUT_PHASE_APPARENT_POWER,
            Measure.OUTPUT_PHASE_VOLTAGE,
            Measure.OUTPUT_PHASE_CURRENT,
            Measure.OUTPUT_PHASE_POWER,
            Measure.OUTPUT_PHASE_APPARENT_POWER,
        ),
        "phase",
    ),
    **dict.fromkeys(
        (
            Measure.BATTERY_PACK_CHARGE,
            Measure.BATTERY_PACK_HEALTH,
            Measure.BATTERY_PACK_VOLTAGE,
            Measure.BATTERY_PACK_TEMPERATURE,
            Measure.BATTERY_PACK_CYCLES,
        ),
        "battery",
    ),
    Measure.CIRCUIT_POWER: "circuit",
    # a battery pack's codes carry ``battery`` too
    Measure.DEVICE_ERROR_CODE: "component",
    Measure.DEVICE_WARNING_CODE: "component",
}

STATUS: Final = Spec(
    "power_status",
    "gauge",
    "1 when the status flag is set, 0 when it is not; every flag the source can know." + _CACHED,
)
UP: Final = Spec(
    "power_device_up", "gauge", "1 when the last read of the device succeeded and is fresh."
)
INFO: Final = Spec(
    "power_device_info", "info", "Identity of the device: source, vendor, model, serial, firmware."
)
LAST_SEEN: Final = Spec(
    "power_device_last_seen_timestamp_seconds",
    "gauge",
    "Unix time of the device's last good reading.",
)
READ_DURATION: Final = Spec(
    "power_exporter_read_duration_seconds", "gauge", "Duration of the device's last read."
)
READ_ERRORS: Final = Spec(
    "power_exporter_read_errors_total", "counter", "Failed reads and rejected data, by reason."
)
IMPLAUSIBLE: Final = Spec(
    "power_exporter_implausible_values_total",
    "counter",
    "Values the device gave that the plausibility policy kept out of power_*, by measure and"
    " reason (sentinel, out_of_range, not_finite); the raw series keep them.",
)
MESSAGES: Final = Spec(
    "power_exporter_messages_total", "counter", "Readings and faults received from the device."
)
BUILD_INFO: Final = Spec(
    "power_exporter_build_info", "info", "Version of power-exporter and of Python."
)
TASKS: Final = Spec(
    "power_exporter_tasks",
    "gauge",
    "asyncio tasks alive in the exporter's event loop (flat while devices come and go).",
)
DEVICES_DROPPED: Final = Spec(
    "power_exporter_devices_dropped_total",
    "counter",
    "Events of devices beyond their entry's max_devices, dropped: those devices are not created.",
)
PROBES: Final = Spec(
    "power_exporter_probes_total",
    "counter",
    "Probes answered, by result: fresh (this probe read the device), shared (it joined a read"
    " in flight), cached (within probe_min_interval of the last probe read: that reading),"
    " stored (fresh=0 or a streaming device: the background state), timeout (the scrape"
    " budget ran out first).",
)
PROBE_READS: Final = Spec(
    "power_exporter_probe_reads_total",
    "counter",
    "Reads of devices made for /probe (at most one per device per probe_min_interval).",
)
# A summary without quantiles (_sum and _count), rendered by the renderer's probe section.
PROBE_DURATION: Final = Spec(
    "power_exporter_probe_duration_seconds",
    "gauge",
    "Time from a /probe request to its answer.",
)
# The exporter's own, rendered per scrape after the devices (the HTTP server, reloads).
RELOAD_OK: Final = Spec(
    "power_exporter_config_last_reload_successful",
    "gauge",
    "Whether the last configuration reload succeeded (1 at start).",
)
RELOAD_TIME: Final = Spec(
    "power_exporter_config_last_reload_success_timestamp_seconds",
    "gauge",
    "Unix time of the last successful configuration load (start or reload).",
)
HTTP_OPEN: Final = Spec("power_exporter_http_connections", "gauge", "HTTP connections open now.")
HTTP_REFUSED: Final = Spec(
    "power_exporter_http_connections_refused_total",
    "counter",
    "HTTP connections closed at once because --web.max-connections were open.",
)
HTTP_REJECTED: Final = Spec(
    "power_exporter_http_requests_rejected_total",
    "counter",
    "HTTP connections closed before any handler, by reason: timeout (request too slow), "
    "header_size, malformed, evicted (idle or slow, to make room at the connection cap).",
)
SHARD_INFO: Final = Spec(
    "power_exporter_shard_info",
    "info",
    "This replica's shard out of total_shards (0 of 1 when not sharded).",
)
SHARD_DEVICES: Final = Spec(
    "power_exporter_shard_devices",
    "gauge",
    "Devices this replica owns and serves (its part of the fleet).",
)
SERVER: Final[tuple[Spec, ...]] = (
    RELOAD_OK,
    RELOAD_TIME,
    HTTP_OPEN,
    HTTP_REFUSED,
    HTTP_REJECTED,
    SHARD_INFO,
    SHARD_DEVICES,
)

# The order families appear in, before any raw family.
ORDERED: Final[tuple[Spec, ...]] = (
    UP,
    INFO,
    LAST_SEEN,
    *MEASURES.values(),
    STATUS,
    READ_DURATION,
    READ_ERRORS,
    IMPLAUSIBLE,
    MESSAGES,
)
FLAG_ORDER: Final[tuple[Flag, ...]] = tuple(Flag)


def _check() -> None:
    names: set[str] = set()
    for spec in (
        *ORDERED,
        BUILD_INFO,
        TASKS,
        DEVICES_DROPPED,
        PROBES,
        PROBE_READS,
        PROBE_DURATION,
        *SERVER,
    ):
        problem = problem_with_family(spec.name, spec.kind)
        if problem is not None:
            raise ValueError(problem)
        if spec.name in names:
            raise ValueError(f"duplicate family {spec.name}")
        names.add(spec.name)
    missing = set(Measure) - set(MEASURES)
    if missing:
        raise ValueError(f"measures without a metric: {sorted(missing)}")


_check()
