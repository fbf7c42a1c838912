"""The command line, run as a real process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from power_exporter import __version__

DUMP = Path(__file__).parents[2] / "examples" / "demo" / "rack-ups.dev"
GOOD_DEVICES = f"devices:\n  - name: rack-ups\n    source: replay\n    file: {DUMP}\n"


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ECOFLOW_", "DEVICE_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "power_exporter", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
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
        path.write_text(f"listen: ':9999'\n{GOOD_DEVICES}")
        result = cli("check-config", str(path))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{path}: ok, 1 device(s)"
        assert result.stderr == ""

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

    def test_help_documents_the_exit_codes(self) -> None:
        """--help and serve --help list the exit codes, 3 being the one for listening."""
        for args in (("--help",), ("serve", "--help")):
            result = cli(*args)
            assert result.returncode == 0
            assert "exit codes:" in result.stdout
            assert "3  serve: cannot listen" in result.stdout


# Bad files, each once as check-config and once as serve sees it (name -> file text).
BAD_FILES = {
    "empty": "",
    "no devices": "devices: []\n",
    "only settings": "listen: ':9999'\n",
    "missing replay file": "devices:\n  - name: a\n    source: replay\n    file: absent.dev\n",
    "missing password file": (
        "devices:\n  - name: a\n    source: nut\n    ups: u\n"
        "    username: mon\n    password_file: absent-secret\n"
    ),
    "no source": "devices:\n  - name: a\n    ups: u\n",
    "log level": f"log_level: verbose\n{GOOD_DEVICES}",
    "unquoted port": f"listen: 9871\n{GOOD_DEVICES}",
    "bad listen": f"listen: 'localhost'\n{GOOD_DEVICES}",
    "unquoted ups": "devices:\n  - name: a\n    source: nut\n    ups: 1500\n",
    "several": f"log_level: loud\nbackoff_max: never\n{GOOD_DEVICES}    interval: soon\n",
    "not yaml": "devices: [\n",
}


class TestOneValidator:
    @pytest.mark.parametrize("name", sorted(BAD_FILES))
    def test_check_config_and_serve_say_the_same(self, tmp_path: Path, name: str) -> None:
        """check-config and serve refuse the same file with exit 2 and the same words."""
        path = tmp_path / "power.yaml"
        path.write_text(BAD_FILES[name])
        check = cli("check-config", str(path), timeout=30)
        serve = cli("serve", "--config", str(path), "--listen", "127.0.0.1:0", timeout=30)
        assert check.returncode == 2, check.stderr
        assert serve.returncode == 2, serve.stderr
        assert check.stderr == serve.stderr
        assert check.stdout == serve.stdout == ""
        assert str(path) in check.stderr
        for wrong in ("<config>", "pass --config", "Traceback", '{"'):
            assert wrong not in check.stderr

    def test_every_problem_is_listed(self, tmp_path: Path) -> None:
        """A file with three problems: all three, each with file, line and field."""
        path = tmp_path / "power.yaml"
        path.write_text(BAD_FILES["several"])
        result = cli("check-config", str(path))
        duration = (
            "is not a duration: a number with a unit, ms, s, m, h or d (30s, 5m, 1h);"
            " a bare number is seconds"
        )
        levels = "is not a log level: use debug, info, warning, error or critical"
        assert result.stderr.splitlines() == [
            "power-exporter: 3 configuration errors:",
            f"  {path}:1: log_level: 'loud' {levels}",
            f"  {path}:2: backoff_max: 'never' {duration}",
            f"  {path}:7: devices[0].interval: 'soon' {duration}",
        ]

    def test_serve_with_an_empty_file_names_the_file(self, tmp_path: Path) -> None:
        """``serve --config empty.yaml`` names that file and does not ask for --config."""
        path = tmp_path / "empty.yaml"
        path.write_text("")
        result = cli("serve", "--config", str(path), timeout=30)
        assert result.returncode == 2
        assert result.stderr.startswith(
            f"power-exporter: configuration error: {path}: no devices configured"
        )

    @pytest.mark.parametrize(
        ("args", "env", "words"),
        [
            (
                ("--total-shards", "3"),
                {"HOSTNAME": "backup-box"},
                "the hostname 'backup-box' does not end in -ORDINAL",
            ),
            (("--shard", "3", "--total-shards", "3"), {}, "shard 3 is not within 0..2"),
            (
                (),
                {"POWER_EXPORTER_SHARD": "1", "POWER_EXPORTER_TOTAL_SHARDS": "x"},
                "total_shards: 'x' is not a whole number",
            ),
            (("--total-shards", "2", "--shard", "0", "--shard-peers", "http://a:1"), {}, "{shard}"),
        ],
    )
    def test_a_shard_that_cannot_be(
        self, tmp_path: Path, args: tuple[str, ...], env: dict[str, str], words: str
    ) -> None:
        """`serve` refuses a shard it cannot be, before listening: exit 2 and the reason."""
        path = tmp_path / "fleet.yaml"
        path.write_text(GOOD_DEVICES)
        result = cli("serve", "--config", str(path), "--listen", "127.0.0.1:0", *args, env=env)
        assert result.returncode == 2, result.stderr
        assert words in result.stderr


def _sysctl(name: str) -> int:
    return int(Path("/proc/sys/net/ipv4", name).read_text())


class TestListen:
    """serve as a real process, on addresses it cannot have: exit 3, the cause and the address."""

    @pytest.mark.parametrize("where", ["flag", "file"])
    def test_a_busy_port(self, tmp_path: Path, where: str) -> None:
        """A port another socket listens on: exit 3, 'already in use', the address."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            address = f"127.0.0.1:{busy.getsockname()[1]}"
            config = tmp_path / "power.yaml"
            if where == "flag":
                config.write_text(GOOD_DEVICES)
                result = cli("serve", "--config", str(config), "--listen", address, timeout=30)
            else:
                config.write_text(f"listen: '{address}'\n{GOOD_DEVICES}")
                result = cli("serve", "--config", str(config), timeout=30)
        assert result.returncode == 3, result.stderr
        assert result.stderr.splitlines()[-1] == (
            f"power-exporter: cannot listen on {address}:"
            " the address is already in use (is another exporter running there?)"
        )
        assert "configuration" not in result.stderr
        assert "<config>" not in result.stderr

    def test_an_address_of_no_interface(self, tmp_path: Path) -> None:
        """192.0.2.1 (TEST-NET-1) is on no interface here: exit 3 saying so."""
        if _sysctl("ip_nonlocal_bind"):
            pytest.skip("net.ipv4.ip_nonlocal_bind=1 lets any address be bound")
        config = tmp_path / "power.yaml"
        config.write_text(GOOD_DEVICES)
        result = cli("serve", "--config", str(config), "--listen", "192.0.2.1:9860", timeout=30)
        assert result.returncode == 3, result.stderr
        assert "cannot listen on 192.0.2.1:9860: no interface" in result.stderr

    def test_a_privileged_port_without_privileges(self, tmp_path: Path) -> None:
        """A port below net.ipv4.ip_unprivileged_port_start, without the right: permission denied.

        As root (CI), the process runs without CAP_NET_BIND_SERVICE (setpriv drops it from the
        bounding set), which is what an unprivileged user lacks.
        """
        if _sysctl("ip_unprivileged_port_start") <= 1:
            pytest.skip("this kernel lets anyone bind any port: nothing to deny")
        config = tmp_path / "power.yaml"
        config.write_text(GOOD_DEVICES)
        args = ["serve", "--config", str(config), "--listen", "127.0.0.1:1"]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv (util-linux) to drop the right")
            drop = ["--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service"]
            result = subprocess.run(
                [setpriv, *drop, sys.executable, "-m", "power_exporter", *args],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        else:
            result = cli(*args, timeout=30)
        assert result.returncode == 3, result.stderr
        assert "cannot listen on 127.0.0.1:1: permission denied" in result.stderr


class TestOneShotLogging:
    def test_read_is_quiet_plain_text_and_verbose_on_request(self, tmp_path: Path) -> None:
        """`read` logs nothing by default (even with LOG_LEVEL=debug), plain text with -v."""
        config = tmp_path / "power.yaml"
        config.write_text(GOOD_DEVICES)
        quiet = cli("read", "rack-ups", "--config", str(config), env={"LOG_LEVEL": "debug"})
        assert quiet.returncode == 0, quiet.stderr
        assert quiet.stderr == ""
        verbose = cli("read", "rack-ups", "--config", str(config), "--verbose")
        assert verbose.returncode == 0, verbose.stderr
        assert json.loads(verbose.stdout)["device"] == json.loads(quiet.stdout)["device"]
        lines = verbose.stderr.splitlines()
        assert any(" DEBUG " in line for line in lines), verbose.stderr
        assert not any(line.startswith("{") for line in lines)
