"""The EcoFlow kind through the core: runtime, store, exposition, promtool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

from power_exporter.exposition.text import Renderer
from power_exporter.runtime import Runtime
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.peers.promtool import check_metrics
from tests.sources.ecoflow import data
from tests.sources.ecoflow.conftest import config
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

    from power_exporter.sources.base import DeviceConfig
    from tests.sources.ecoflow.fake_cloud import FakeCloud

DELTA2 = "R331ZEB4ZEAL0001"
PRO = "DCABZ8ZE1234"


def render(store: Store) -> str:
    """The /metrics page of the store."""
    return Renderer(store, lambda kind: KINDS[kind].naming).render().decode()


def promtool_check(text: str) -> None:
    """Check the page with promtool check metrics (no lint problem allowed)."""
    check_metrics(text.encode())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the page, parsed by prometheus_client's parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until predicate() is true."""
    await until(predicate, timeout)


async def run(devices: list[DeviceConfig], store: Store) -> Runtime:
    """Start the runtime on these devices."""
    runtime = Runtime(devices, store)
    runtime.start()
    return runtime


class TestExposition:
    """Seed-compatible series, normalized series, offline handling, promtool."""

    async def test_seed_named_device(self, cloud: FakeCloud) -> None:
        """A device named by its serial (the seed's environment) has the seed's series."""
        cloud.add(PRO, data.delta_pro(), name=PRO, product="DELTA Pro")
        store = Store()
        runtime = await run([config(cloud, name=PRO, serial=PRO, interval="100ms")], store)
        try:
            await wait_for(lambda: (state := store.get(PRO)) is not None and state.up)
            text = render(store)
        finally:
            await runtime.stop()
        promtool_check(text)
        found = samples(text)
        labels = (
            ("device", PRO),
            ("device_general_key", "ecoflow_ps_delta_pro_3600"),
            ("device_name", "DELTA Pro-1234"),
            ("product_name", "DELTA Pro"),
        )
        assert found[("ecoflow_online", labels)] == 1
        assert found[("ecoflow_bms_master_soc", labels)] == 38
        assert found[("ecoflow_inv_output_watts", labels)] == 155
        assert found[("ecoflow_pd_watts_out_sum_value", labels)] == 155
        assert found[("power_battery_charge_ratio", (("device", PRO),))] == 0.37820835
        assert found[("power_output_power_watts", (("device", PRO),))] == 155
        assert found[("power_status", (("device", PRO), ("flag", "discharging")))] == 1
        assert found[("power_status", (("device", PRO), ("flag", "charging")))] == 0
        # the seed's label order: device, device_name, product_name, device_general_key
        assert (
            'ecoflow_online{device="DCABZ8ZE1234",device_name="DELTA Pro-1234",'
            'product_name="DELTA Pro",device_general_key="ecoflow_ps_delta_pro_3600"} 1\n'
        ) in text

    async def test_offline_keeps_only_ecoflow_online(self, cloud: FakeCloud) -> None:
        """Offline: the series go, ecoflow_online 0 and power_device_up 0 stay."""
        cloud.add(DELTA2, data.delta2max())
        cloud.add(PRO, data.delta_pro())
        store = Store()
        cfg = config(cloud, serial="*", interval="100ms", device_list_cache_ttl="100ms")
        runtime = await run([cfg], store)
        name = f"station/{DELTA2}"
        try:
            await wait_for(lambda: (state := store.get(name)) is not None and state.up)
            await wait_for(lambda: (state := store.get(f"station/{PRO}")) is not None and state.up)
            promtool_check(render(store))
            cloud.devices[DELTA2].online = 0
            await wait_for(lambda: not store.get(name).up)  # type: ignore[union-attr]
            text = render(store)
        finally:
            await runtime.stop()
        promtool_check(text)
        found = samples(text)
        mine = {key: value for key, value in found.items() if ("device", name) in key[1]}
        assert mine[("power_device_up", (("device", name),))] == 0
        online = [value for (metric, _), value in mine.items() if metric == "ecoflow_online"]
        assert online == [0]
        assert not [metric for (metric, _) in mine if metric.startswith("ecoflow_bms")]
        assert ("power_battery_charge_ratio", (("device", name),)) not in mine
        assert (
            mine[("power_exporter_read_errors_total", (("device", name), ("reason", "offline")))]
            >= 1
        )
        other = f"station/{PRO}"
        assert found[("power_device_up", (("device", other),))] == 1

    async def test_refusal_is_counted_and_logged(
        self, cloud: FakeCloud, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A wrong secret: down, reason auth counted, EcoFlow's code and the clock hint logged."""
        cloud.add(PRO, data.delta_pro())
        store = Store()
        runtime = await run(
            [config(cloud, serial=PRO, secret_key="wrong", interval="100ms")], store
        )
        try:
            await wait_for(
                lambda: (state := store.get("station")) is not None and bool(state.errors)
            )
            text = render(store)
        finally:
            await runtime.stop()
        promtool_check(text)
        found = samples(text)
        assert found[("power_device_up", (("device", "station"),))] == 0
        errors = ("power_exporter_read_errors_total", (("device", "station"), ("reason", "auth")))
        assert found[errors] >= 1
        assert "EcoFlow error 8521" in caplog.text
        assert "clock" in caplog.text


class TestPacksAndEnergy:
    """Battery packs as ``battery`` labels and energy counters, through the whole core."""

    async def test_delta2max_packs_and_energy(self, cloud: FakeCloud) -> None:
        """DELTA 2 Max with two extra batteries (real dump): three packs, energy in joules."""
        serial = "R351ZEB4HF3A0360"
        cloud.add(serial, data.delta2max())
        store = Store()
        runtime = await run([config(cloud, name="big", serial=serial, interval="100ms")], store)
        try:
            await wait_for(lambda: (state := store.get("big")) is not None and state.up)
            text = render(store)
        finally:
            await runtime.stop()
        promtool_check(text)
        found = samples(text)
        device = ("device", "big")
        charge = {
            battery: found[("power_battery_pack_charge_ratio", (("battery", battery), device))]
            for battery in ("0", "1", "2")
        }
        assert charge == {"0": 0.835, "1": 0.818, "2": 0.67}
        assert found[("power_battery_pack_cycles", (("battery", "2"), device))] == 108
        assert found[("power_battery_pack_voltage_volts", (("battery", "1"), device))] == 53.672
        assert found[("power_battery_pack_health_ratio", (("battery", "0"), device))] == 0.97
        assert found[("power_battery_pack_temperature_celsius", (("battery", "2"), device))] == 28
        assert found[("power_input_energy_joules_total", (device,))] == (713540 + 21830) * 3600.0
        assert found[("power_output_energy_joules_total", (device,))] == (51358 + 9763) * 3600.0
        assert "# TYPE power_input_energy_joules_total counter" in text
