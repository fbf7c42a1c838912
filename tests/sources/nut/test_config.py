"""The ``source: nut`` config keys, ``nut://`` targets, and the CLI's read and discover."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import yaml
from pydantic import ValidationError

from power_exporter.config import validate
from power_exporter.errors import ConfigError, ConnectError
from power_exporter.sources.nut.config import NutConfig, parse_server, target_config
from power_exporter.sources.nut.source import NutSource, client_key, discover
from power_exporter.sources.registry import KINDS
from tests.sources.nut.conftest import nut_config

if TYPE_CHECKING:
    from pathlib import Path

    from tests.peers.upsd import Upsd


class TestServer:
    """``server: host[:port]``."""

    @pytest.mark.parametrize(
        ("server", "host", "port"),
        [
            ("127.0.0.1", "127.0.0.1", 3493),
            ("ups.lan:3500", "ups.lan", 3500),
            ("[::1]:3493", "::1", 3493),
            ("[fe80::1]", "fe80::1", 3493),
            (" nas ", "nas", 3493),
        ],
    )
    def test_parsed(self, server: str, host: str, port: int) -> None:
        """Host and port, 3493 by default, IPv6 in brackets."""
        assert parse_server(server) == (host, port)

    @pytest.mark.parametrize(
        "server", ["::1", "a:b:c", "host:0", "host:70000", "host:port", "", "a b"]
    )
    def test_refused(self, server: str) -> None:
        """What is not host[:port] is a clear error."""
        with pytest.raises(ValueError, match=r"host|port"):
            parse_server(server)


class TestKeys:
    """Validation of a device entry."""

    def test_defaults(self) -> None:
        """Local upsd, no auth, no TLS."""
        cfg = nut_config(ups="eaton")
        assert (cfg.host_port, cfg.username, cfg.secret_password(), cfg.tls_options()) == (
            ("127.0.0.1", 3493),
            None,
            None,
            None,
        )

    @pytest.mark.parametrize(
        ("keys", "message"),
        [
            ({"ups": "bad name"}, "not a NUT UPS name"),
            ({"ups": "ups", "password": "x"}, "needs a username"),
            ({"ups": "ups", "username": "u", "password": "x", "password_file": "/f"}, "not both"),
            ({"ups": "ups", "username": "two words"}, "one word"),
            ({"ups": "ups", "ca_file": "/ca.pem"}, "starttls"),
            ({"ups": "ups", "tls_verify": False}, "starttls"),
            ({"ups": "ups", "username": "u", "password_file": "/nonexistent/pw"}, "cannot read"),
            ({"ups": "ups", "port": 3493}, "Extra inputs"),
            ({}, "ups"),
        ],
    )
    def test_refused(self, keys: dict[str, object], message: str) -> None:
        """Each mistake is refused with a message naming it."""
        with pytest.raises(ValidationError, match=message):
            nut_config(**keys)

    def test_tls_options(self) -> None:
        """STARTTLS keys become the client's TLS options."""
        cfg = nut_config(
            ups="u",
            starttls=True,
            ca_file="/ca.pem",
            tls_hostname="ups.lan",
            tls_check_hostname=False,
        )
        tls = cfg.tls_options()
        assert tls is not None
        assert (tls.ca_file, tls.verify, tls.hostname, tls.check_hostname) == (
            "/ca.pem",
            True,
            "ups.lan",
            False,
        )

    def test_paths_beside_the_config_file(self, tmp_path: Path) -> None:
        """A relative password_file/ca_file is read from the config file's folder."""
        (tmp_path / "pw").write_text("s3cret\n")
        data = {
            "devices": [
                {"name": "u", "source": "nut", "ups": "u", "username": "m", "password_file": "pw"},
                {"name": "t", "source": "nut", "ups": "u", "starttls": True, "ca_file": "ca.pem"},
            ]
        }
        first, second = validate(data, base_dir=tmp_path).devices
        assert isinstance(first, NutConfig)
        assert isinstance(second, NutConfig)
        assert first.secret_password() == "s3cret"
        assert second.ca_file == str(tmp_path / "ca.pem")

    def test_secret_never_shown(self) -> None:
        """The password is in no repr: config, pool key, client, source."""
        cfg = nut_config(ups="u", username="m", password="s3cr3t-sentinel")
        source = NutSource(cfg)
        shown = [repr(cfg), str(cfg), repr(client_key(cfg)), repr(source), repr(vars(source))]
        assert not [text for text in shown if "s3cr3t-sentinel" in text]

    def test_loader_error_names_the_field(self) -> None:
        """Through the core loader, a bad key is a ConfigError naming the device field."""
        with pytest.raises(ConfigError, match=r"devices\[0\]\.server"):
            validate({"devices": [{"name": "u", "source": "nut", "ups": "u", "server": "a:b:c"}]})


