"""deploy/systemd/power-exporter.service: systemd's own verifier, and its hardening."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.paths import UNIT
from tests.peers import require_binary

INSTALLED = "/opt/power-exporter/bin/power-exporter"
MAX_EXPOSURE = 2.0


def unit_text() -> str:
    return UNIT.read_text(encoding="utf-8")


def directives() -> dict[str, list[str]]:
    return _directives(unit_text())


@pytest.fixture
def local_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's power-exporter (verify checks it)."""
    command = shutil.which("power-exporter", path=str(Path(sys.executable).parent))
    assert command, "power-exporter is not installed in this environment"
    path = tmp_path / "power-exporter.service"
    path.write_text(unit_text().replace(INSTALLED, command), encoding="utf-8")
    return path


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("systemd-analyze", install="apt-get install systemd")
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def test_systemd_analyze_verify(local_unit: Path) -> None:
    """`systemd-analyze verify` passes without a word (unknown keys would be printed)."""
    result = analyze("verify", str(local_unit))
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_verify_would_notice_a_typo(local_unit: Path) -> None:
    """A misspelt directive is reported, so the check above means something."""
    local_unit.write_text(local_unit.read_text().replace("ProtectSystem=", "ProtectSystm="))
    result = analyze("verify", str(local_unit))
    assert "ProtectSystm" in result.stdout + result.stderr


