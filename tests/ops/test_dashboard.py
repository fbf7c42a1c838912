"""The Grafana dashboard: normalized metrics only, valid PromQL, a fleet and a device view."""

from __future__ import annotations

import json
import re
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from power_exporter.exposition import contract
from tests.ops.paths import DASHBOARD
from tests.ops.promql import metric_names
from tests.peers import require_binary

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CONTRACT = frozenset(spec.name for spec in (*contract.ORDERED, contract.BUILD_INFO))
# Grafana variables -> something PromQL accepts, to check the queries' syntax.
VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$job": ".*",
    "$device": ".*",
}
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.*),\s*(?P<label>[A-Za-z_]\w*)\)$")


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable's selector."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = _LABEL_VALUES.match(variable["query"]["query"])
            assert match, f"variable {variable['name']} is not label_values(selector, label)"
            yield f"variable {variable['name']}", match.group("selector")


class TestDashboard:
    """deploy/grafana/power-exporter.json."""

    def test_only_contract_metrics(self) -> None:
        """Every metric a query names is a normalized family of the contract."""
        for where, expr in expressions(load()):
            names = metric_names(expr)
            assert names, f"{where}: no metric in {expr!r}"
            assert names <= CONTRACT, f"{where}: not in the contract: {names - CONTRACT}"

    def test_covers_every_measure(self) -> None:
        """Every normalized measure, the status flags and the device's state have a panel."""
        used = set().union(*(metric_names(expr) for _, expr in expressions(load())))
        wanted = {spec.name for spec in contract.MEASURES.values()}
        wanted |= {contract.UP.name, contract.INFO.name, contract.STATUS.name}
        wanted |= {contract.LAST_SEEN.name}
        assert wanted - used == set()

    def test_fleet_and_device_views(self) -> None:
        """A device variable (multi, all) drives a repeated per-device row; a fleet row exists."""
        dashboard = load()
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        device = variables["device"]
        assert device["multi"]
        assert device["includeAll"]
        rows = [p for p in dashboard["panels"] if p["type"] == "row"]
        assert [r["title"] for r in rows] == ["Fleet", "Device $device"]
        assert rows[1]["repeat"] == "device"
        after_device_row = dashboard["panels"][dashboard["panels"].index(rows[1]) + 1 :]
        for panel in after_device_row:
            for target in panel["targets"]:
                assert 'device=~"$device"' in target["expr"], panel["title"]

    def test_layout(self) -> None:
        """Unique panel ids, every panel inside Grafana's 24 columns, the templated datasource."""
        dashboard = load()
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids))
        for panel in panels(dashboard):
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, panel["title"]
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert dashboard["uid"] == "power-exporter"

    def test_queries_parse(self, tmp_path: Path) -> None:
        """Every query, with Grafana's variables filled in, is valid PromQL to promtool."""
        promtool = require_binary("promtool", install="apt-get install prometheus")
        rules = []
        for index, (where, expr) in enumerate(expressions(load())):
            for variable in sorted(VARIABLES, key=len, reverse=True):
                expr = expr.replace(variable, VARIABLES[variable])  # noqa: PLW2901
            assert "$" not in expr, f"{where}: unknown variable in {expr!r}"
            rules.append({"record": f"dashboard:query_{index}", "expr": expr})
        path = tmp_path / "dashboard-rules.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
        result = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"SUCCESS: {len(rules)} rules found" in result.stdout


@pytest.mark.parametrize("bad", ["power_battery_charge_percent", "network_ups_tools_ups_load"])
def test_contract_check_catches_strangers(bad: str) -> None:
    """A raw or misspelt family would not pass the contract check."""
    assert not metric_names(f'avg({bad}{{device=~"$device"}})') <= CONTRACT