class TestTargets:
    """``power-exporter read nut://[user@]host[:port]/ups``."""

    @pytest.mark.parametrize(
        ("target", "expected"),
        [
            ("nut://127.0.0.1/eaton", {"name": "eaton", "server": "127.0.0.1", "ups": "eaton"}),
            (
                "nut://mon@nas:3500/eaton",
                {"name": "eaton", "server": "nas:3500", "ups": "eaton", "username": "mon"},
            ),
            ("nut://[::1]:3493/eaton", {"name": "eaton", "server": "[::1]:3493", "ups": "eaton"}),
            ("nut://nas", {"name": "nas", "server": "nas", "ups": "*"}),
            ("nut://nas/*", {"name": "nas", "server": "nas", "ups": "*"}),
        ],
    )
    def test_parsed(self, target: str, expected: dict[str, object]) -> None:
        """The URL becomes a device config the loader accepts."""
        config = target_config(target)
        assert config == {"source": "nut", **expected}
        assert validate({"devices": [config]}).devices[0].source == "nut"

    @pytest.mark.parametrize(
        "target", ["nut://mon:pw@nas/eaton", "http://nas/eaton", "nut:///eaton", "nut://nas/u?x=1"]
    )
    def test_refused(self, target: str) -> None:
        """Passwords in URLs, other schemes and odd URLs are refused."""
        with pytest.raises(ValueError, match=r"nut://|password|query"):
            target_config(target)

    async def test_discover_elsewhere(self) -> None:
        """An argument that is no upsd address is a SourceError the CLI reports, not a crash."""
        with pytest.raises(ConnectError, match="not a upsd address"):
            await discover("/dev/hidraw0")

    def test_registered(self) -> None:
        """The nut and replay kinds are in the registry; both use the NUT raw naming."""
        assert KINDS["nut"].target_schemes == ("nut",)
        assert KINDS["replay"].naming is KINDS["nut"].naming


class TestCommandLine:
    """The CLI as a real process against the real upsd."""

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run power-exporter with arguments."""
        return subprocess.run(
            [sys.executable, "-m", "power_exporter", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def test_read_nut_url(self, ddl_upsd: Upsd) -> None:
        """``read nut://host:port/ups`` prints one reading as JSON."""
        result = self.run("read", f"nut://monuser@{ddl_upsd.server}/eaton-ellipse-eco-1600")
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["device"] == "eaton-ellipse-eco-1600"
        assert doc["source"] == "nut"
        assert doc["raw"]["battery.charge"] == 99.0
        assert doc["status"]["online"] is True

    def test_read_one_ups_of_a_fan_out_entry(self, ddl_upsd: Upsd, tmp_path: Path) -> None:
        """``read rack/UPS`` reads one UPS of a ``ups: "*"`` entry, by the name /metrics shows."""
        config = tmp_path / "power.yaml"
        config.write_text(
            f"devices:\n  - name: rack\n    source: nut\n    server: {ddl_upsd.server}\n"
            '    ups: "*"\n'
        )
        result = self.run("read", "rack/eaton-ellipse-eco-1600", "--config", str(config))
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["device"] == "rack/eaton-ellipse-eco-1600"
        assert doc["raw"]["battery.charge"] == 99.0
        # one-shot commands log only warnings: here only the implausible values the entry's
        # other UPSes give (their dumps hold sentinels), none about the UPS read
        assert all(
            "dropped invalid values" in line and "rack/eaton-ellipse-eco-1600" not in line
            for line in result.stderr.splitlines()
        ), result.stderr
        absent = self.run("read", "rack/no-such-ups", "--config", str(config))
        assert absent.returncode == 1
        assert "rack has no device 'rack/no-such-ups' (it has: rack/" in absent.stderr
        assert "rack/eaton-ellipse-eco-1600" in absent.stderr

    def test_discover(self, ddl_upsd: Upsd) -> None:
        """``discover host:port`` prints a config snippet per UPS, valid as it stands."""
        result = self.run("discover", ddl_upsd.server)
        assert result.returncode == 0, result.stderr
        devices = yaml.safe_load(result.stdout)["devices"]
        nut = [d for d in devices if d["source"] == "nut"]
        assert sorted(d["ups"] for d in nut) == sorted(ddl_upsd.upses)
        assert len(validate({"devices": nut}).devices) == len(ddl_upsd.upses)
