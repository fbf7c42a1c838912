"""Run ``promtool check metrics`` on an exposition, the linter Prometheus itself ships."""

from __future__ import annotations

import subprocess

from tests.peers import require_binary

INSTALL = "apt-get install prometheus"


def check_metrics(exposition: bytes) -> None:
    """Fail the test unless promtool accepts the exposition without a single lint problem."""
    promtool = require_binary("promtool", install=INSTALL)
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=60,
        check=False,
    )
    problems = (result.stdout + result.stderr).decode(errors="replace").strip()
    assert result.returncode == 0, f"promtool check metrics failed:\n{problems}"
    assert not problems, f"promtool check metrics reported:\n{problems}"
