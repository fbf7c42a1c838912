"""SNMP secrets never show: a community, v3 keys, right or wrong, in logs, pages and read.

The exporter runs as a real process against a real snmpsim whose v3 keys are sentinels and
one of whose recordings is named (so its community is) a sentinel. A third device sends a
wrong v3 key, also a sentinel, so the failure paths are exercised too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tests.e2e.test_prometheus import free_port, running, wait_for
from tests.e2e.test_secrets import fetch
from tests.peers.snmpsim import FIXTURES, Snmpsim, free_udp_port
from tests.sources.snmp.conftest import APC

if TYPE_CHECKING:
    import pytest

COMMUNITY = "SENTINEL-community-3b7d"
AUTH = "SENTINEL-auth-9c2e51"
PRIV = "SENTINEL-priv-0a4f6d"
WRONG = "SENTINEL-wrong-e81b3c"


def test_snmp_secrets_never_leak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No sentinel in /metrics, /, /sd, /probe, logs, read or check-config output."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    cache.mkdir()
    shutil.copy(FIXTURES / f"{APC}.snmprec", data / f"{COMMUNITY}.snmprec")
    sim = Snmpsim(data, cache, free_udp_port())
    sim.start(
        wait_for=COMMUNITY,
        extra=[
            "--v3-user=watcher",
            f"--v3-auth-key={AUTH}",
            "--v3-auth-proto=SHA512",
            f"--v3-priv-key={PRIV}",
            "--v3-priv-proto=AES256",
        ],
    )
    try:
        (tmp_path / "community").write_text(COMMUNITY + "\n")
        (tmp_path / "auth").write_text(AUTH + "\n")
        config = tmp_path / "power.yaml"
        v3 = (
            f"source: snmp, host: '{sim.host}', version: '3', username: watcher,"
            f" auth_protocol: SHA512, priv_protocol: AES256, context: {COMMUNITY},"
            " interval: 1s, timeout: 2s"
        )
        config.write_text(
            "devices:\n"
            f"  - {{name: v2, source: snmp, host: '{sim.host}',"
            f" community_file: {tmp_path / 'community'}, interval: 1s, raw: true}}\n"
            f"  - {{name: v3, {v3}, auth_key_file: {tmp_path / 'auth'}, priv_key: '${{PRIV}}'}}\n"
            f"  - {{name: bad, {v3}, auth_key: '${{WRONG}}', priv_key: '${{PRIV}}'}}\n"
        )
        monkeypatch.setenv("PRIV", PRIV)
        monkeypatch.setenv("WRONG", WRONG)
        env = dict(os.environ)
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
        ]
        with running(command, log_file) as process:
            wait_for(
                "v2 and v3 up, bad down for auth",
                lambda: (
                    'power_device_up{device="v2"} 1' in (page := fetch(f"{base}/metrics"))
                    and 'power_device_up{device="v3"} 1' in page
                    and 'power_exporter_read_errors_total{device="bad",reason="auth"}' in page
                ),
                process,
            )
            paths = ("/metrics", "/", "/sd", "/probe?target=v3", "/probe?target=bad")
            outputs.extend(fetch(base + path) for path in paths)
        for target in ("v2", "v3", "bad"):
            result = subprocess.run(
                [binary, "read", target, "--config", str(config), "--log-level", "debug"],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )
            outputs += [result.stdout, result.stderr]
            assert result.returncode == (1 if target == "bad" else 0), result.stderr
        check = subprocess.run(
            [binary, "check-config", str(config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        outputs += [check.stdout, check.stderr, log_file.read_text()]
    finally:
        sim.stop()
    everything = "\n".join(outputs)
    assert "upsHighPrecBatteryCapacity" in everything
    for secret in (COMMUNITY, AUTH, PRIV, WRONG):
        assert secret not in everything, secret
