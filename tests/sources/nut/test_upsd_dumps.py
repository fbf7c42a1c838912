"""Every nut-ddl dump, served by a real upsd + dummy-ups, read by the NUT source.

The oracle is ``upsc``: what upsd really serves for each dump (dummy-ups rewrites ``driver.*``
and fills in ``ups.mfr``/``ups.model``, so the raw file is not the truth).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from typing import TYPE_CHECKING, Final

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics import parser as om_parser
from prometheus_client.parser import text_string_to_metric_families as parse_text

from power_exporter.exposition.text import Renderer
from power_exporter.model import Flag, Measure, Reading, Roster
from power_exporter.sources.nut.naming import (
    DEVICE_INFO_FAMILY,
    NUT_NAMING,
    STATUS_FAMILY,
    metric_name,
)
from power_exporter.sources.nut.source import NutSource, list_ups, loop_pool
from power_exporter.sources.nut.table import states_of
from power_exporter.sources.registry import KINDS
from power_exporter.sources.replay.source import ReplayConfig, ReplaySource
from power_exporter.store import Store
from tests.peers import require_binary
from tests.peers.promtool import check_metrics
from tests.sources.nut.conftest import DUMPS, QUOTED_DESCRIPTION, QUOTED_UPS, nut_config

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tests.peers.upsd import Upsd

# DESIGN's metric contract, written out: NUT variable -> measure, scale; first present wins.
SPEC: Final = (
    ("battery.charge", Measure.BATTERY_CHARGE, 0.01),
    ("battery.runtime", Measure.BATTERY_RUNTIME, 1.0),
    ("battery.voltage", Measure.BATTERY_VOLTAGE, 1.0),
    ("battery.temperature", Measure.BATTERY_TEMPERATURE, 1.0),
    ("input.voltage", Measure.INPUT_VOLTAGE, 1.0),
    ("input.frequency", Measure.INPUT_FREQUENCY, 1.0),
    ("input.current", Measure.INPUT_CURRENT, 1.0),
    ("input.realpower", Measure.INPUT_POWER, 1.0),
    ("output.voltage", Measure.OUTPUT_VOLTAGE, 1.0),
    ("output.frequency", Measure.OUTPUT_FREQUENCY, 1.0),
    ("output.current", Measure.OUTPUT_CURRENT, 1.0),
    ("output.realpower", Measure.OUTPUT_POWER, 1.0),
    ("ups.realpower", Measure.OUTPUT_POWER, 1.0),
    ("output.power", Measure.OUTPUT_APPARENT_POWER, 1.0),
    ("ups.power", Measure.OUTPUT_APPARENT_POWER, 1.0),
    ("ups.load", Measure.LOAD, 0.01),
    ("ups.realpower.nominal", Measure.NOMINAL_POWER, 1.0),
    ("ups.power.nominal", Measure.NOMINAL_APPARENT_POWER, 1.0),
)
STATUS_FLAGS: Final = {
    "OL": Flag.ONLINE, "OB": Flag.ON_BATTERY, "LB": Flag.LOW_BATTERY, "HB": Flag.HIGH_BATTERY,
    "RB": Flag.REPLACE_BATTERY, "CHRG": Flag.CHARGING, "DISCHRG": Flag.DISCHARGING,
    "BYPASS": Flag.BYPASS, "CAL": Flag.CALIBRATING, "OFF": Flag.OFF, "OVER": Flag.OVERLOAD,
    "TRIM": Flag.TRIM, "BOOST": Flag.BOOST, "FSD": Flag.SHUTDOWN_IMMINENT,
    "SD": Flag.SHUTDOWN_IMMINENT, "ALARM": Flag.ALARM,
}  # fmt: skip
DECIMAL: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
IDENTIFIER: Final = re.compile(
    r"(^|\.)(serial|vendorid|productid|firmware(\.aux)?|version(\.internal)?|part|macaddr)$"
)

# Values read off the dump files by hand (and what dummy-ups makes of them).
SPOT_CHECKS: Final[Mapping[str, Mapping[Measure, float]]] = {
    "eaton-ellipse-eco-1600": {
        Measure.BATTERY_CHARGE: 0.99, Measure.BATTERY_RUNTIME: 2970, Measure.OUTPUT_VOLTAGE: 230.0,
        Measure.LOAD: 0.0, Measure.NOMINAL_APPARENT_POWER: 1600,
    },
    "apc-back-ups-es-850g2": {  # no real power: derived from load x nominal
        Measure.OUTPUT_POWER: 0.18 * 520, Measure.NOMINAL_POWER: 520, Measure.BATTERY_VOLTAGE: 13.5,
    },
    "apc-smart-ups-2200": {  # "65535\t#BAD: overflow?" -> 65535, a sentinel: no runtime
        Measure.BATTERY_TEMPERATURE: 16.6, Measure.LOAD: 0.052,
    },
    "powerwalker-vfi-2000-crm-lcd": {Measure.BATTERY_VOLTAGE: 54.5, Measure.OUTPUT_CURRENT: 1.6},
    "eaton-9sx-5000i": {
        Measure.OUTPUT_POWER: 226, Measure.OUTPUT_APPARENT_POWER: 264, Measure.NOMINAL_POWER: 4500,
    },
    "tripp-lite-ups": {Measure.INPUT_FREQUENCY: 60.1},  # its bogus 255 % load is dropped
}  # fmt: skip


# What the issue calls impossible (its own statement, not the table under test): sentinels,
# and per measure the range outside which a value is dropped.
SENTINELS: Final = frozenset({65535.0, 4294967295.0, -1.0, 2.55, 655.35, -0.01})
RANGES: Final[Mapping[Measure, tuple[float, float]]] = {
    Measure.BATTERY_CHARGE: (0.0, 1.0), Measure.LOAD: (0.0, 2.4999),
    Measure.BATTERY_RUNTIME: (0.0, 86400.0), Measure.BATTERY_TEMPERATURE: (-40.0, 100.0),
    Measure.INPUT_VOLTAGE: (0.0, 700.0), Measure.OUTPUT_VOLTAGE: (0.0, 700.0),
    Measure.INPUT_FREQUENCY: (40.0, 70.0), Measure.OUTPUT_FREQUENCY: (40.0, 70.0),
}  # fmt: skip


def possible(measure: Measure, value: float) -> bool:
    """Whether a value may reach power_* (frequencies may also be 0: no mains)."""
    if round(value, 9) in SENTINELS:
        return False
    if value == 0.0 and measure in {Measure.INPUT_FREQUENCY, Measure.OUTPUT_FREQUENCY}:
        return True
    low, high = RANGES.get(measure, (0.0, 2e6))
    return low <= value <= high


def expected_measures(values: Mapping[str, str]) -> dict[Measure, float]:
    """Compute the measures DESIGN asks for from what upsc shows: first possible value wins."""
    expected: dict[Measure, float] = {}
    for name, measure, scale in SPEC:
        if measure not in expected and DECIMAL.fullmatch(values.get(name, "").strip()):
            value = float(values[name]) * scale
            if possible(measure, value):
                expected[measure] = value
    factors = {"ups.load": Measure.LOAD, "ups.realpower.nominal": Measure.NOMINAL_POWER}
    if (
        Measure.OUTPUT_POWER not in expected
        and set(factors) <= set(values)
        and all(
            possible(m, float(values[n]) * (0.01 if m is Measure.LOAD else 1))
            for n, m in factors.items()
        )
    ):
        expected[Measure.OUTPUT_POWER] = (
            float(values["ups.load"]) / 100 * float(values["ups.realpower.nominal"])
        )
    return expected


def numeric(values: Mapping[str, str]) -> dict[str, float]:
    """Pick the numeric variables upsc shows (identifiers that look numeric excluded)."""
    return {
        name: float(value)
        for name, value in values.items()
        if DECIMAL.fullmatch(value.strip()) and not IDENTIFIER.search(name)
    }


async def read_one(upsd: Upsd, ups: str, name: str = "rack") -> Reading:
    """One reading of one UPS through a fresh NutSource."""
    cfg = nut_config(name=name, server=upsd.server, ups=ups)
    async with NutSource(cfg) as source:
        (event,) = await source.read()
    assert isinstance(event, Reading), event
    return event


@pytest.mark.parametrize("ups", sorted(DUMPS))
class TestEveryDump:
    """The same checks for each of the 14 dumps."""

    async def test_measures_match_upsc(self, ddl_upsd: Upsd, ups: str) -> None:
        """The normalized values equal the dump's as upsd serves it (charge/100, load/100...)."""
        reading = await read_one(ddl_upsd, ups)
        assert dict(reading.measures) == pytest.approx(expected_measures(ddl_upsd.upsc(ups)))
        for measure, value in SPOT_CHECKS.get(ups, {}).items():
            assert reading.measures[measure] == pytest.approx(value), measure

    async def test_raw_is_every_numeric_variable(self, ddl_upsd: Upsd, ups: str) -> None:
        """Raw holds exactly the numeric variables as NUT gives them; so many raw series."""
        oracle = ddl_upsd.upsc(ups)
        reading = await read_one(ddl_upsd, ups)
        assert dict(reading.raw) == numeric(oracle)
        assert {**reading.text, **{k: oracle[k] for k in reading.raw}} == oracle
        samples = list(NUT_NAMING.samples(reading))
        states = [s for s in samples if s.labels and s.labels[0][0] == "state"]
        gauges = [
            s
            for s in samples
            if s.family not in {STATUS_FAMILY, DEVICE_INFO_FAMILY, *(x.family for x in states)}
        ]
        assert len(gauges) == len(numeric(oracle))
        # text variables with a closed set of values: a state set, 1 on the value upsc shows
        on = {(s.family.name, s.labels[0][1]) for s in states if s.value == 1.0}
        assert on == {
            (metric_name(name), value.strip().lower())
            for name, value in oracle.items()
            if states_of(name) is not None and value.strip()
        }

    async def test_flags_match_status(self, ddl_upsd: Upsd, ups: str) -> None:
        """Flags come from ups.status; the raw status series has every token at 1."""
        oracle = ddl_upsd.upsc(ups)
        reading = await read_one(ddl_upsd, ups)
        tokens = oracle["ups.status"].split()
        charger = {"charging": Flag.CHARGING, "discharging": Flag.DISCHARGING}
        expected = {STATUS_FLAGS[t] for t in tokens if t in STATUS_FLAGS}
        expected |= {charger[v] for v in [oracle.get("battery.charger.status", "")] if v in charger}
        assert reading.flags == expected
        status = {
            dict(s.labels)["flag"]: s.value
            for s in NUT_NAMING.samples(reading)
            if s.family is STATUS_FAMILY
        }
        if not tokens:  # no status (the ePDU): no flags known, no status series at all
            assert reading.known_flags <= {Flag.CHARGING, Flag.DISCHARGING}
            assert status == {}
            return
        assert reading.known_flags >= set(STATUS_FLAGS.values())
        assert {flag for flag, value in status.items() if value == 1} == set(tokens)
        assert set(status) == set(tokens) | set(STATUS_FLAGS)

    async def test_identity(self, ddl_upsd: Upsd, ups: str) -> None:
        """Vendor and model follow the fallback chains; placeholder serials are dropped."""
        oracle = ddl_upsd.upsc(ups)
        reading = await read_one(ddl_upsd, ups)
        identity = reading.identity
        assert identity.source == "nut"
        assert identity.vendor == (
            oracle.get("device.mfr") or oracle.get("ups.mfr") or oracle.get("ups.vendorid", "")
        )
        assert identity.model == (
            oracle.get("device.model") or oracle.get("ups.model") or oracle.get("ups.productid", "")
        )
        serial = oracle.get("device.serial", "").strip()
        assert identity.serial == ("" if set(serial) <= {"0"} else serial)
        info = [s for s in NUT_NAMING.samples(reading) if s.family is DEVICE_INFO_FAMILY]
        assert [dict(s.labels) for s in info] == [
            {
                label: oracle.get(f"device.{label}", "")
                for label in (
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
            }
        ]

    async def test_replay_matches_upsd(self, ddl_upsd: Upsd, ups: str) -> None:
        """The replay source gives what upsd + dummy-ups give: measures, flags, non-driver raw."""
        served = await read_one(ddl_upsd, ups)
        cfg = ReplayConfig.model_validate(
            {"name": "rack", "source": "replay", "file": str(DUMPS[ups])}
        )
        async with ReplaySource(cfg) as source:
            (replayed,) = await source.read()
        assert isinstance(replayed, Reading)
        assert dict(replayed.measures) == pytest.approx(dict(served.measures))
        assert replayed.flags == served.flags
        # dummy-ups swaps in its own driver.* values; everything else is the dump's
        assert {k: v for k, v in replayed.raw.items() if not k.startswith("driver.")} == {
            k: v for k, v in served.raw.items() if not k.startswith("driver.")
        }


class TestWholeUpsd:
    """Several UPSes at once, and what promtool makes of them."""

    async def test_star_reads_every_ups_in_one_source(self, ddl_upsd: Upsd) -> None:
        """``ups: "*"`` gives one device per UPS, named <name>/<ups>, all readings."""
        cfg = nut_config(name="lab", server=ddl_upsd.server, ups="*")
        async with NutSource(cfg) as source:
            first = await source.read()
            again = await source.read()
        rosters = [e for e in [*first, *again] if isinstance(e, Roster)]
        assert [r.devices for r in rosters] == [frozenset(f"lab/{ups}" for ups in DUMPS)] * 2
        events = [e for e in first if not isinstance(e, Roster)]
        assert sorted(e.device for e in events) == sorted(f"lab/{ups}" for ups in DUMPS)
        assert all(isinstance(e, Reading) for e in [*first, *again] if not isinstance(e, Roster))
        assert len(again) == len(DUMPS) + 1
        assert len(loop_pool()) == 0

    async def test_list_ups_unescapes_descriptions(self, ddl_upsd: Upsd) -> None:
        """``discover``'s list_ups gives what upsc -L gives, quotes and backslashes unescaped."""
        listed = dict(await list_ups(ddl_upsd.server))
        assert listed == ddl_upsd.upsc_list()
        assert listed[QUOTED_UPS] == QUOTED_DESCRIPTION

    async def test_devices_share_one_connection(self, ddl_upsd: Upsd) -> None:
        """Two devices on one upsd use one client; it closes when the last one closes."""
        one = NutSource(nut_config(name="a", server=ddl_upsd.server, ups=min(DUMPS)))
        two = NutSource(nut_config(name="b", server=ddl_upsd.server, ups=sorted(DUMPS)[1]))
        async with one, two:
            assert one.client is two.client
            await one.read()
            await two.read()
            assert len(loop_pool()) == 1
        assert len(loop_pool()) == 0

    async def test_raw_exposition_passes_promtool(self, ddl_upsd: Upsd) -> None:
        """All dumps' raw series, rendered by prometheus_client, pass ``promtool check metrics``."""
        promtool = require_binary("promtool", install="apt-get install prometheus")
        readings = [await read_one(ddl_upsd, ups, name=ups) for ups in sorted(DUMPS)]
        families: dict[str, Metric] = {}
        seen_family_objects: dict[str, object] = {}
        for reading in readings:
            for sample in NUT_NAMING.samples(reading):
                assert (
                    seen_family_objects.setdefault(sample.family.name, sample.family)
                    is sample.family
                )
                family = families.get(sample.family.name)
                if family is None:
                    family = families[sample.family.name] = GaugeMetricFamily(
                        sample.family.name,
                        sample.family.help,
                        labels=["device", *(k for k, _ in sample.labels)],
                    )
                family.add_metric([reading.device, *(v for _, v in sample.labels)], sample.value)  # type: ignore[attr-defined]
        assert "network_ups_tools_outlet_count_value" in families  # the ePDU's outlet.count
        registry = CollectorRegistry()
        registry.register(_Fixed(list(families.values())))
        text = generate_latest(registry)
        result = await asyncio.to_thread(
            subprocess.run,
            [promtool, "check", "metrics"],
            input=text,
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


class TestCoreExposition:
    """Every dump through the exporter's own renderer, checked by promtool and the parsers."""

    async def test_every_dump_rendered(self, ddl_upsd: Upsd) -> None:
        """All 14 UPSes up pass promtool; OpenMetrics parses; a UPS down keeps only its info."""
        store = Store()
        for ups in sorted(DUMPS):
            reading = await read_one(ddl_upsd, ups, name=ups)
            store.update(reading, unit=ups, interval=15)
        renderer = Renderer(store, lambda kind: KINDS[kind].naming)
        text = renderer.render()
        check_metrics(text)
        families = {f.name: f for f in parse_text(text.decode())}
        assert families["network_ups_tools_outlet_count_value"].samples[0].value == 24
        assert "network_ups_tools_battery_charge" in families
        derived = families["power_output_power_watts"]
        back_ups = [s for s in derived.samples if s.labels["device"] == "apc-back-ups-es-850g2"]
        assert back_ups[0].value == pytest.approx(93.6)
        assert "derived" in derived.documentation
        om_text = renderer.render(openmetrics=True).decode()
        om_families = list(om_parser.text_string_to_metric_families(om_text))  # type: ignore[no-untyped-call]
        assert any(f.name == "network_ups_tools_device" and f.type == "info" for f in om_families)

        store.mark_down("eaton-5px-2000", "stale", "driver gone")
        down = renderer.render()
        check_metrics(down)
        series = [
            line
            for line in down.decode().splitlines()
            if 'device="eaton-5px-2000"' in line and not line.startswith("#")
        ]
        names = {line.split("{")[0] for line in series}
        assert "network_ups_tools_device_info" in names
        assert "power_device_up" in names
        assert not any(
            n.startswith("network_ups_tools_") and n != "network_ups_tools_device_info"
            for n in names
        )
        assert "power_battery_charge_ratio" not in names


class _Fixed:
    """A prometheus_client collector that yields given families."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families
