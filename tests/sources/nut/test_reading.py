"""Readings through plans: what a plan keeps from one poll never changes the next poll's Reading.

A plan is made once per list of variable names and the number test is kept per value string;
these tests build each Reading with the caches cold and again warm, and change values under
unchanged names, as a UPS does between polls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.model import Flag, Measure, Reading
from power_exporter.sources.nut import reading as nut
from power_exporter.sources.nut.client import NutClient
from power_exporter.sources.nut.config import VarFilter
from power_exporter.sources.nut.reading import NUMBER_CACHE, NUMBERS_MAX, PLAN_CACHE, nut_reading
from power_exporter.sources.replay.devfile import parse_dev
from tests.sources.nut.conftest import DUMPS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from tests.peers.upsd import Upsd

KEEP = VarFilter(include=("battery.*", "ups.*", "outlet.*"), exclude=("ups.test.*",)).keeps


def everything(reading: Reading) -> tuple[object, ...]:
    """What a Reading says, in order (the order of raw, text and labelled is rendered)."""
    identity = reading.identity
    return (
        identity,
        list(identity.labels.items()),
        list(reading.measures.items()),
        reading.flags,
        reading.known_flags,
        list(reading.raw.items()),
        list(reading.text.items()),
        [(measure, list(series.items())) for measure, series in reading.labelled.items()],
        list(reading.dropped.items()),
    )


def cold_and_warm(
    variables: Mapping[str, str], keep: Callable[[str], bool] | None = None
) -> tuple[tuple[Reading, list[str]], tuple[Reading, list[str]]]:
    """The Reading and problems built with empty caches, then again with warm ones."""
    PLAN_CACHE.clear()
    NUMBER_CACHE.clear()
    cold = nut_reading("u", "nut", variables, 1.0, keep)
    warm = nut_reading("u", "nut", dict(variables), 1.0, keep)
    return cold, warm


def dump_variables(path: Path) -> dict[str, str]:
    """The variables a dump file sets, as its replay starts."""
    return parse_dev(path.read_text(encoding="utf-8"), str(path)).values_at(0.0)


class TestPlans:
    """One plan per list of names; values decide the rest at every poll."""

    @pytest.mark.parametrize("ups", sorted(DUMPS))
    @pytest.mark.parametrize("keep", [None, KEEP], ids=["all", "filtered"])
    def test_warm_equals_cold(self, ups: str, keep: Callable[[str], bool] | None) -> None:
        """Every fixture dump gives the same Reading from a new plan and from a kept one."""
        (cold, cold_problems), (warm, warm_problems) = cold_and_warm(
            dump_variables(DUMPS[ups]), keep
        )
        assert everything(cold) == everything(warm)
        assert cold_problems == warm_problems
        assert cold.raw or cold.text  # it read something

    def test_same_names_new_values(self) -> None:
        """A number that turns into text (and back) under the same names is seen each poll."""
        first, _ = nut_reading("u", "nut", {"ups.load": "20", "battery.charge": "n/a"}, 0.0)
        plan = nut.plan_of({"ups.load": "", "battery.charge": ""}, None)
        second, _ = nut_reading("u", "nut", {"ups.load": "", "battery.charge": "80"}, 0.0)
        assert nut.plan_of({"ups.load": "1", "battery.charge": "2"}, None) is plan
        assert dict(first.raw) == {"ups.load": 20.0}
        assert dict(first.text) == {"battery.charge": "n/a"}
        assert dict(second.raw) == {"battery.charge": 80.0}
        assert dict(second.text) == {"ups.load": ""}
        assert dict(second.measures) == {Measure.BATTERY_CHARGE: 0.8}

    def test_outlet_states_follow_values(self) -> None:
        """An outlet's on/off is read from its value at each poll, with the same plan."""
        names = ("outlet.2.status", "outlet.1.status", "outlet.1.realpower", "ups.status")
        polls = [("on", "off", "12", "OL"), ("off", "weird", "n/a", "OB")]
        got = []
        for values in polls:
            reading, _ = nut_reading("pdu", "nut", dict(zip(names, values, strict=True)), 0.0)
            got.append((dict(reading.labelled), reading.flags))
        assert got == [
            (
                {
                    Measure.OUTLET_POWER: {(("outlet", "1"),): 12.0},
                    Measure.OUTLET_ON: {(("outlet", "1"),): 0.0, (("outlet", "2"),): 1.0},
                },
                frozenset({Flag.ONLINE}),
            ),
            ({Measure.OUTLET_ON: {(("outlet", "2"),): 0.0}}, frozenset({Flag.ON_BATTERY})),
        ]

    def test_filter_is_part_of_the_plan(self) -> None:
        """Two devices with the same names and different ``vars`` filters keep their own."""
        variables = {"ups.load": "20", "input.voltage": "230", "ups.beeper.status": "enabled"}
        plain, _ = nut_reading("u", "nut", variables, 0.0)
        only_ups, _ = nut_reading("u", "nut", variables, 0.0, lambda name: name.startswith("ups."))
        assert set(plain.raw) == {"ups.load", "input.voltage"}
        assert set(only_ups.raw) == {"ups.load"}
        assert set(only_ups.text) == {"ups.beeper.status"}
        assert Measure.INPUT_VOLTAGE in only_ups.measures  # measures are never filtered

    def test_caches_are_bounded(self) -> None:
        """A upsd inventing names and values at every poll grows neither cache for ever."""
        NUMBER_CACHE.clear()
        for number in range(NUMBERS_MAX + 10):
            reading, _ = nut_reading("u", "nut", {f"x.{number % 3}": str(number)}, 0.0)
            assert reading.raw == {f"x.{number % 3}": float(number)}
        assert 0 < len(NUMBER_CACHE) <= NUMBERS_MAX
        for number in range(nut.PLANS_MAX + 10):
            nut_reading("u", "nut", {f"y.{number}": "1"}, 0.0)
        assert len(PLAN_CACHE) == nut.PLANS_MAX


class TestFromUpsd:
    """The answers of a real upsd, read twice: the second Reading is the first's."""

    async def test_every_dump_twice(self, ddl_upsd: Upsd) -> None:
        """Every UPS of the upsd, from the answers of one poll, with cold then warm caches."""
        upses = sorted(DUMPS)
        async with NutClient("127.0.0.1", ddl_upsd.port) as client:
            answers = await client.list_vars_many(upses)
        for ups, answer in zip(upses, answers, strict=True):
            assert isinstance(answer, dict), f"{ups}: {answer}"
            (cold, cold_problems), (warm, warm_problems) = cold_and_warm(answer)
            assert everything(cold) == everything(warm), ups
            assert cold_problems == warm_problems, ups
