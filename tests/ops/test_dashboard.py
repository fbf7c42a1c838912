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

CONTRACT = frozenset(spec.name for spec in (*contract.ORDERED, contract.BUILD_INFO, contract.TASKS))
# Series Prometheus itself writes for every target: the exporter's own health.
PROMETHEUS = frozenset({"up", "scrape_duration_seconds"})
# Families a panel may name before they are in the contract (none since issue 13 landed the
# labelled families power_outlet_*{outlet} and power_*_phase_*{phase}).
PENDING: frozenset[str] = frozenset()
ALLOWED = CONTRACT | PROMETHEUS | PENDING
# Grafana variables -> something PromQL accepts, to check the queries' syntax.
VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range_s": "3600",
    "$__range": "1h",
    "$job": ".*",
    "$instance": ".*",
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
        """Every metric a query names is a family of the contract (or Prometheus's `up`...)."""
        for where, expr in expressions(load()):
            names = metric_names(expr)
            assert names, f"{where}: no metric in {expr!r}"
            assert names <= ALLOWED, f"{where}: not in the contract: {names - ALLOWED}"

    def test_covers_every_measure(self) -> None:
        """Every normalized measure, the status flags and the device's state have a panel."""
        used = set().union(*(metric_names(expr) for _, expr in expressions(load())))
        wanted = {spec.name for spec in contract.MEASURES.values()}
        wanted |= {contract.UP.name, contract.INFO.name, contract.STATUS.name}
        wanted |= {contract.LAST_SEEN.name}
        assert wanted - used == set()

    def test_fleet_exporter_and_device_views(self) -> None:
        """Multi-select job, instance and device; fleet and exporter rows; a repeated device row."""
        dashboard = load()
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for name in ("job", "instance", "device"):
            assert variables[name]["multi"], name
            assert variables[name]["includeAll"], name
            assert "allValue" not in variables[name], f"{name}: All would match foreign jobs"
        assert "$job" in variables["instance"]["query"]["query"]
        assert "$instance" in variables["device"]["query"]["query"]
        rows = [p for p in dashboard["panels"] if p["type"] == "row"]
        assert [r["title"] for r in rows] == ["Fleet", "Exporter", "Device $device"]
        assert rows[2]["repeat"] == "device"
        after_device_row = dashboard["panels"][dashboard["panels"].index(rows[2]) + 1 :]
        for panel in after_device_row:
            for target in panel["targets"]:
                assert 'device=~"$device"' in target["expr"], panel["title"]
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                expr = target["expr"]
                assert 'job=~"$job"' in expr, panel["title"]
                assert 'instance=~"$instance"' in expr, panel["title"]

    def test_devices_count_once_across_jobs(self) -> None:
        """Every query over device series aggregates by device (or finer), never sums jobs."""
        for panel in panels(load()):
            for target in panel.get("targets", []):
                names = metric_names(target["expr"])
                if names & (PROMETHEUS | {contract.BUILD_INFO.name, contract.TASKS.name}):
                    continue
                assert " by (" in target["expr"], f"{panel['title']}: {target['expr']}"

    def test_down_devices_show_last_values_marked(self) -> None:
        """Charge, runtime, load and health show the last known value, named so, when down."""
        by_title = {panel["title"]: panel for panel in panels(load())}
        for title in ("Charge", "Runtime", "Load", "Battery health"):
            live, stale = by_title[title]["targets"]
            assert "last_over_time" not in live["expr"]
            assert "last_over_time" in stale["expr"]
            assert "unless on (device)" in stale["expr"], "stale only while the live one is gone"
            assert "last known" in stale["legendFormat"]
            (override,) = by_title[title]["fieldConfig"]["overrides"]
            assert override["matcher"] == {"id": "byFrameRefID", "options": stale["refId"]}

    def test_units_and_panels(self) -> None:
        """Rates have a per-second unit, and round two's panels are there."""
        by_title = {panel["title"]: panel for panel in panels(load())}
        for panel in by_title.values():
            unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
            exprs = [t["expr"] for t in panel.get("targets", [])]
            if exprs and exprs[0].startswith("sum by (reason) (rate("):
                assert unit == "cps", panel["title"]
        wanted = {"Time on battery", "Transfers to battery", "Energy per day", "Charge per day"}
        wanted |= {"Outlet power", "Input power by phase", "Input voltage", "Exporter targets"}
        wanted |= {"Scrape duration", "Read errors by reason"}
        assert wanted <= set(by_title)
        legends = [t["legendFormat"] for p in panels(load()) for t in p.get("targets", [])]
        assert not [legend for legend in legends if legend.startswith("charge counter")]

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


def panel_expr(title: str, ref: str = "A") -> str:
    """A panel's query with the dashboard's variables set to 'All' and a range of an hour."""
    (panel,) = [p for p in panels(load()) if p["title"] == title]
    (target,) = [t for t in panel["targets"] if t["refId"] == ref]
    expr: str = target["expr"]
    for variable in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace(variable, VARIABLES[variable])
    return expr


def test_queries_mean_what_they_say(tmp_path: Path) -> None:
    """Two jobs, one down UPS: counted once, transfers counted, its last charge marked stale.

    promtool evaluates the panels' queries over series of two jobs scraping the same UPSes
    (and a station's error codes: one series per component, whichever job scraped it).
    """
    promtool = require_binary("promtool", install="apt-get install prometheus")
    series = []
    for job, instance in (("power", "exporter:9860"), ("power-probe", "exporter:9860")):
        labels = f'job="{job}",instance="{instance}"'
        series += [
            {"series": f'power_device_up{{{labels},device="ups-a"}}', "values": "1x9 0x10"},
            {"series": f'power_device_up{{{labels},device="ups-b"}}', "values": "1x19"},
            {"series": f'power_battery_charge_ratio{{{labels},device="ups-a"}}', "values": "0.5x9"},
            {"series": f'power_battery_charge_ratio{{{labels},device="ups-b"}}', "values": "1x19"},
            {
                "series": f'power_status{{{labels},device="ups-b",flag="on_battery"}}',
                "values": "0 1 1 0 0 1 0x13",
            },
            {
                "series": (
                    f'power_device_error_code{{{labels},device="station",component="inverter"}}'
                ),
                "values": "0x4 37x15",
            },
            {
                "series": (
                    f'power_device_error_code{{{labels},device="station",component="battery",'
                    'battery="1"}'
                ),
                "values": "0x19",
            },
        ]
    cases = [
        (5, panel_expr("Devices up"), [{"labels": "{}", "value": 2}]),
        (17, panel_expr("Devices down"), [{"labels": "{}", "value": 1}]),
        (10, panel_expr("Transfers to battery"), [{"labels": '{device="ups-b"}', "value": 2}]),
        (5, panel_expr("Charge", "B"), []),
        (17, panel_expr("Charge", "A"), [{"labels": '{device="ups-b"}', "value": 1}]),
        (17, panel_expr("Charge", "B"), [{"labels": '{device="ups-a"}', "value": 0.5}]),
        # one series per component (and pack), whichever job scraped it
        (
            10,
            panel_expr("Error and warning codes"),
            [
                {"labels": '{component="inverter"}', "value": 37},
                {"labels": '{battery="1",component="battery"}', "value": 0},
            ],
        ),
    ]
    (tmp_path / "none.yml").write_text("groups: []\n")
    test = {
        "rule_files": ["none.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {"expr": expr, "eval_time": f"{minute}m", "exp_samples": samples}
                    for minute, expr, samples in cases
                ],
            }
        ],
    }
    path = tmp_path / "dashboard_test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
