"""Normalized measures of each family, checked on real captures."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from power_exporter.model import Flag, Measure, checked_measures
from power_exporter.sources.ecoflow import devices, families, more_families
from power_exporter.sources.ecoflow.flatten import flatten
from tests.sources.ecoflow import data

if TYPE_CHECKING:
    from collections.abc import Mapping

M = Measure
BOTH = frozenset({Flag.CHARGING, Flag.DISCHARGING})
WITH_AC = BOTH | {Flag.ON_BATTERY}
ON_BATTERY = frozenset({Flag.DISCHARGING, Flag.ON_BATTERY})
CHARGING = frozenset({Flag.CHARGING})


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


Case = tuple[
    Callable[[], dict[str, object]],
    str | None,
    dict[Measure, float],
    frozenset[Flag],
    frozenset[Flag],
]
CASES: list[Case] = [
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
        ON_BATTERY,
        WITH_AC,
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
            M.BATTERY_TIME_TO_FULL: 50 * 60,  # charging: chgRemainTime, not the 5999 of dsg
        },
        CHARGING,
        WITH_AC,
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
        ON_BATTERY,
        WITH_AC,
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
        ON_BATTERY,
        WITH_AC,
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
        CHARGING,
        WITH_AC,
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
            M.BATTERY_TIME_TO_FULL: 1366 * 60,
        },
        CHARGING,
        BOTH,
    ),
]


class TestCaptures:
    """Each real capture normalizes to the values its device showed."""

    @pytest.mark.parametrize(
        ("load", "family", "expected", "flags", "known"),
        CASES,
        ids=[c[0].__name__ for c in CASES],
    )
    def test_capture(
        self,
        load: Callable[[], dict[str, object]],
        family: str | None,
        expected: dict[Measure, float],
        flags: frozenset[Flag],
        known: frozenset[Flag],
    ) -> None:
        """Exactly these measures and flags (sentinels such as 5999 min and SoH 0 left out)."""
        _, measures, found, knows = _normalize(load(), family)
        assert measures == pytest.approx(expected)
        assert found == flags
        assert knows == known

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


def _measures(quota: Mapping[str, object], family: str) -> dict[Measure, float]:
    return _normalize(quota, family)[1]


class TestRemainingTime:
    """Runtime and time to full by the battery's direction (field notes, section 2)."""

    @pytest.mark.parametrize(
        ("family", "amp_key"), [("river_g1", "bmsMaster.amp"), ("river_mini", "inv.amp")]
    )
    @pytest.mark.parametrize(
        ("remain", "amp", "expected"),
        [
            (120, 2000, {M.BATTERY_TIME_TO_FULL: 7200.0}),  # charging: time to full
            (4, 500, {M.BATTERY_TIME_TO_FULL: 240.0}),  # near full: never a 4-minute runtime
            (120, -2000, {M.BATTERY_RUNTIME: 7200.0}),  # discharging: time to empty
            (-132, 0, {M.BATTERY_RUNTIME: 7920.0}),  # negative: to empty, whatever the current
            (120, 0, {}),  # idle, positive: could be either, so neither
            (5999, -100, {}),  # "not applicable"
        ],
    )
    def test_pd_remain_time(
        self, family: str, amp_key: str, remain: int, amp: int, expected: dict[Measure, float]
    ) -> None:
        """RIVER Max/Pro/mini's pd.remainTime goes to the measure its direction says."""
        quota = {"pd.soc": 90, "pd.remainTime": remain, amp_key: amp}
        measures = _measures(quota, family)
        times = {
            m: v for m, v in measures.items() if m in {M.BATTERY_RUNTIME, M.BATTERY_TIME_TO_FULL}
        }
        assert times == pytest.approx(expected)

    @pytest.mark.parametrize(
        ("family", "quota", "charging"),
        [
            ("delta2", {"bms_emsStatus.chgRemainTime": 50, "bms_bmsStatus.amp": 900}, True),
            ("delta2", {"bms_emsStatus.chgRemainTime": 50, "bms_bmsStatus.amp": -900}, False),
            ("delta_g1", {"ems.chgRemainTime": 50, "bmsMaster.amp": 900}, True),
            ("protobuf_json", {"cmsChgRemTime": 50, "cmsChgDsgState": 2}, True),
            ("protobuf_json", {"cmsChgRemTime": 50, "cmsChgDsgState": 1}, False),
            (
                "powerstream",
                {"20_1.chgRemainTime": 50, "20_1.bpType": 1, "20_1.batInputWatts": -100},
                True,
            ),
        ],
    )
    def test_time_to_full_only_while_charging(
        self, family: str, quota: dict[str, object], charging: bool
    ) -> None:
        """A family's own time-to-full key counts only while its battery charges."""
        measures = _measures({**quota, "pd.soc": 50, "cmsBattSoc": 50}, family)
        assert measures.get(M.BATTERY_TIME_TO_FULL) == (3000.0 if charging else None)
        assert M.BATTERY_RUNTIME not in measures


