"""The shipped Grafana dashboard and alert rules, unchanged, for UPSes behind apcupsd.

A real Prometheus scrapes the exporter serving three real apcupsd daemons: a pcnet UPS on
battery with 4 minutes left, a UPS lost by apcupsd (COMMLOST, from a net-driver apcupsd whose
master stopped), and the test driver. Every dashboard query must run and the device panels
must show the apcupsd UPSes; each alert's expression must select the UPS it is about.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

import yaml

from tests.e2e.test_prometheus import Prometheus, fetch, free_port, running
from tests.ops.paths import ALERTS, DASHBOARD
from tests.peers import require_binary
from tests.served import serving
from tests.sources.apcupsd.conftest import apcupsd_config
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.peers.apcupsd import Apcupsd
    from tests.served import Served

JOB = "power"
# Panels of the device view that must show an apcupsd UPS (by the metric their query reads).
DEVICE_METRICS = (
    "power_device_up",
    "power_battery_charge_ratio",
    "power_battery_runtime_seconds",
    "power_input_voltage_volts",
    "power_load_ratio",
    "power_status",
)


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every panel target."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"])
        for row in dashboard["panels"]
        for panel in (row, *row.get("panels", []))
        for target in panel.get("targets", [])
    ]


def alert_rules() -> dict[str, str]:
    """Alert name -> expression."""
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return {r["alert"]: r["expr"] for g in data["groups"] for r in g["rules"] if "alert" in r}


async def wait_query(client: Prometheus, expr: str, check: Callable[[list[Any]], bool]) -> None:
    """Poll Prometheus until the query's result passes ``check`` (30 s at most)."""
    deadline = asyncio.get_running_loop().time() + 30
    result: list[Any] = []
    while asyncio.get_running_loop().time() < deadline:
        result = await asyncio.to_thread(client.query, expr)
        if check(result):
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{expr}: {result}")


def devices_in(result: list[Any]) -> set[str]:
    """The device labels of a query result."""
    return {sample["metric"].get("device", "") for sample in result}


async def test_dashboard_and_alerts(apcupsd: Callable[..., Apcupsd], tmp_path: Path) -> None:
    """Dashboard queries run and show the UPSes; OnBattery, RuntimeLow, DeviceDown select theirs."""
    prometheus = require_binary("prometheus", install="apt-get install prometheus")
    pcnet = apcupsd("pcnet", upsname="pcnet")
    values = {"x4C": "0.0", "x66": "35.0", "x6A": "0004:", "x50": "20.0"}
    pcnet.send_pcnet(0x10, x01="Smart-UPS 1500", **values)
    test = apcupsd("test", upsname="bench")
    master = apcupsd("test", upsname="master")
    slave = apcupsd("net", upsname="slave", device=master.server)
    await asyncio.to_thread(pcnet.wait_status, "STATUS", "ONBATT")
    await asyncio.to_thread(slave.wait_status, "STATUS", "ONLINE")
    master.stop()
    await asyncio.to_thread(slave.wait_status, "STATUS", "COMMLOST")
    devices = [
        apcupsd_config(name=name, server=daemon.server, interval="1s")
        for name, daemon in (("pc", pcnet), ("lab", test), ("far", slave))
    ]
    async with serving(devices) as served:
        await until(lambda: _up(served, "pc") and _up(served, "lab"), timeout=10)
        exporter = served.base.removeprefix("http://")
        config = tmp_path / "prometheus.yml"
        scrape = {"job_name": JOB, "static_configs": [{"targets": [exporter]}]}
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(ALERTS)],  # the alerts read its recording rules
                    "scrape_configs": [scrape],
                }
            )
        )
        api = f"127.0.0.1:{free_port()}"
        command = [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address={api}",
            "--log.level=warn",
        ]
        with running(command, tmp_path / "prometheus.log"):
            client = Prometheus(f"http://{api}")
            await _ready(client)
            await wait_query(
                client, "power_device_up", lambda r: devices_in(r) == {"pc", "lab", "far"}
            )
            await _check_dashboard(client)
            await _check_alerts(client)


def _selects(device: str) -> Callable[[list[Any]], bool]:
    def check(result: list[Any]) -> bool:
        return device in devices_in(result)

    return check


async def _ready(client: Prometheus) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(fetch, f"{client.base}/-/ready")
            return
        await asyncio.sleep(0.2)
    raise AssertionError("Prometheus did not get ready")


def _up(served: Served, device: str) -> bool:
    state = served.store.get(device)
    return state is not None and state.up


async def _check_dashboard(client: Prometheus) -> None:
    shown: dict[str, set[str]] = {}
    replacements = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
    replacements |= {"$__range_s": "3600", "$instance": ".*"}
    replacements |= {"$job": JOB, "$device": "pc|lab|far"}
    for title, expr in dashboard_queries():
        query = expr
        for variable in sorted(replacements, key=len, reverse=True):  # $__range_s first
            query = query.replace(variable, replacements[variable])
        result = await asyncio.to_thread(client.query, query)  # raises unless it runs
        for metric in DEVICE_METRICS:
            if metric in expr:
                shown.setdefault(metric, set()).update(devices_in(result))
        del title
    for metric in DEVICE_METRICS:
        assert "pc" in shown.get(metric, set()), f"no panel reading {metric} shows the pcnet UPS"
    assert "far" in shown["power_device_up"]


async def _check_alerts(client: Prometheus) -> None:
    rules = alert_rules()
    expected = {"PowerOnBattery": "pc", "PowerRuntimeLow": "pc", "PowerDeviceDown": "far"}
    for alert, device in expected.items():
        await wait_query(client, rules[alert], _selects(device))
    on_battery = devices_in(await asyncio.to_thread(client.query, rules["PowerOnBattery"]))
    assert on_battery == {"pc"}
    down = devices_in(await asyncio.to_thread(client.query, rules["PowerDeviceDown"]))
    assert down == {"far"}
