"""The shipped alert rules: promtool's checks, a firing and a quiet case each, the k8s copy."""

from __future__ import annotations

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
    from pathlib import Path

REQUIRED = {
    "PowerDeviceDown",
    "PowerOnBattery",
    "PowerLowBattery",
    "PowerRuntimeLow",
    "PowerReplaceBattery",
    "PowerOverload",
    "PowerDataStale",
    "PowerChargeFallingFast",
}
CONTRACT = frozenset(spec.name for spec in contract.ORDERED)


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("promtool", install="apt-get install prometheus")
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def test_the_required_alerts_exist() -> None:
    """Exactly the alerts the project promises, each with a severity and a summary."""
    found = {rule["alert"]: rule for rule in rules()}
    assert set(found) == REQUIRED
    for rule in found.values():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_rules_use_contract_metrics_only() -> None:
    """Rules name normalized families only, so they hold for every kind of device."""
    for rule in rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= CONTRACT, f"{rule['alert']}: {names - CONTRACT}"


def test_promtool_check_rules() -> None:
    """The file passes `promtool check rules`."""
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(REQUIRED)} rules found" in result.stdout


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
    for group in data["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == alert:
                rule["expr"] = mutant
    (tmp_path / "deploy" / "prometheus").mkdir(parents=True)
    (tmp_path / "deploy" / "prometheus" / "alerts.yml").write_text(yaml.safe_dump(data))
    (tmp_path / "tests" / "ops").mkdir(parents=True)
    shutil.copy(ALERTS_TEST, tmp_path / "tests" / "ops" / "alerts_test.yml")
    result = promtool("test", "rules", str(tmp_path / "tests" / "ops" / "alerts_test.yml"))
    assert result.returncode != 0, f"{alert} {why}, and the unit tests did not notice"
    assert f"alertname: {alert}" in result.stdout + result.stderr


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