# One quota per family, from its field definitions: (family, AC input absent and the battery
# serving the output, AC input present). Field notes section 2 and 4.
ON_BATTERY_CASES: list[tuple[str, dict[str, object], dict[str, object]]] = [
    (
        "delta2",
        {"bms_bmsStatus.soc": 80, "inv.inputWatts": 0, "bms_bmsStatus.amp": -5000},
        {"bms_bmsStatus.soc": 80, "inv.inputWatts": 300, "bms_bmsStatus.amp": 5000},
    ),
    (
        "river2",
        {"bms_bmsStatus.soc": 80, "inv.inputWatts": 0, "bms_bmsStatus.amp": -900},
        {"bms_bmsStatus.soc": 80, "inv.inputWatts": 100, "bms_bmsStatus.amp": -100},
    ),
    (
        "delta_g1",
        {"ems.lcdShowSoc": 80, "inv.inputWatts": 0, "bmsMaster.amp": -4591},
        {"ems.lcdShowSoc": 80, "inv.inputWatts": 500, "bmsMaster.amp": 3000},
    ),
    (
        "river_g1",
        {"bmsMaster.soc": 80, "inv.inputWatts": 0, "bmsMaster.amp": -1200},
        {"bmsMaster.soc": 80, "inv.inputWatts": 90, "bmsMaster.amp": 0},
    ),
    (
        "river_mini",
        {"inv.soc": 80, "inv.inputWatts": 0, "inv.amp": -300},
        {"inv.soc": 80, "inv.inputWatts": 82, "inv.amp": 41},
    ),
    (
        "protobuf_json",
        {"cmsBattSoc": 80, "powGetAcIn": 0, "cmsChgDsgState": 1},
        {"cmsBattSoc": 80, "powGetAcIn": 198.4, "cmsChgDsgState": 2},
    ),
    (
        "glacier",
        {"bms_bmsStatus.soc": 80, "bms_bmsStatus.inWatts": 0, "bms_bmsStatus.outWatts": 40},
        {"bms_bmsStatus.soc": 80, "bms_bmsStatus.inWatts": 60, "bms_bmsStatus.outWatts": 0},
    ),
    (
        "wave2",
        {"bms.soc": 80, "pd.acPwrIn": 0, "pd.batPwrOut": 350},
        {"bms.soc": 80, "pd.acPwrIn": 400, "pd.batPwrOut": 0},
    ),
]


class TestOnBattery:
    """on_battery from each family's own fields: AC input absent, output from the battery."""

    @pytest.mark.parametrize(
        ("family", "on_battery", "on_mains"), ON_BATTERY_CASES, ids=[c[0] for c in ON_BATTERY_CASES]
    )
    def test_family(
        self, family: str, on_battery: dict[str, object], on_mains: dict[str, object]
    ) -> None:
        """Set without AC input while the battery serves; known (and clear) on mains."""
        _, _, flags, known = _normalize(on_battery, family)
        assert Flag.ON_BATTERY in flags
        assert Flag.ON_BATTERY in known
        _, _, flags, known = _normalize(on_mains, family)
        assert Flag.ON_BATTERY not in flags
        assert Flag.ON_BATTERY in known

    def test_no_ac_input_but_charging_from_solar_is_not_on_battery(self) -> None:
        """A DELTA 2 unplugged from AC but charging from solar runs from the sun."""
        quota = {"bms_bmsStatus.soc": 60, "inv.inputWatts": 0, "bms_bmsStatus.amp": 2500}
        _, _, flags, known = _normalize(quota, "delta2")
        assert flags == {Flag.CHARGING}
        assert Flag.ON_BATTERY in known

    def test_powerstream_never_says_on_battery(self) -> None:
        """A microinverter has no AC input: feeding from its battery is its normal work."""
        _, _, flags, known = _normalize(data.powerstream(), "powerstream")
        assert Flag.ON_BATTERY not in known | flags
        night = {**data.powerstream(), "20_1.batInputWatts": 1500, "20_1.pv1InputWatts": 0}
        assert Flag.ON_BATTERY not in _normalize(night, "powerstream")[3]

    def test_smart_plug_has_no_battery(self) -> None:
        """A Smart Plug knows no battery flag at all."""
        assert _normalize({"2_1.watts": 100}, "smart_plug")[3] == frozenset()

    def test_unknown_without_the_ac_input_key(self) -> None:
        """Without its AC input key a family cannot tell: on_battery is not claimed either way."""
        _, _, flags, known = _normalize({"bmsMaster.soc": 50, "bmsMaster.amp": -10}, "river_g1")
        assert flags == {Flag.DISCHARGING}
        assert known == BOTH


class TestAcInputAndUnits:
    """AC input fields the firmware leaves at 0, and battery volts in mV."""

    def test_zero_ac_input_fields_while_power_comes_in_are_dropped(self) -> None:
        """With 50.7 W of AC input and AC-in volts and hertz 0 (as RIVER 3 sends): no 0 V/0 Hz."""
        quota = {
            "cmsBattSoc": 19,
            "powGetAcIn": 50.713905,
            "plugInInfoAcInVol": 0,
            "plugInInfoAcInFeq": 0,
            "plugInInfoAcInAmp": 0,
        }
        measures = _measures(quota, "protobuf_json")
        assert not measures.keys() & {M.INPUT_VOLTAGE, M.INPUT_FREQUENCY, M.INPUT_CURRENT}

    def test_zero_ac_input_fields_without_power_are_real(self) -> None:
        """Unplugged (0 W in), 0 V is what the input has: it stays."""
        quota = {"ems.lcdShowSoc": 50, "inv.inputWatts": 0, "inv.acInVol": 0, "inv.acInFreq": 0}
        measures = _measures(quota, "delta_g1")
        assert measures[M.INPUT_VOLTAGE] == 0.0
        assert measures[M.INPUT_FREQUENCY] == 0.0

    @pytest.mark.parametrize(("vol", "volts"), [(19310, 19.31), (53.246, 53.246)])
    def test_bms_batt_vol_in_millivolts_or_volts(self, vol: float, volts: float) -> None:
        """bmsBattVol: mV on a RIVER 3, V on a DELTA 3, read right on the developer API too."""
        measures = _measures({"cmsBattSoc": 50, "bmsBattVol": vol}, "protobuf_json")
        assert measures[M.BATTERY_VOLTAGE] == pytest.approx(volts)
