"""The renderer: golden bytes, the official parsers as oracles, promtool, caching."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from prometheus_client.openmetrics import parser as om_parser
from prometheus_client.parser import text_string_to_metric_families as parse_text

from power_exporter.errors import ConnectError
from power_exporter.exposition.text import (
    SIGNIFICANT_DIGITS,
    Renderer,
    escape_label,
    format_value,
)
from power_exporter.model import DeviceIdentity, Flag, Measure, Reading
from power_exporter.sources.base import NoRawNaming, RawFamily, RawSample
from power_exporter.sources.nut.reading import nut_reading
from power_exporter.store import Store
from tests.peers.promtool import check_metrics

if TYPE_CHECKING:
    from collections.abc import Iterable

    from prometheus_client.metrics_core import Metric


def parse_om(text: str) -> list[Metric]:
    """prometheus_client's strict OpenMetrics parser (untyped upstream)."""
    return list(om_parser.text_string_to_metric_families(text))  # type: ignore[no-untyped-call]


COUNTER = RawFamily("demo_energy_joules_total", "counter", "Energy.")
GAUGE = RawFamily("demo_cell_voltage_volts", "gauge", "Cell voltage.")
BAD = RawFamily("demo bad name", "gauge", "Never rendered.")


class DemoNaming:
    def samples(self, reading: Reading) -> Iterable[RawSample]:
        yield RawSample(COUNTER, reading.raw["energy"])
        yield RawSample(GAUGE, 3.31, (("index_0", "0"),))
        yield RawSample(GAUGE, 3.29, (("index_0", "1"),))
        yield RawSample(BAD, 1.0)

    def down_samples(self, identity: DeviceIdentity) -> Iterable[RawSample]:
        del identity
        yield RawSample(RawFamily("demo_online", "gauge", "Online."), 0.0)


def naming_for(kind: str) -> DemoNaming | NoRawNaming:
    return DemoNaming() if kind == "demo" else NoRawNaming()


def demo_reading(name: str = "rack-ups", charge: float = 0.5) -> Reading:
    return Reading(
        identity=DeviceIdentity(
            name=name, source="demo", vendor='A "quoted" vendor', model="M\\1", serial="S1"
        ),
        taken_at=1700000000.0,
        measures={Measure.BATTERY_CHARGE: charge, Measure.BATTERY_RUNTIME: 1200.0},
        flags=frozenset({Flag.ONLINE}),
        known_flags=frozenset({Flag.ONLINE, Flag.ON_BATTERY}),
        raw={"energy": 12.5},
    )


def store_with(*readings: Reading) -> Store:
    store = Store()
    for reading in readings:
        store.update(reading, unit=reading.device, interval=15)
    return store


GOLDEN = """\
# HELP power_device_up 1 when the last read of the device succeeded and is fresh.
# TYPE power_device_up gauge
power_device_up{device="rack-ups"} 1
# HELP power_device_info Identity of the device: source, vendor, model, serial, firmware.
# TYPE power_device_info gauge
power_device_info{device="rack-ups",source="demo",vendor="A \\"quoted\\" vendor",\
model="M\\\\1",serial="S1",firmware=""} 1
# HELP power_device_last_seen_timestamp_seconds Unix time of the device's last good reading.
# TYPE power_device_last_seen_timestamp_seconds gauge
power_device_last_seen_timestamp_seconds{device="rack-ups"} 1700000000
# HELP power_battery_charge_ratio Battery charge, 0 to 1. As of the device's last reading.
# TYPE power_battery_charge_ratio gauge
power_battery_charge_ratio{device="rack-ups"} 0.5
# HELP power_battery_runtime_seconds Estimated runtime on battery. As of the device's last reading.
# TYPE power_battery_runtime_seconds gauge
power_battery_runtime_seconds{device="rack-ups"} 1200
# HELP power_status 1 when the status flag is set, 0 when it is not; every flag the source can \
know. As of the device's last reading.
# TYPE power_status gauge
power_status{device="rack-ups",flag="online"} 1
power_status{device="rack-ups",flag="on_battery"} 0
# HELP power_exporter_messages_total Readings and faults received from the device.
# TYPE power_exporter_messages_total counter
power_exporter_messages_total{device="rack-ups"} 1
# HELP demo_energy_joules_total Energy.
# TYPE demo_energy_joules_total counter
demo_energy_joules_total{device="rack-ups"} 12.5
# HELP demo_cell_voltage_volts Cell voltage.
# TYPE demo_cell_voltage_volts gauge
demo_cell_voltage_volts{device="rack-ups",index_0="0"} 3.31
demo_cell_voltage_volts{device="rack-ups",index_0="1"} 3.29
"""


