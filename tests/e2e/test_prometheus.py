"""End to end: a real Prometheus scrapes a real power-exporter, twice over.

The exporter runs the bundled demo config (replayed UPS dumps, no hardware) as a
subprocess. Prometheus, started by the test with a generated config, scrapes it through
``/metrics`` (every device at once) and through ``/probe?target=`` per device, the devices
discovered through ``/sd`` (http_sd). PromQL through Prometheus's HTTP API must then give
every device up through both jobs, with the values the exporter itself serves.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.paths import DASHBOARD, ROOT
from tests.peers import require_binary

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

DEMO = ROOT / "examples" / "demo.yaml"
DEADLINE = 30.0
EXPORTER_JOB = "power"
PROBE_JOB = "power-probe"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own loopback URLs)
        body: bytes = response.read()
        return body.decode()


def wait_for(
    what: str, check: Callable[[], Any], process: subprocess.Popen[str] | None = None
) -> Any:
    """Poll ``check`` until it returns something truthy, while ``process`` lives."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: the process exited with {process.returncode}")
        with contextlib.suppress(OSError, ValueError, KeyError):
            result = check()
            if result:
                return result
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {DEADLINE:.0f} s")


@contextlib.contextmanager
def running(command: list[str], log: Path) -> Iterator[subprocess.Popen[str]]:
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def exporter_command(port: int) -> list[str]:
    binary = os.path.join(os.path.dirname(sys.executable), "power-exporter")  # noqa: PTH118, PTH120
    return [binary, "serve", "--config", str(DEMO), "--listen", f"127.0.0.1:{port}"]


def prometheus_config(exporter: str) -> dict[str, Any]:
    """The two ways of scraping the exporter, as docs/deploy.md shows them."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": EXPORTER_JOB, "static_configs": [{"targets": [exporter]}]},
            {
                "job_name": PROBE_JOB,
                "metrics_path": "/probe",
                "honor_labels": True,
                "http_sd_configs": [{"url": f"http://{exporter}/sd", "refresh_interval": "5s"}],
            },
        ],
    }


class Prometheus:
    """The HTTP API of the Prometheus under test."""

    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        answer = json.loads(fetch(url))
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def by_job_and_device(self, expr: str) -> dict[tuple[str, str], float]:
        return {
            (s["metric"]["job"], s["metric"]["device"]): float(s["value"][1])
            for s in self.query(expr)
        }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, str, set[str]]]:
    """The exporter on the demo config and a Prometheus scraping it.

    Yields the Prometheus API, the exporter's address and the devices its /sd lists.
    """
    prometheus = require_binary("prometheus", install="apt-get install prometheus")
    assert DEMO.is_file(), "the bundled demo config examples/demo.yaml"
    tmp = tmp_path_factory.mktemp("e2e")
    exporter = f"127.0.0.1:{free_port()}"
    with running(
        exporter_command(int(exporter.rsplit(":", 1)[1])), tmp / "exporter.log"
    ) as process:
        devices = wait_for(
            "the exporter's /sd",
            lambda: {
                group["labels"]["device"] for group in json.loads(fetch(f"http://{exporter}/sd"))
            },
            process,
        )
        config = tmp / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(exporter)))
        api = f"127.0.0.1:{free_port()}"
        command = [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address={api}",
            "--log.level=warn",
        ]
        with running(command, tmp / "prometheus.log") as server:
            client = Prometheus(f"http://{api}")
            wait_for("Prometheus to answer", lambda: fetch(f"http://{api}/-/ready"), server)
            yield client, exporter, devices


def test_every_device_up_through_both_jobs(stack: tuple[Prometheus, str, set[str]]) -> None:
    """power_device_up == 1 for every demo device, via /metrics and via /probe."""
    client, _, devices = stack
    assert devices, "the demo config has devices"
    wanted = {(job, device) for job in (EXPORTER_JOB, PROBE_JOB) for device in devices}

    def all_up() -> dict[tuple[str, str], float] | None:
        found = client.by_job_and_device("power_device_up")
        return found if set(found) >= wanted and all(found[k] == 1 for k in wanted) else None

    found = wait_for("every device up in Prometheus", all_up)
    assert set(found) == wanted
    probe_targets = client.query(f'up{{job="{PROBE_JOB}"}}')
    assert {s["metric"]["device"] for s in probe_targets} == devices
    assert all(s["value"][1] == "1" for s in probe_targets)


def test_no_label_clash(stack: tuple[Prometheus, str, set[str]]) -> None:
    """honor_labels keeps the exposition's `device`: no series gets an `exported_device`."""
    client, _, _ = stack
    assert client.query('{__name__=~"power_.+", exported_device!=""}') == []


def test_values_match_the_exporter(stack: tuple[Prometheus, str, set[str]]) -> None:
    """Battery charge in Prometheus equals what the exporter's /metrics serves, per device."""
    client, exporter, _ = stack
    served = {}
    for family in text_string_to_metric_families(fetch(f"http://{exporter}/metrics")):
        if family.name == "power_battery_charge_ratio":
            served = {s.labels["device"]: s.value for s in family.samples}
    assert served, "the demo devices report a battery charge"
    found = client.by_job_and_device("power_battery_charge_ratio")
    for device, value in served.items():
        assert math.isclose(found[(EXPORTER_JOB, device)], value), device
        assert math.isclose(found[(PROBE_JOB, device)], value), device


def test_dashboard_queries_run(stack: tuple[Prometheus, str, set[str]]) -> None:
    """Every dashboard query runs in this Prometheus; the fleet's 'Devices up' counts them all."""
    client, _, devices = stack
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    replacements = {
        "$__rate_interval": "1m",
        "$__range_s": "3600",
        "$__range": "1h",
        "$job": f"{EXPORTER_JOB}|{PROBE_JOB}",
        "$instance": ".*",
        "$device": ".*",
    }
    for panel in (p for row in dashboard["panels"] for p in (row, *row.get("panels", []))):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in replacements.items():
                expr = expr.replace(variable, value)
            result = client.query(expr)
            if panel["title"] == "Devices up":
                # Both jobs scrape every device: each still counts once.
                assert float(result[0]["value"][1]) == len(devices)
