"""The seed's ``tripplite_*`` metrics, through the real exposition, checked by promtool."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from power_exporter.exposition.text import Renderer
from power_exporter.model import Reading
from power_exporter.sources.tripplite import KIND, TrippliteSource
from power_exporter.sources.tripplite.naming import FAMILIES
from power_exporter.store import Store
from tests.peers.promtool import check_metrics
from tests.sources.tripplite.replay import ReplayTransport, ReplayUps, info
from tests.sources.tripplite.test_source import config

HOST = "nas.example.org"
# The names numat/tripplite's exporter gave, as its collector built them from the JSON.
SEED_NAMES = [
    "tripplite_config_voltage",
    "tripplite_config_frequency",
    "tripplite_config_power",
    "tripplite_status_shutdown_imminent",
    "tripplite_status_ac_present",
    "tripplite_status_charging",
    "tripplite_status_discharging",
    "tripplite_status_needs_replacement",
    "tripplite_status_below_remaining_capacity",
    "tripplite_status_fully_charged",
    "tripplite_status_fully_discharged",
    "tripplite_input_voltage",
    "tripplite_input_frequency",
    "tripplite_output_voltage",
    "tripplite_output_power",
    "tripplite_health",
    "tripplite_time_to_empty",
]


async def example(*upses: ReplayUps) -> list[Reading]:
    """The readings of one poll of these UPSes (the README example by default)."""
    transport = ReplayTransport(*(upses or (ReplayUps(info()),)))
    async with TrippliteSource(config(), transport, hostname=HOST) as src:
        events = await src.read()
    return [e for e in events if isinstance(e, Reading)]


def exposition(readings: list[Reading]) -> str:
    """The exporter's /metrics text for these readings."""
    store = Store()
    for reading in readings:
        store.update(reading, unit="ups", interval=15.0)
    return Renderer(store, lambda _kind: KIND.naming).render().decode()


@pytest.fixture
async def example_pair() -> list[Reading]:
    """Two UPSes, one without a serial."""
    return await example(
        ReplayUps(info("/dev/hidraw0", serial="A")), ReplayUps(info("/dev/hidraw1", serial=""))
    )


class TestSeedNames:
    """Names, help and labels as the seed's exporter had them."""

    def test_names(self) -> None:
        """The seed's seventeen gauges (device_id was never exported), then our one counter."""
        names = [f.name for f in FAMILIES.values()]
        assert names == [*SEED_NAMES, "tripplite_missing_reports_total"]
        assert [f.kind for f in FAMILIES.values()] == ["gauge"] * len(SEED_NAMES) + ["counter"]

    def test_help(self) -> None:
        """The seed's help texts."""
        helps = {f.name: f.help for f in FAMILIES.values()}
        assert helps["tripplite_health"] == "UPS components health"
        assert helps["tripplite_time_to_empty"] == "Runtime left in seconds"
        assert helps["tripplite_input_voltage"] == "Tripplite Metric"

    async def test_samples(self) -> None:
        """One sample per value, labelled hostname, the status bits 0/1."""
        (reading,) = await example()
        samples = list(KIND.naming.samples(reading))
        values = {s.family.name: s.value for s in samples}
        assert list(values) == [*SEED_NAMES, "tripplite_missing_reports_total"]
        assert values["tripplite_missing_reports_total"] == 0.0
        assert values["tripplite_input_voltage"] == 117.2
        assert values["tripplite_status_ac_present"] == 1.0
        assert values["tripplite_status_charging"] == 0.0
        assert values["tripplite_health"] == 100.0
        assert {s.labels for s in samples} == {(("hostname", HOST),)}
        assert list(KIND.naming.down_samples(reading.identity)) == []

    async def test_families_are_shared(self) -> None:
        """Two readings use the very same family objects."""
        first, second = await example(
            ReplayUps(info("/dev/hidraw0", serial="A")), ReplayUps(info("/dev/hidraw1", serial="B"))
        )
        pairs = zip(KIND.naming.samples(first), KIND.naming.samples(second), strict=True)
        assert all(a.family is b.family for a, b in pairs)


class TestExposition:
    """The whole /metrics text of TrippLite devices."""

    async def test_lines(self) -> None:
        """Normalized and seed metrics side by side, with device first."""
        text = exposition(await example())
        device = 'device="ups/2E12345678"'
        for line in (
            f"power_input_voltage_volts{{{device}}} 117.2",
            f"power_battery_charge_ratio{{{device}}} 1",
            f"power_battery_runtime_seconds{{{device}}} 1004",
            f"power_nominal_apparent_power_voltamperes{{{device}}} 1500",
            f'power_status{{{device},flag="online"}} 1',
            f'power_status{{{device},flag="on_battery"}} 0',
            f'tripplite_status_ac_present{{{device},hostname="{HOST}"}} 1',
            f'tripplite_time_to_empty{{{device},hostname="{HOST}"}} 1004',
            f'tripplite_health{{{device},hostname="{HOST}"}} 100',
            f'tripplite_missing_reports_total{{{device},hostname="{HOST}"}} 0',
        ):
            assert line in text.splitlines()
        assert "power_battery_health_ratio" not in text

    async def test_parses(self) -> None:
        """prometheus_client's parser reads every seed family, with device and hostname."""
        text = exposition(await example())
        families = {f.name: f for f in text_string_to_metric_families(text)}
        for name in SEED_NAMES:
            (sample,) = families[name].samples
            assert sample.labels == {"device": "ups/2E12345678", "hostname": HOST}

    @pytest.mark.peer("promtool")
    def test_promtool_check_metrics(self, example_pair: list[Reading]) -> None:
        """The promtool linter finds nothing wrong with two TrippLites' exposition."""
        text = exposition(example_pair)
        assert 'device="ups/hidraw1"' in text
        check_metrics(text.encode())