class TestRenderer:
    def test_golden_bytes(self) -> None:
        """One device renders exactly so (build info aside, which varies by Python)."""
        page = Renderer(store_with(demo_reading()), naming_for).render().decode()
        body, build = page.split("# HELP power_exporter_build_info", 1)
        assert body == GOLDEN
        assert 'power_exporter_build_info{version="' in build
        assert "process_resident_memory_bytes " in build

    def test_families_stay_together_across_devices(self) -> None:
        """Samples of one family from many devices stand under one header."""
        store = store_with(*(demo_reading(f"ups-{i}") for i in range(5)))
        page = Renderer(store, naming_for).render().decode()
        assert page.count("# TYPE power_battery_charge_ratio gauge") == 1
        families = {f.name: f for f in parse_text(page)}
        assert len(families["power_battery_charge_ratio"].samples) == 5
        check_metrics(page.encode())

    def test_openmetrics_parses_with_the_official_parser(self) -> None:
        """The OpenMetrics page is accepted by prometheus_client's strict OM parser."""
        page = Renderer(store_with(demo_reading()), naming_for).render(openmetrics=True).decode()
        assert page.endswith("# EOF\n")
        families = {f.name: f for f in parse_om(page)}
        assert families["power_device"].type == "info"
        assert families["demo_energy_joules"].type == "counter"
        assert families["demo_energy_joules"].samples[0].value == 12.5

    def test_a_down_device_keeps_up_info_and_down_samples_only(self) -> None:
        """Down: measures, status and raw go; up 0, info and the kind's down samples stay."""
        store = store_with(demo_reading())
        renderer = Renderer(store, naming_for)
        assert b"power_battery_charge_ratio" in renderer.render()
        store.mark_down("rack-ups", ConnectError.reason, "refused")
        page = renderer.render().decode()
        families = {f.name: f for f in parse_text(page)}
        assert families["power_device_up"].samples[0].value == 0
        assert "power_device_info" in families
        assert families["demo_online"].samples[0].value == 0
        assert "power_battery_charge_ratio" not in families
        assert "power_status" not in families
        errors = families["power_exporter_read_errors"].samples
        assert [(s.labels["reason"], s.value) for s in errors] == [("connect", 1.0)]
        check_metrics(page.encode())

    def test_pages_are_cached_until_the_store_changes(self) -> None:
        """An unchanged store yields the very same device bytes; a change re-renders them."""
        store = store_with(demo_reading())
        renderer = Renderer(store, naming_for)
        first = renderer._devices_page(openmetrics=False)
        assert renderer._devices_page(openmetrics=False) is first
        store.update(demo_reading(charge=0.25), unit="rack-ups", interval=15)
        second = renderer._devices_page(openmetrics=False)
        assert second is not first
        assert b'power_battery_charge_ratio{device="rack-ups"} 0.25' in b"".join(second)
        assert renderer.render().startswith(b"".join(second))

    def test_removed_devices_leave_no_samples(self) -> None:
        """A device removed from the store disappears from the page."""
        store = store_with(demo_reading("a"), demo_reading("b"))
        renderer = Renderer(store, naming_for)
        assert b'device="b"' in renderer.render()
        store.remove("b")
        assert b'device="b"' not in renderer.render()

    def test_probe_renders_one_device(self) -> None:
        """render_device holds that device alone, valid on its own."""
        store = store_with(demo_reading("a"), demo_reading("b"))
        page = Renderer(store, naming_for).render_device("b")
        assert b'device="a"' not in page
        assert b'power_battery_charge_ratio{device="b"} 0.5' in page
        check_metrics(page)


class TestFormatting:
    @given(st.floats(allow_nan=False))
    @example(1234567890123456.25)  # %g writes an exponent there, repr does not
    def test_long_values_as_the_rounded_values_repr(self, value: float) -> None:
        """The shortcut for long values writes what repr() of the 15-digit value writes."""
        text = repr(value)
        if len(text) > SIGNIFICANT_DIGITS + 1 and not value.is_integer():
            text = repr(float(f"{value:.{SIGNIFICANT_DIGITS}g}"))
        expected = {"inf": "+Inf", "-inf": "-Inf", "-0.0": "0"}.get(text, text)
        expected = expected.removesuffix(".0")
        assert format_value(value) == expected

    def test_values(self) -> None:
        """Integers print bare, floats round-trip, specials as Prometheus spells them."""
        assert format_value(3.0) == "3"
        assert format_value(0.1) == "0.1"
        assert format_value(float("inf")) == "+Inf"
        assert format_value(float("-inf")) == "-Inf"
        assert format_value(float("nan")) == "NaN"
        assert float(format_value(1e20)) == 1e20

    def test_scaled_values_print_as_the_device_meant_them(self) -> None:
        """5.2 % of load is 0.052, not the 0.052000000000000005 that 5.2 * 0.01 leaves."""
        assert 5.2 * 0.01 != 0.052  # the binary noise this guards against
        assert format_value(5.2 * 0.01) == "0.052"
        assert format_value(0.1 + 0.2) == "0.3"
        assert format_value(2.9999999999999996) == "3"
        assert format_value(-(5.2 * 0.01)) == "-0.052"

    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (1e-9, "1e-09"),
            (123456789.123, "123456789.123"),
            (2.0**53 + 2, "9007199254740994"),  # a large counter keeps every digit
            (12345678901234567.0, "1.2345678901234568e+16"),
            (0.123456789012345, "0.123456789012345"),  # 15 significant digits: all kept
            (4.94e-320, "4.94e-320"),
        ],
    )
    def test_values_that_need_their_digits_keep_them(self, value: float, text: str) -> None:
        """Rounding touches only the digits past the 15th of non-integral values."""
        assert format_value(value) == text

    def test_golden_line_for_a_nut_load_of_5_2_percent(self) -> None:
        """From NUT's ``ups.load: 5.2`` through the table to the exposition line."""
        reading, dropped = nut_reading(
            "rack-ups", "nut", {"ups.load": "5.2", "ups.status": "OL"}, 1700000000.0
        )
        assert dropped == []
        page = Renderer(store_with(reading), naming_for).render().decode()
        assert 'power_load_ratio{device="rack-ups"} 0.052\n' in page
        families = {family.name: family for family in parse_text(page)}
        assert families["power_load_ratio"].samples[0].value == 0.052

    def test_label_escaping(self) -> None:
        """Backslash, quote and newline are escaped."""
        assert escape_label('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
