"""The plausibility policy: one table, applied to every Reading, counted by reason, rendered."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from power_exporter.exposition.text import Renderer
from power_exporter.model import (
    PLAUSIBLE,
    SENTINEL_NEAR,
    Bounds,
    DeviceIdentity,
    Measure,
    Reading,
    checked_measures,
    implausibility,
)
from power_exporter.sources.nut.reading import nut_reading
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.peers.promtool import check_metrics

M = Measure


def reading(source: str = "nut", **measures: float) -> Reading:
    """A Reading of device ``d`` with these measures (by Measure value)."""
    return Reading(
        DeviceIdentity("d", source),
        0.0,
        measures={Measure(name): value for name, value in measures.items()},
    )


class TestTable:
    """The rows the issue names, one by one."""

    def test_every_measure_has_a_row(self) -> None:
        """No measure escapes the policy."""
        assert set(PLAUSIBLE) == set(Measure)

    @pytest.mark.parametrize(
        ("measure", "value", "reason"),
        [
            (M.BATTERY_RUNTIME, 65535.0, "sentinel"),
            (M.BATTERY_RUNTIME, 4294967295.0, "sentinel"),
            (M.BATTERY_VOLTAGE, -1.0, "sentinel"),
            (M.BATTERY_CHARGE, 2.55, "sentinel"),  # 255 %
            (M.LOAD, 255 * 0.01, "sentinel"),
            (M.LOAD, 2.5, "out_of_range"),
            (M.INPUT_FREQUENCY, 5990.0, "out_of_range"),
            (M.INPUT_FREQUENCY, 39.9, "out_of_range"),
            (M.OUTPUT_FREQUENCY, 70.1, "out_of_range"),
            (M.BATTERY_RUNTIME, 133200.0, "out_of_range"),
            (M.BATTERY_RUNTIME, -60.0, "out_of_range"),
            (M.BATTERY_CHARGE, -1.432, "out_of_range"),
            (M.BATTERY_TEMPERATURE, -272.0, "out_of_range"),
            (M.OUTPUT_VOLTAGE, 9812.0, "out_of_range"),
            (M.INPUT_CURRENT, 835406.4, "out_of_range"),
            (M.INPUT_POWER, math.nan, "not_finite"),
        ],
    )
    def test_dropped(self, measure: Measure, value: float, reason: str) -> None:
        """Sentinels and impossible values get their reason."""
        assert implausibility(measure, value) == reason

    @pytest.mark.parametrize(
        ("measure", "value"),
        [
            (M.INPUT_FREQUENCY, 0.0),  # no mains at all
            (M.INPUT_FREQUENCY, 49.9),
            (M.OUTPUT_FREQUENCY, 60.0),
            (M.LOAD, 2.49),
            (M.LOAD, 0.0),
            (M.BATTERY_RUNTIME, 86400.0),
            (M.BATTERY_TEMPERATURE, -1.0),  # -1 degree is a temperature, not a sentinel
            (M.BATTERY_CHARGE, 1.0),
            (M.NOMINAL_APPARENT_POWER, 450000.0),
        ],
    )
    def test_kept(self, measure: Measure, value: float) -> None:
        """Real values, at the edges too, pass."""
        assert implausibility(measure, value) is None

    def test_stations_run_for_days(self) -> None:
        """A power station's 30 h runtime is real; a UPS's is not."""
        assert implausibility(M.BATTERY_RUNTIME, 30 * 3600.0, "ecoflow") is None
        assert implausibility(M.BATTERY_RUNTIME, 30 * 3600.0, "nut") == "out_of_range"
        assert implausibility(M.BATTERY_RUNTIME, 65535.0, "ecoflow") == "sentinel"


def as_the_policy_says(bounds: Bounds, value: float) -> str | None:
    """The policy in its plain words (round() on every value), for the quick path to match."""
    if not math.isfinite(value):
        return "not_finite"
    if round(value, 9) in bounds.sentinels:
        return "sentinel"
    if bounds.low <= value <= bounds.high or (bounds.or_zero and value == 0.0):
        return None
    return "out_of_range"


def near_sentinels() -> list[float]:
    """Every sentinel, a hair either side of it and as a percentage scaled to a ratio."""
    values: list[float] = []
    for sentinel in {s for bounds in PLAUSIBLE.values() for s in bounds.sentinels}:
        values.extend((sentinel, sentinel * 100 * 0.01, sentinel / 0.01 * 0.01))
        for hair in (1e-12, 4e-10, 6e-10, 1e-9, 1e-6, SENTINEL_NEAR / 2, SENTINEL_NEAR * 2):
            values.extend((sentinel - hair, sentinel + hair))
        below = above = sentinel
        for _ in range(3):
            below, above = math.nextafter(below, -math.inf), math.nextafter(above, math.inf)
            values.extend((below, above))
    return values


class TestQuickSentinelTest:
    """implausibility() skips round() for values far from every sentinel, and says the same."""

    @pytest.mark.parametrize("value", near_sentinels())
    def test_near_sentinels(self, value: float) -> None:
        """At and around every sentinel, every measure gets the plain policy's answer."""
        for measure, bounds in PLAUSIBLE.items():
            assert implausibility(measure, value) == as_the_policy_says(bounds, value)

    @settings(max_examples=300, deadline=None)
    @given(st.floats() | st.integers(-(2**40), 2**40).map(lambda n: n / 100))
    def test_any_value(self, value: float) -> None:
        """Any float, and any number with two decimals (as NUT's percentages scale)."""
        for measure, bounds in PLAUSIBLE.items():
            assert implausibility(measure, value) == as_the_policy_says(bounds, value)


