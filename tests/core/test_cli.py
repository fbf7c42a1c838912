"""The command line, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from power_exporter import __version__

if TYPE_CHECKING:
    from pathlib import Path


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ECOFLOW_", "DEVICE_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "power_exporter", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        check=False,
    )


class TestCli:
    def test_version(self) -> None:
        """--version prints the version."""
        result = cli("--version")
        assert result.returncode == 0
        assert result.stdout.strip() == f"power-exporter {__version__}"

    def test_help_lists_the_commands(self) -> None:
        """--help names every subcommand."""
        result = cli("--help")
        assert result.returncode == 0
        for command in ("serve", "read", "discover", "check-config"):
            assert command in result.stdout

    def test_check_config_accepts_a_good_file(self, tmp_path: Path) -> None:
        """A valid file: exit 0 and a one-line summary."""
        path = tmp_path / "ok.yaml"
        path.write_text("listen: ':9999'\n")
        result = cli("check-config", str(path))
        assert result.returncode == 0
        assert result.stdout.strip() == f"{path}: ok, 0 device(s)"

    def test_check_config_rejects_a_bad_file_with_exit_2(self, tmp_path: Path) -> None:
        """A bad file: exit 2, one line naming file, line and field."""
        path = tmp_path / "bad.yaml"
        path.write_text("listen: ':9999'\nbackoff_max: forever\n")
        result = cli("check-config", str(path))
        assert result.returncode == 2
        assert f"{path}:2: backoff_max:" in result.stderr
        assert "Traceback" not in result.stderr

    def test_serving_nothing_is_a_clear_error(self) -> None:
        """No config and no seed environment: exit 2 saying how to configure."""
        result = cli()
        assert result.returncode == 2
        assert "no devices configured" in result.stderr

    def test_read_an_unknown_target(self) -> None:
        """Read with a target nobody answers to: exit 2 with the reason."""
        result = cli("read", "gopher://x")
        assert result.returncode == 2
        assert "cannot read 'gopher://x'" in result.stderr
