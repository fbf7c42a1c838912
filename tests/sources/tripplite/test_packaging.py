"""The HID deployment files: the udev rule, the group, and the systemd drop-in agree."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Final

import pytest

from tests.peers import require_binary

PACKAGING: Final = Path(__file__).parents[3] / "packaging"
RULE: Final = PACKAGING / "udev" / "60-power-exporter-tripplite.rules"
SYSUSERS: Final = PACKAGING / "sysusers" / "power-exporter-tripplite.conf"
DROP_IN: Final = PACKAGING / "systemd" / "power-exporter.service.d" / "hid.conf"


def lines(path: Path) -> list[str]:
    """The lines of a file that are not comments or blank."""
    text = path.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def rule_keys() -> dict[str, str]:
    """The udev rule's keys (``ATTRS{idVendor}``, ``GROUP``...) and their values."""
    (rule,) = lines(RULE)
    return dict(re.findall(r'([A-Z]+(?:\{\w+\})?)\s*[=!+:]?=\s*"([^"]*)"', rule))


class TestUdevRule:
    """Group-based access to Tripp Lite hidraw nodes, no root."""

    def test_matches_tripplite_hidraw(self) -> None:
        """The rule picks hidraw nodes of USB vendor 09ae, for a group, mode 0660."""
        keys = rule_keys()
        assert keys == {
            "SUBSYSTEM": "hidraw",
            "ATTRS{idVendor}": "09ae",
            "GROUP": "tripplite",
            "MODE": "0660",
        }
        assert '=="hidraw"' in RULE.read_text(encoding="utf-8")

    def test_group_is_created_and_granted(self) -> None:
        """The sysusers file creates the rule's group; the drop-in gives it to the service."""
        group = rule_keys()["GROUP"]
        assert lines(SYSUSERS) == [f"g {group} -"]
        assert f"SupplementaryGroups={group}" in lines(DROP_IN)


class TestSystemdDropIn:
    """The drop-in, loaded by systemd itself on a stand-in unit."""

    @pytest.mark.peer("systemd-analyze")
    def test_systemd_accepts_it(self, tmp_path: Path) -> None:
        """systemd-analyze verify loads it with no complaint about any of its lines."""
        analyze = require_binary("systemd-analyze", install="apt-get install systemd")
        unit = tmp_path / "power-exporter.service"
        unit.write_text(
            "[Unit]\nDescription=stand-in for the hardened unit\n"
            "[Service]\nExecStart=/bin/true\nDynamicUser=yes\nPrivateDevices=yes\n",
            encoding="utf-8",
        )
        drop_ins = tmp_path / "power-exporter.service.d"
        drop_ins.mkdir()
        (drop_ins / "hid.conf").write_text(DROP_IN.read_text(encoding="utf-8"), encoding="utf-8")
        result = subprocess.run(
            [analyze, "verify", "--man=no", str(unit)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        complaints = [line for line in result.stderr.splitlines() if "hid.conf" in line]
        assert complaints == []

    def test_device_access(self) -> None:
        """Only hidraw, read-write, with the host's /dev (a private one has no hidraw)."""
        keys = lines(DROP_IN)
        assert keys[0] == "[Service]"
        assert "DeviceAllow=char-hidraw rw" in keys
        assert "DevicePolicy=closed" in keys
        assert "PrivateDevices=no" in keys
