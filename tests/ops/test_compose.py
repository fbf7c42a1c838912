"""deploy/compose: the compose file and the Prometheus, Alertmanager and Grafana files it mounts."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import yaml

from tests.ops.paths import ALERTS, COMPOSE, ROOT
from tests.peers import require_binary

MATCHER = re.compile(r'(?P<label>\w+)\s*(?P<op>=~|=)\s*"?(?P<value>[^"]*)"?')
SERVICES = {"power-exporter": 9860, "prometheus": 9090, "alertmanager": 9093, "grafana": 3000}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def mounts(service: str) -> dict[str, str]:
    """Container path -> host path (relative to the compose file) of the bind mounts."""
    out = {}
    for volume in compose()["services"][service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            out[target] = source
    return out


def host_file(service: str, container_path: str) -> str:
    return (COMPOSE.parent / mounts(service)[container_path]).read_text(encoding="utf-8")


def test_services_and_ports() -> None:
    """The four services, each publishing its usual port."""
    services = compose()["services"]
    assert set(services) == set(SERVICES)
    for name, port in SERVICES.items():
        assert f"{port}:{port}" in services[name]["ports"], name


def test_bind_mounts_exist() -> None:
    """Every file or directory mounted from the repository is there."""
    for service in SERVICES:
        for target, source in mounts(service).items():
            assert (COMPOSE.parent / source).exists(), f"{service}: {source} -> {target}"


def test_exporter_is_built_here_and_confined() -> None:
    """The exporter image builds from this repository's Dockerfile and runs read-only."""
    exporter = compose()["services"]["power-exporter"]
    context = COMPOSE.parent / exporter["build"]["context"]
    assert (context / exporter["build"]["dockerfile"]).is_file()
    assert exporter["read_only"] is True
    assert exporter["cap_drop"] == ["ALL"]
    config_arg = exporter["command"][exporter["command"].index("--config") + 1]
    mounted = next(t for t in mounts("power-exporter") if config_arg.startswith(t))
    assert (
        COMPOSE.parent / mounts("power-exporter")[mounted] / config_arg.removeprefix(mounted + "/")
    ).is_file()


def test_docker_compose_config() -> None:
    """docker-compose validates the file against the compose schema."""
    binary = require_binary("docker-compose", install="apt-get install docker-compose")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=COMPOSE.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config(tmp_path: Any) -> None:
    """Promtool accepts prometheus.yml; its rule file and targets are what compose provides."""
    promtool = require_binary("promtool", install="apt-get install prometheus")
    text = host_file("prometheus", "/etc/prometheus/prometheus.yml")
    config = yaml.safe_load(text)
    (rule_file,) = config["rule_files"]
    assert (COMPOSE.parent / mounts("prometheus")[rule_file]).resolve() == ALERTS
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["power"]["static_configs"][0]["targets"] == ["power-exporter:9860"]
    probe = jobs["power-probe"]
    assert probe["metrics_path"] == "/probe"
    assert probe["honor_labels"] is True
    assert probe["http_sd_configs"][0]["url"] == "http://power-exporter:9860/sd"
    local = tmp_path / "prometheus.yml"
    local.write_text(text.replace(rule_file, str(ALERTS)))
    result = subprocess.run(
        [promtool, "check", "config", str(local)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config() -> None:
    """Amtool accepts alertmanager.yml, and its inhibit rules name alerts that exist."""
    amtool = require_binary("amtool", install="apt-get install prometheus-alertmanager")
    path = COMPOSE.parent / mounts("alertmanager")["/etc/alertmanager/alertmanager.yml"]
    result = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    alerts = {r["alert"] for g in groups for r in g["rules"] if "alert" in r}
    for rule in yaml.safe_load(path.read_text())["inhibit_rules"]:
        for matcher in (*rule["source_matchers"], *rule["target_matchers"]):
            found = MATCHER.fullmatch(matcher)
            assert found, matcher
            assert found["label"] == "alertname", matcher
            names = found["value"].split("|") if found["op"] == "=~" else [found["value"]]
            for name in names:
                assert name in alerts, matcher


def test_grafana_provisioning() -> None:
    """The datasource is the prometheus service; the dashboard is where the provider looks."""
    datasources = yaml.safe_load(
        host_file("grafana", "/etc/grafana/provisioning/datasources/power-exporter.yml")
    )
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        host_file("grafana", "/etc/grafana/provisioning/dashboards/power-exporter.yml")
    )
    (provider,) = providers["providers"]
    dashboards = [t for t in mounts("grafana") if t.endswith(".json")]
    assert dashboards
    for target in dashboards:
        assert target.rsplit("/", 1)[0] == provider["options"]["path"]
        assert (
            COMPOSE.parent / mounts("grafana")[target]
        ).resolve() == ROOT / "deploy" / "grafana" / "power-exporter.json"
