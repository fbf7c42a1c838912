"""Normalized measures of each family, checked on real captures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.model import Flag, Measure, checked_measures
from power_exporter.sources.ecoflow import devices, families, more_families
from power_exporter.sources.ecoflow.flatten import flatten
from tests.sources.ecoflow import data

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

M = Measure
BOTH = frozenset({Flag.CHARGING, Flag.DISCHARGING})


def _normalize(
    quota: Mapping[str, object], family: str | None
) -> tuple[str, dict[Measure, float], frozenset[Flag], frozenset[Flag]]:
    raw = flatten(quota).numbers
    found = families.family_for(family, raw)
    assert found is not None
    good, problems = checked_measures(families.measures(found, raw))
    assert problems == []
    flags, known = families.flags(found, raw)
    return found.products, good, flags, known


CASES: list[tuple[Callable[[], dict[str, object]], str | None, dict[Measure, float], Flag]] = [
    (
        data.delta2,
        "delta2",
        {
            M.BATTERY_CHARGE: 0.864,
            M.BATTERY_HEALTH: 1.0,
            M.BATTERY_RUNTIME: 139 * 60,
            M.BATTERY_VOLTAGE: 51.961,
            M.BATTERY_TEMPERATURE: 25,
            M.INPUT_POWER: 0,
            M.OUTPUT_POWER: 344,
            M.INPUT_VOLTAGE: 229.632,
            M.INPUT_CURRENT: 0,
            M.INPUT_FREQUENCY: 50,
            M.OUTPUT_VOLTAGE: 229.568,
            M.OUTPUT_CURRENT: 1.177,
            M.OUTPUT_FREQUENCY: 50,
            M.SOLAR_INPUT_POWER: 0,
        },
        Flag.DISCHARGING,
    ),
    (
        data.delta2max,
        "delta2",
        {
            M.BATTERY_CHARGE: 0.826,
            M.BATTERY_HEALTH: 0.97,
            M.BATTERY_VOLTAGE: 53.976,
            M.BATTERY_TEMPERATURE: 21,
            M.INPUT_POWER: 1170,
            M.OUTPUT_POWER: 489,
            M.INPUT_VOLTAGE: 233.677,
            M.INPUT_CURRENT: 1.267,
            M.INPUT_FREQUENCY: 50,
            M.OUTPUT_VOLTAGE: 0,
            M.OUTPUT_CURRENT: 0,
            M.OUTPUT_FREQUENCY: 0,
            M.SOLAR_INPUT_POWER: 447,
        },
        Flag.CHARGING,
    ),
    (
        data.delta_pro,
        "delta_g1",
        {
            M.BATTERY_CHARGE: 0.37820835,
            M.BATTERY_RUNTIME: 240 * 60,
            M.BATTERY_VOLTAGE: 49.285,
            M.BATTERY_TEMPERATURE: 27,
            M.INPUT_POWER: 0,
            M.OUTPUT_POWER: 155,
            M.INPUT_VOLTAGE: 0,
            M.INPUT_CURRENT: 0,
            M.INPUT_FREQUENCY: 0,
            M.OUTPUT_VOLTAGE: 230.168,
            M.OUTPUT_CURRENT: 1.39,
            M.OUTPUT_FREQUENCY: 50,
            M.SOLAR_INPUT_POWER: 0,
        },
        Flag.DISCHARGING,
    ),
    (
        data.delta_mini,
        None,  # its serial is masked in the capture: the keys tell the family
        {
            M.BATTERY_CHARGE: 0.9949,
            M.BATTERY_VOLTAGE: 58.171,
            M.BATTERY_TEMPERATURE: 27,
            M.INPUT_POWER: 0,
            M.OUTPUT_POWER: 0,
            M.INPUT_VOLTAGE: 0,
            M.INPUT_CURRENT: 0,
            M.INPUT_FREQUENCY: 0,
            M.OUTPUT_VOLTAGE: 0,
            M.OUTPUT_CURRENT: 0,
            M.OUTPUT_FREQUENCY: 0,
            M.SOLAR_INPUT_POWER: 0,
        },
        Flag.DISCHARGING,
    ),
    (
        data.river_mini,
        None,
        {
            M.BATTERY_CHARGE: 1.0,
            M.BATTERY_VOLTAGE: 29.077,
            M.BATTERY_TEMPERATURE: 33,
            M.INPUT_POWER: 82,
            M.OUTPUT_POWER: 82,
            M.INPUT_VOLTAGE: 218.643,  # 324403968 byte-swapped = 218643 mV
            M.INPUT_CURRENT: 0.370,
            M.INPUT_FREQUENCY: 50,
            M.OUTPUT_VOLTAGE: 217.735,
            M.OUTPUT_CURRENT: 0.439,
            M.OUTPUT_FREQUENCY: 50,
        },
        Flag.CHARGING,
    ),
    (
        data.powerstream,
        None,
        {
            M.BATTERY_CHARGE: 0.54,
            M.BATTERY_VOLTAGE: 52.4,
            M.BATTERY_TEMPERATURE: 32.0,
            M.SOLAR_INPUT_POWER: 67.0,
            M.OUTPUT_POWER: 0,
            M.OUTPUT_VOLTAGE: 233.0,
            M.OUTPUT_FREQUENCY: 49.9,
            M.NOMINAL_POWER: 800.0,
        },
        Flag.CHARGING,
    ),
]


class TestCaptures:
    """Each real capture normalizes to the values its device showed."""

    @pytest.mark.parametrize(
        ("load", "family", "expected", "flag"), CASES, ids=[c[0].__name__ for c in CASES]
    )
    def test_capture(
        self,
        load: Callable[[], dict[str, object]],
        family: str | None,
        expected: dict[Measure, float],
        flag: Flag,
    ) -> None:
        """Exactly these measures (sentinels such as 5999 min and SoH 0 left out)."""
        _, measures, flags, known = _normalize(load(), family)
        assert measures == pytest.approx(expected)
        assert flags == {flag}
        assert known == BOTH

    def test_river2_volts_are_whole_volts(self) -> None:
        """RIVER 2 reports bms_bmsStatus.vol in volts, DELTA 2 in millivolts."""
        quota = {"bms_bmsStatus.soc": 50, "bms_bmsStatus.vol": 26}
        assert _normalize(quota, "river2")[1][M.BATTERY_VOLTAGE] == 26
        assert _normalize({**quota, "bms_bmsStatus.vol": 51961}, "delta2")[1][
            M.BATTERY_VOLTAGE
        ] == pytest.approx(51.961)

    def test_powerstream_without_battery(self) -> None:
        """PowerStream with bpType 0: no battery rows (no charge 0 for a missing battery)."""
        quota = {**data.powerstream(), "20_1.bpType": 0, "20_1.batSoc": 0}
        _, measures, _, _ = _normalize(quota, "powerstream")
        assert M.BATTERY_CHARGE not in measures
        assert M.BATTERY_VOLTAGE not in measures
        assert measures[M.SOLAR_INPUT_POWER] == pytest.approx(67.0)

    def test_protobuf_generation_keys(self) -> None:
        """DELTA Pro 3 on the developer API: flat camelCase names, state enum for flags."""
        quota = {
            "cmsBattSoc": 81.5,
            "bmsBattSoh": 99.0,
            "cmsDsgRemTime": 300,
            "bmsBattVol": 53.246,
            "powInSumW": 10,
            "powOutSumW": 198,
            "powGetPvH": 100.5,
            "powGetPvL": 20,
            "plugInInfoAcInVol": 118.1,
            "cmsChgDsgState": 1,
        }
        _, measures, flags, known = _normalize(quota, "protobuf_json")
        assert measures == pytest.approx(
            {
                M.BATTERY_CHARGE: 0.815,
                M.BATTERY_HEALTH: 0.99,
                M.BATTERY_RUNTIME: 18000,
                M.BATTERY_VOLTAGE: 53.246,
                M.INPUT_POWER: 10,
                M.OUTPUT_POWER: 198,
                M.SOLAR_INPUT_POWER: 120.5,
                M.INPUT_VOLTAGE: 118.1,
            }
        )
        assert flags == {Flag.DISCHARGING}
        assert known == BOTH

    def test_smart_plug(self) -> None:
        """2_1.watts in deci-watts, current in mA; the momentary volt 0 is skipped."""
        quota = {"2_1.watts": 1234, "2_1.volt": 0, "2_1.current": 560, "2_1.freq": 50}
        _, measures, flags, known = _normalize(quota, "smart_plug")
        assert measures == pytest.approx(
            {M.OUTPUT_POWER: 123.4, M.OUTPUT_CURRENT: 0.56, M.OUTPUT_FREQUENCY: 50}
        )
        assert (flags, known) == (frozenset(), frozenset())

    def test_unknown_family(self) -> None:
        """Keys of no family: no table (the raw series still carry everything)."""
        assert families.family_for(None, {"foo.bar": 1.0}) is None
        assert families.family_for("no-such-family", {"foo.bar": 1.0}) is None


class TestTables:
    """The tables themselves."""

    def test_every_family_of_devices_json_has_a_table(self) -> None:
        """devices.json names only families that exist."""
        named = {p.family for p in devices.shipped() if p.family is not None}
        tables = set(families.FAMILIES) | set(more_families.FAMILIES)
        assert named <= tables
        assert tables - named == {"river_mini"}  # its SN prefix is not known

    def test_each_family_maps_charge_or_output(self) -> None:
        """Every table gives at least a charge or an output power."""
        for family in families.FAMILIES.values():
            measures = {row.measure for row in family.fields.values()}
            assert measures & {M.BATTERY_CHARGE, M.OUTPUT_POWER}, family.products
