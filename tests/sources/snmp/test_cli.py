"""``power-exporter read snmp://…`` and ``discover snmp://…`` against a real snmpsim."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import yaml

from power_exporter import cli
from power_exporter.sources.snmp.config import SnmpConfig, target_config
from tests.peers.snmpsim import V3_PRIV_KEY, V3_USER
from tests.sources.snmp.conftest import APC

if TYPE_CHECKING:
    from pathlib import Path

    from tests.peers.snmpsim import Snmpsim


class TestTargets:
    """What an ``snmp://`` URL means."""

    def test_community_host_port(self) -> None:
        """The user part is the community; v2c, port as given."""
        assert target_config("snmp://ro@10.0.0.5:1161") == {
            "name": "10.0.0.5",
            "source": "snmp",
            "host": "10.0.0.5:1161",
            "community": "ro",
            "raw": True,
        }

    def test_public_and_port_161_by_default(self) -> None:
        """No community: public; no port: 161."""
        cfg = SnmpConfig.model_validate(target_config("snmp://ups1.example?version=1"))
        assert cfg.agent == ("ups1.example", 161)
        assert cfg.secret("community") == "public"
        assert cfg.version == "1"

    @pytest.mark.parametrize(
        "url", ["snmp://a:b@host", "snmp://host/path", "snmp://host?colour=red", "nut://host"]
    )
    def test_refused(self, url: str) -> None:
        """Passwords, paths, unknown keys and other schemes are refused."""
        with pytest.raises(ValueError, match="snmp"):
            target_config(url)


class TestCommands:
    """The one-shot commands."""

    def test_read_prints_one_reading(
        self, snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``read`` prints the reading as JSON, never the community."""
        assert cli.main(["read", f"snmp://{APC}@{snmpsim.host}"]) == 0
        out = capsys.readouterr().out
        doc = json.loads(out)
        assert doc["model"] == "Smart-UPS X 750"
        assert doc["measures"]["power_battery_charge_ratio"] == 1.0
        assert "power_battery_runtime_seconds" not in doc["measures"]  # 30.5 h: implausible
        assert doc["raw"]["upsAdvBatteryRunTimeRemaining"] == 10976200.0
        assert doc["raw"]["upsHighPrecBatteryCapacity"] == 1000.0
        assert APC not in out

    def test_read_unreachable_fails(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An agent that is not there: exit 1 and the reason on stderr."""
        from tests.peers.snmpsim import free_udp_port  # noqa: PLC0415

        url = f"snmp://public@127.0.0.1:{free_udp_port()}"
        assert cli.main(["read", url]) != 0
        assert "nothing listens" in capsys.readouterr().err

    def test_read_wrong_community_says_so(
        self, snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A community the agent ignores: exit 1, and stderr says which credential to check."""
        assert cli.main(["read", f"snmp://not-a-community@{snmpsim.host}"]) != 0
        err = capsys.readouterr().err
        assert "wrong community" in err
        assert "not-a-community" not in err

    def test_read_wrong_v3_key_says_so(
        self, snmpsim: Snmpsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A wrong SNMPv3 auth key: the same reason as a wrong community, its own message."""
        config = tmp_path / "power.yaml"
        device = {
            "name": "card",
            "source": "snmp",
            "host": snmpsim.host,
            "version": "3",
            "username": V3_USER,
            "auth_protocol": "SHA256",
            "auth_key": "not-the-key",
            "priv_protocol": "AES",
            "priv_key": V3_PRIV_KEY,
            "context": APC,
        }
        config.write_text(yaml.safe_dump({"devices": [device]}))
        assert cli.main(["read", "card", "--config", str(config)]) != 0
        err = capsys.readouterr().err
        assert "wrong auth_key" in err
        assert "not-the-key" not in err

    def test_discover_names_the_profile(
        self, snmpsim: Snmpsim, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``discover`` prints a snippet with the detected profile; the community is a variable."""
        assert cli.main(["discover", f"snmp://librenms_cyberpower@{snmpsim.host}"]) == 0
        out = capsys.readouterr().out
        (device,) = yaml.safe_load(out)["devices"]
        assert device == {
            "name": "127.0.0.1",
            "source": "snmp",
            "host": snmpsim.host,
            "community": "${SNMP_COMMUNITY}",
            "profile": "cyberpower",
        }
        assert "librenms_cyberpower" not in out
