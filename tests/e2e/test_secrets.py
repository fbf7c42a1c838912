"""A sentinel secret pushed through every path never shows: logs, /metrics, /, the API, read.

The exporter runs as a real process against a real upsd: one device logs in with the
sentinel as its password, read from a file; another gives a second sentinel, from the
environment, to a upsd that is not there, so the failure paths are exercised too. (upsd
answers a wrong PASSWORD with OK and only refuses LOGIN, which we never send, so a wrong
password cannot fail a read.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from tests.e2e.test_prometheus import free_port, running, wait_for
from tests.peers import upsd as upsd_module
from tests.peers.upsd import Upsd, dumps

if TYPE_CHECKING:
    import pytest

RIGHT = "SENTINEL-right-4f1c9a"
WRONG = "SENTINEL-wrong-77b0e2"
DUMP = "eaton-5e1100iusb"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "nut-ddl"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return str(response.read().decode())


def test_secrets_never_leak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither sentinel appears in any output, while both devices behave as they should."""
    monkeypatch.setattr(upsd_module, "USERS", {"watcher": RIGHT})
    upsd = Upsd(tmp_path / "upsd", {DUMP: dumps(FIXTURES)[DUMP]}).start()
    try:
        secret_file = tmp_path / "nut-password"
        secret_file.write_text(RIGHT + "\n")
        config = tmp_path / "power.yaml"
        config.write_text(
            "devices:\n"
            f"  - {{name: good, source: nut, server: '{upsd.server}', ups: {DUMP},\n"
            f"     username: watcher, password_file: {secret_file}, interval: 1s}}\n"
            f"  - {{name: bad, source: nut, server: '127.0.0.1:{free_port()}', ups: {DUMP},\n"
            "     username: watcher, password: '${NUT_WRONG}', interval: 1s}\n"
        )
        env = {**os.environ, "NUT_WRONG": WRONG}
        monkeypatch.setenv("NUT_WRONG", WRONG)
        binary = str(Path(sys.executable).with_name("power-exporter"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_file = tmp_path / "exporter.log"
        outputs: list[str] = []
        command = [
            binary,
            "serve",
            "--config",
            str(config),
            "--listen",
            f"127.0.0.1:{port}",
            "--log-level",
            "debug",
            "--log-file",
            str(tmp_path / "rotating.log"),
        ]
        with running(command, log_file) as process:
            wait_for(
                "good up and bad down",
                lambda: (
                    'power_device_up{device="good"} 1' in (page := fetch(f"{base}/metrics"))
                    and 'power_exporter_read_errors_total{device="bad",reason="connect"}' in page
                ),
                process,
            )
            paths = (
                "/metrics",
                "/",
                "/api/v1/devices",
                "/api/v1/devices?history=1h",
                "/api/v1/devices/good",
                "/api/v1/devices/bad?history=1h",
                "/sd",
                "/probe?target=good",
                "/probe?target=bad",
            )
            outputs.extend(fetch(base + path) for path in paths)
        for target in ("good", "bad"):
            result = subprocess.run(
                [binary, "read", target, "--config", str(config), "--log-level", "debug"],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )
            outputs += [result.stdout, result.stderr]
            assert result.returncode == (0 if target == "good" else 1), result.stderr
        check = subprocess.run(
            [binary, "check-config", str(config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        outputs += [check.stdout, check.stderr]
        outputs += [log_file.read_text(), (tmp_path / "rotating.log").read_text()]
    finally:
        upsd.stop()
    everything = "\n".join(outputs)
    assert '"battery.charge": 100' in everything or "network_ups_tools_battery_charge" in everything
    assert '"name":"bad","entry":"bad","source":"nut","state":"down","reason":"connect"' in (
        everything
    )
    assert "<h3>good</h3>" in everything
    assert RIGHT not in everything
    assert WRONG not in everything