class TestReading:
    """Every source's Reading passes the table once, when it is built."""

    def test_reading_drops_and_records(self) -> None:
        """The implausible measures leave ``measures`` for ``dropped``, with their reason."""
        built = reading(load=2.55, battery_charge=0.5, input_frequency=5990.0)
        assert dict(built.measures) == {M.BATTERY_CHARGE: 0.5}
        assert dict(built.dropped) == {M.LOAD: "sentinel", M.INPUT_FREQUENCY: "out_of_range"}

    def test_checked_measures_says_why(self) -> None:
        """checked_measures hands every candidate on and explains the ones to be dropped."""
        candidates, problems = checked_measures([(M.LOAD, 2.55), (M.BATTERY_CHARGE, 0.5)])
        assert candidates == {M.LOAD: 2.55, M.BATTERY_CHARGE: 0.5}
        assert problems == ["load sentinel: 2.55"]

    def test_nut_falls_back_to_a_plausible_variable(self) -> None:
        """A sentinel in output.realpower gives way to ups.realpower; no power from a bad load."""
        variables = {
            "output.realpower": "65535",
            "ups.realpower": "420",
            "ups.load": "255",
            "ups.realpower.nominal": "1000",
        }
        built, problems = nut_reading("u", "nut", variables, 0.0)
        assert built.measures[M.OUTPUT_POWER] == 420.0
        assert dict(built.dropped) == {M.LOAD: "sentinel"}
        assert problems == ["load sentinel: 2.55"]
        only_load, _ = nut_reading(
            "u", "nut", {"ups.load": "255", "ups.realpower.nominal": "1000"}, 0.0
        )
        assert M.OUTPUT_POWER not in only_load.measures  # not derived from a sentinel
        assert only_load.raw["ups.load"] == 255.0


class TestCounted:
    """The store counts what was dropped; the renderer shows it, promtool-clean."""

    def test_counter_by_measure_and_reason(self) -> None:
        """Two readings with a sentinel load: the counter says 2; raw keeps 255."""
        store = Store()
        for _ in range(2):
            built, _ = nut_reading(
                "ups",
                "nut",
                {"ups.load": "255", "input.frequency": "5990", "ups.status": "OL"},
                0.0,
            )
            store.update(built, unit="ups", interval=15)
        page = Renderer(store, lambda kind: KINDS[kind].naming).render()
        check_metrics(page)
        found = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(page.decode())
            for sample in family.samples
        }
        counted = {
            (labels[1][1], labels[2][1]): value
            for (name, labels), value in found.items()
            if name == "power_exporter_implausible_values_total"
        }
        assert counted == {("input_frequency", "out_of_range"): 2.0, ("load", "sentinel"): 2.0}
        assert found["network_ups_tools_ups_load", (("device", "ups"),)] == 255.0
        assert not any(name == "power_load_ratio" for name, _ in found)


def test_empty_fields_of_readings_share_one_read_only_mapping() -> None:
    first = Reading(identity=DeviceIdentity(name="a", source="demo"), taken_at=1.0)
    second = Reading(identity=DeviceIdentity(name="b", source="demo"), taken_at=2.0)
    empties = {id(first.dropped), id(second.labelled), id(second.identity.labels)}
    assert len(empties) == 1
    assert dict(first.dropped) == {}
    with pytest.raises(TypeError):
        first.dropped[Measure.LOAD] = "x"  # type: ignore[index]