def test_exposure_score(local_unit: Path) -> None:
    """`systemd-analyze security` rates the unit's exposure low."""
    result = analyze("security", "--offline=true", str(local_unit))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_hardening_directives() -> None:
    """The hardening the project promises, and no device access by default."""
    found = directives()
    assert found["DynamicUser"] == ["yes"]
    assert found["ProtectSystem"] == ["strict"]
    assert found["NoNewPrivileges"] == ["yes"]
    assert found["PrivateDevices"] == ["yes"]
    assert found["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert found["CapabilityBoundingSet"] == [""]
    assert "DeviceAllow" not in found
    assert found["ExecStart"][0].startswith(f"{INSTALLED} serve --config /etc/power-exporter/")


def test_with_the_hid_drop_in(local_unit: Path) -> None:
    """The unit with the TrippLite drop-in still verifies and stays well confined."""
    drop_in = UNIT.parents[2] / "packaging" / "systemd" / "power-exporter.service.d" / "hid.conf"
    assert drop_in.is_file(), "the HID drop-in the unit's comments point to"
    directory = local_unit.with_name("power-exporter.service.d")
    directory.mkdir()
    shutil.copy(drop_in, directory / "hid.conf")
    result = analyze("verify", str(local_unit))
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""
    assert "PrivateUsers" not in directives(), "it would void SupplementaryGroups="
    security = analyze("security", "--offline=true", str(local_unit))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
    assert match, security.stdout + security.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE + 1.0, security.stdout


CREDENTIALS = UNIT.parent / "power-exporter.service.d" / "credentials.conf"


def test_with_the_credentials_drop_in(local_unit: Path) -> None:
    """The LoadCredential= drop-in verifies and keeps the unit as confined."""
    directory = local_unit.with_name("power-exporter.service.d")
    directory.mkdir()
    text = CREDENTIALS.read_text(encoding="utf-8")
    command = local_unit.read_text().split("ExecStart=", 1)[1].split(" ", 1)[0]
    (directory / "credentials.conf").write_text(text.replace(INSTALLED, command))
    result = analyze("verify", str(local_unit))
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""
    security = analyze("security", "--offline=true", str(local_unit))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
    assert match, security.stdout + security.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, security.stdout


def credentials() -> dict[str, str]:
    """Credential name -> source path, from the drop-in's LoadCredential= lines."""
    out = {}
    for line in CREDENTIALS.read_text(encoding="utf-8").splitlines():
        if line.startswith("LoadCredential="):
            name, _, path = line.removeprefix("LoadCredential=").partition(":")
            out[name] = path
    return out


def test_credentials_are_what_the_exporter_reads(tmp_path: Path) -> None:
    """As systemd hands them over, the credentials load: a password file, a web config with TLS.

    The test lays the credentials out as systemd does ($CREDENTIALS_DIRECTORY/<name>) and runs
    `power-exporter check-config` with that environment, then loads the web config from there
    (its cert and key named relative to it, as %d/web-config.yml finds them).
    """
    from power_exporter import webconfig  # noqa: PLC0415
    from tests.ops.pki import make_pki  # noqa: PLC0415

    names = credentials()
    assert {"nut-password", "web-config.yml", "tls.crt", "tls.key"} <= set(names)
    for path in names.values():
        assert path.startswith("/etc/power-exporter/"), path
    assert "--web.config.file %d/web-config.yml" in CREDENTIALS.read_text(encoding="utf-8")
    store = tmp_path / "credentials"
    store.mkdir()
    (store / "nut-password").write_text("s3cret\n")
    pki = make_pki(tmp_path)
    shutil.copy(pki.server.cert, store / "tls.crt")
    shutil.copy(pki.server.key, store / "tls.key")
    (store / "web-config.yml").write_text(
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        "devices:\n  - name: ups\n    source: nut\n    server: 127.0.0.1:3493\n"
        "    ups: '*'\n    username: monitor\n"
        "    password_file: ${CREDENTIALS_DIRECTORY}/nut-password\n"
    )
    command = shutil.which("power-exporter", path=str(Path(sys.executable).parent))
    assert command
    result = subprocess.run(
        [command, "check-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        env={"CREDENTIALS_DIRECTORY": str(store), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    elsewhere = subprocess.run(
        [command, "check-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        env={"CREDENTIALS_DIRECTORY": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"},
    )
    assert elsewhere.returncode != 0, "the password file is not looked at"
    assert webconfig.ssl_context(webconfig.load(store / "web-config.yml")) is not None


TEMPLATE = UNIT.with_name("power-exporter@.service")
# What the template may set differently from power-exporter.service.
PER_INSTANCE = {"Description", "ExecStart", "Environment"}


def _directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


class TestShardTemplate:
    """power-exporter@.service: instance N is shard N, as hardened as the single unit."""

    def test_verifies_and_stays_confined(self, tmp_path: Path) -> None:
        """`systemd-analyze verify` of an instance passes; its exposure is as low."""
        command = shutil.which("power-exporter", path=str(Path(sys.executable).parent))
        assert command
        template = tmp_path / TEMPLATE.name
        template.write_text(TEMPLATE.read_text(encoding="utf-8").replace(INSTALLED, command))
        instance = str(tmp_path / "power-exporter@1.service")
        result = analyze("verify", instance)
        assert result.returncode == 0, result.stderr
        assert result.stdout + result.stderr == ""
        security = analyze("security", "--offline=true", instance)
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
        assert match, security.stdout + security.stderr
        assert float(match.group(1)) <= MAX_EXPOSURE, security.stdout

    def test_hardening_is_the_single_units(self) -> None:
        """Every directive but the description, command and shard is power-exporter.service's."""
        ours = _directives(TEMPLATE.read_text(encoding="utf-8"))
        single = directives()
        assert {k: v for k, v in ours.items() if k not in PER_INSTANCE} == {
            k: v for k, v in single.items() if k not in PER_INSTANCE
        }

    @pytest.mark.parametrize("instance", [0, 2])
    def test_instance_is_its_shard(self, monkeypatch: pytest.MonkeyPatch, instance: int) -> None:
        """Instance N, with the environment file's total, serves shard N on port 987N."""
        from power_exporter import cli  # noqa: PLC0415
        from power_exporter.config import Settings  # noqa: PLC0415
        from power_exporter.sharding import Shard  # noqa: PLC0415

        found = _directives(TEMPLATE.read_text(encoding="utf-8"))
        (environment,) = found["Environment"]
        name, _, value = environment.replace("%i", str(instance)).partition("=")
        monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWER_EXPORTER_TOTAL_SHARDS", "3")  # the documented environment line
        command = found["ExecStart"][0].replace("%i", str(instance)).split()
        assert command[0] == INSTALLED
        args = cli.build_parser().parse_args(command[1:])
        options = cli._sharding(args, Settings())
        assert options["shard"] == Shard(instance, 3)
        assert args.listen == [f":987{instance}"]
