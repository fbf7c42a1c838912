"""The shipped alert rules: promtool's checks, every alert and scenario as a case, the k8s copy."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from power_exporter.exposition import contract
from tests.ops.paths import ALERTS, ALERTS_TEST, KUBERNETES, ROOT
from tests.ops.promql import metric_names
from tests.peers import require_binary

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

REQUIRED = {
    "PowerExporterDown",
    "PowerExporterAbsent",
    "PowerDeviceDown",
    "PowerDeviceFlapping",
    "PowerOnBattery",
    "PowerLowBattery",
    "PowerRuntimeLow",
    "PowerShutdownImminent",
    "PowerOutputOff",
    "PowerBypass",
    "PowerOverload",
    "PowerReplaceBattery",
    "PowerBatteryTemperatureHigh",
    "PowerBatteryHealthLow",
    "PowerChargeFallingFast",
    "PowerBatteryPackTemperatureHigh",
    "PowerBatteryPackHealthLow",
    "PowerDeviceError",
}
# Rules about the exporter's scrape targets rather than a device.
EXPORTER_ALERTS = {"PowerExporterDown", "PowerExporterAbsent"}
# The scenarios of issue 22's "done when", each a group of tests/ops/alerts_test.yml.
SCENARIOS = {
    "scenario: the exporter dies while a UPS is on battery",
    "scenario: a device goes dark on battery, and DeviceDown takes over",
    "scenario: a device fails every other minute for an hour",
    "scenario: a UPS recharging on mains at 15 %, and a heavily loaded UPS on mains",
    "scenario: runtime falls at a realistic rate",
    "scenario: both jobs scrape the same devices",
    "scenario: a power station reports an inverter error for ten minutes",
}
CONTRACT = frozenset(spec.name for spec in contract.ORDERED)
RUNBOOKS = ROOT / "docs" / "runbooks.md"
ALERTS_DOC = ROOT / "docs" / "alerts.md"


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def recorded() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text."""
    found = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("promtool", install="apt-get install prometheus")
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def test_the_required_alerts_exist() -> None:
    """Exactly the alerts the project promises, each with a severity and its annotations."""
    found = alerts()
    assert set(found) == REQUIRED
    for name, rule in found.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url", "dashboard"}
        assert rule["annotations"]["dashboard"].startswith("/d/power-exporter/"), name


def test_device_alerts_are_one_per_device() -> None:
    """Every device alert aggregates by device: a device scraped by two jobs fires once."""
    for name, rule in alerts().items():
        if name in EXPORTER_ALERTS:
            continue
        expr = rule["expr"]
        assert "by (device" in expr or expr.startswith("device:"), name
        assert " by (job" not in expr, name
        summary = rule["annotations"]["summary"]
        assert "$labels.device" in summary, name
        assert "Labels.instance" in summary, f"{name}: the summary names no instance"
        assert "var-device={{ $labels.device }}" in rule["annotations"]["dashboard"], name


def test_runbook_and_design_doc_for_every_alert() -> None:
    """runbook_url points at a heading of docs/runbooks.md; docs/alerts.md explains each."""
    runbook_anchors = anchors(RUNBOOKS.read_text(encoding="utf-8"))
    design = ALERTS_DOC.read_text(encoding="utf-8")
    for name, rule in alerts().items():
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/runbooks.md", name
        assert anchor == name.lower(), name
        assert anchor in runbook_anchors, f"{name}: no heading {anchor} in docs/runbooks.md"
        assert f"`{name}`" in design, f"{name} is not explained in docs/alerts.md"


def test_rules_use_contract_metrics_only() -> None:
    """Rules name normalized families (or their own recordings) only, and `up` for the exporter."""
    allowed = CONTRACT | recorded() | {"up"}
    for rule in rules():
        where = rule.get("alert") or rule["record"]
        names = metric_names(rule["expr"])
        assert names, where
        assert names <= allowed, f"{where}: {names - allowed}"
        if rule.get("alert") not in EXPORTER_ALERTS:
            assert "up" not in names, where


def test_promtool_check_rules() -> None:
    """The file passes `promtool check rules`."""
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_promtool_test_rules() -> None:
    """tests/ops/alerts_test.yml passes `promtool test rules`."""
    result = promtool("test", "rules", str(ALERTS_TEST))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    """For each alert, one evaluation expects it firing and another expects nothing."""
    data = yaml.safe_load(ALERTS_TEST.read_text(encoding="utf-8"))
    cases: dict[str, list[bool]] = {}
    for test in data["tests"]:
        for case in test["alert_rule_test"]:
            cases.setdefault(case["alertname"], []).append(bool(case["exp_alerts"]))
    assert set(cases) == REQUIRED
    for alert, fires in cases.items():
        assert True in fires, f"{alert} has no firing case"
        assert False in fires, f"{alert} has no quiet case"


