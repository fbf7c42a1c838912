"""End to end: a real Prometheus probes 10 UPSes of a real upsd through /sd + /probe for 60 s.

The exporter runs as a process with one ``ups: "*"`` entry; Prometheus discovers the ten
devices through ``/sd`` and scrapes ``/probe?target=`` for each every 2 s with a 1 s
timeout. After 60 s, PromQL over that window must show every scrape within its timeout
(``scrape_duration_seconds`` < 1 s), no failed scrape (``up`` never 0) and every device up.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, Final

import pytest
import yaml

from tests.e2e.test_prometheus import Prometheus, fetch, free_port, running, wait_for
from tests.peers import require_binary
from tests.peers.upsd import Upsd
from tests.sources.nut.conftest import DUMPS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

UPSES: Final = [f"u{n}" for n in range(10)]
WINDOW: Final = 60  # seconds of scraping the issue asks for
INTERVAL: Final = 2
TIMEOUT: Final = 1
JOB: Final = "power-probe"


@pytest.fixture(scope="module")
def upsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upsd]:
    """A real upsd with ten dummy-ups drivers replaying nut-ddl dumps."""
    server = Upsd(tmp_path_factory.mktemp("u"), dict(zip(UPSES, DUMPS.values(), strict=False)))
    try:
        yield server.start()
    finally:
        server.stop()


def exporter_config(tmp: Path, upsd: Upsd) -> Path:
    path = tmp / "power.yaml"
    device = {"name": "lab", "source": "nut", "server": upsd.server, "ups": "*", "interval": "5s"}
    path.write_text(yaml.safe_dump({"devices": [device]}))
    return path


def prometheus_config(exporter: str) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": f"{INTERVAL}s", "scrape_timeout": f"{TIMEOUT}s"},
        "scrape_configs": [
            {
                "job_name": JOB,
                "metrics_path": "/probe",
                "honor_labels": True,
                "http_sd_configs": [{"url": f"http://{exporter}/sd", "refresh_interval": "5s"}],
            },
        ],
    }


def test_sixty_seconds_of_probes_within_their_timeout(
    upsd: Upsd, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """10 UPSes, 60 s: every probe scrape under its 1 s timeout, none failed, all up."""
    prometheus = require_binary("prometheus", install="apt-get install prometheus")
    tmp = tmp_path_factory.mktemp("e2e-probe")
    exporter = f"127.0.0.1:{free_port()}"
    binary = os.path.join(os.path.dirname(sys.executable), "power-exporter")  # noqa: PTH118, PTH120
    command = [binary, "serve", "--config", str(exporter_config(tmp, upsd)), "--listen", exporter]
    with running(command, tmp / "exporter.log") as process:
        wait_for(
            "ten devices in /sd",
            lambda: fetch(f"http://{exporter}/sd").count("lab/") >= 10,
            process,
        )
        config = tmp / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(exporter)))
        api = f"127.0.0.1:{free_port()}"
        server_command = [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address={api}",
            "--log.level=warn",
        ]
        with running(server_command, tmp / "prometheus.log") as server:
            client = Prometheus(f"http://{api}")
            wait_for("Prometheus to answer", lambda: fetch(f"http://{api}/-/ready"), server)
            wait_for(
                "ten probe targets scraped",
                lambda: len(client.query(f'up{{job="{JOB}"}}')) == len(UPSES),
                server,
            )
            started = time.monotonic()
            while time.monotonic() - started < WINDOW:
                assert process.poll() is None, "the exporter exited"
                time.sleep(1)
            window = f"[{WINDOW}s]"
            slowest = client.by_job_and_device(
                f'max_over_time(scrape_duration_seconds{{job="{JOB}"}}{window})'
            )
            lowest_up = client.by_job_and_device(f'min_over_time(up{{job="{JOB}"}}{window})')
            scrapes = client.by_job_and_device(f'count_over_time(up{{job="{JOB}"}}{window})')
            device_up = client.by_job_and_device(
                f'min_over_time(power_device_up{{job="{JOB}"}}{window})'
            )
    devices = {(JOB, f"lab/{ups}") for ups in UPSES}
    assert set(slowest) == devices
    assert all(seconds < TIMEOUT for seconds in slowest.values()), slowest
    assert all(value == 1 for value in lowest_up.values()), lowest_up
    # Every 2 s over 60 s: about 30 scrapes per target; fewer than 25 means scrapes went missing.
    assert all(count >= WINDOW / INTERVAL - 5 for count in scrapes.values()), scrapes
    assert device_up == dict.fromkeys(devices, 1.0)