def test_every_scenario_is_a_case() -> None:
    """Each incident scenario the rules were designed against is replayed in the unit tests."""
    data = yaml.safe_load(ALERTS_TEST.read_text(encoding="utf-8"))
    names = {test.get("name") for test in data["tests"]}
    assert names >= SCENARIOS


def _mutated_run(tmp_path: Path, data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "deploy" / "prometheus").mkdir(parents=True)
    (tmp_path / "deploy" / "prometheus" / "alerts.yml").write_text(yaml.safe_dump(data))
    (tmp_path / "tests" / "ops").mkdir(parents=True)
    shutil.copy(ALERTS_TEST, tmp_path / "tests" / "ops" / "alerts_test.yml")
    return promtool("test", "rules", str(tmp_path / "tests" / "ops" / "alerts_test.yml"))


def _rule(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        rule
        for group in data["groups"]
        for rule in group["rules"]
        if name in {rule.get("alert"), rule.get("record")}
    )
    return found


@pytest.mark.parametrize("alert", sorted(REQUIRED))
@pytest.mark.parametrize(
    ("mutant", "why"),
    [("vector(0) == 1", "never fires"), ("vector(1)", "always fires")],
)
def test_the_unit_tests_catch_a_broken_rule(
    tmp_path: Path, alert: str, mutant: str, why: str
) -> None:
    """Replacing one alert's expression by one that never (or always) fires fails the tests."""
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    _rule(data, alert)["expr"] = mutant
    result = _mutated_run(tmp_path, data)
    assert result.returncode != 0, f"{alert} {why}, and the unit tests did not notice"
    assert f"alertname: {alert}" in result.stdout + result.stderr


def _forget_last_values(data: dict[str, Any]) -> str:
    for name in ("device:power_status:last", "device:power_battery_runtime_seconds:last"):
        rule = _rule(data, name)
        rule["expr"] = rule["expr"].split("\n  or\n")[0].split("\n")[0]
    return "PowerOnBattery"


def _drop_keep_firing(data: dict[str, Any]) -> str:
    del _rule(data, "PowerDeviceDown")["keep_firing_for"]
    return "PowerDeviceDown"


def _per_job(data: dict[str, Any]) -> str:
    rule = _rule(data, "PowerDeviceDown")
    rule["expr"] = "power_device_up == 0"
    return "PowerDeviceDown"


def _ungated_low_battery(data: dict[str, Any]) -> str:
    rule = _rule(data, "PowerLowBattery")
    rule["expr"] = rule["expr"].split("and on (device)")[0].strip().removeprefix("(")[:-1]
    return "PowerLowBattery"


def _late_runtime(data: dict[str, Any]) -> str:
    rule = _rule(data, "PowerRuntimeLow")
    rule["expr"] = rule["expr"].replace("< 600", "< 300")
    return "PowerRuntimeLow"


@pytest.mark.parametrize(
    "mutate",
    [_forget_last_values, _drop_keep_firing, _per_job, _ungated_low_battery, _late_runtime],
)
def test_the_scenarios_catch_the_old_design(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], str]
) -> None:
    """Each flaw the issue found (no last values, per-job alerts, paging on mains...) fails."""
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    alert = mutate(data)
    check = promtool("check", "rules", str(_write(tmp_path / "check.yml", data)))
    assert check.returncode == 0, check.stdout + check.stderr
    result = _mutated_run(tmp_path, data)
    assert result.returncode != 0, f"{mutate.__name__}: the unit tests did not notice"
    assert f"alertname: {alert}" in result.stdout + result.stderr


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class TestPrometheusRule:
    """deploy/kubernetes/prometheusrule.yaml carries the same rules."""

    def test_same_groups(self) -> None:
        """The PrometheusRule's spec.groups equal alerts.yml's groups."""
        rule = yaml.safe_load((KUBERNETES / "prometheusrule.yaml").read_text(encoding="utf-8"))
        alerts = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
        assert rule["apiVersion"] == "monitoring.coreos.com/v1"
        assert rule["kind"] == "PrometheusRule"
        assert rule["spec"]["groups"] == alerts["groups"]

    def test_generator_is_up_to_date(self) -> None:
        """scripts/gen-prometheusrule --check finds nothing to regenerate."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "gen-prometheusrule"), "--check"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
