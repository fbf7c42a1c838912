"""``source: snmp`` configuration: versions, credentials and their files, profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from power_exporter.sources.snmp.config import SnmpConfig

if TYPE_CHECKING:
    from pathlib import Path


def make(**keys: object) -> SnmpConfig:
    return SnmpConfig.model_validate({"name": "card", "source": "snmp", "host": "ups1", **keys})


class TestConfig:
    """What a device entry may say."""

    def test_defaults(self) -> None:
        """v2c, port 161, one retry, profile auto, raw (snmp_exporter-named) series off."""
        cfg = make(community="public")
        assert (cfg.version, cfg.agent, cfg.retries, cfg.profile, cfg.raw) == (
            "2c",
            ("ups1", 161),
            1,
            "auto",
            False,
        )

    def test_community_file(self, tmp_path: Path) -> None:
        """The community may come from a file (first line), and never shows in repr."""
        secret = tmp_path / "community"
        secret.write_text("s3cret-ro\n")
        cfg = make(community_file=str(secret))
        assert cfg.secret("community") == "s3cret-ro"
        assert "s3cret-ro" not in repr(cfg)

    def test_v3_keys_from_files(self, tmp_path: Path) -> None:
        """SNMPv3 keys may come from files too."""
        (tmp_path / "auth").write_text("authpass123\n")
        (tmp_path / "priv").write_text("privpass123\n")
        cfg = make(
            version="3",
            username="monitor",
            auth_key_file=str(tmp_path / "auth"),
            priv_key_file=str(tmp_path / "priv"),
        )
        assert (cfg.secret("auth_key"), cfg.secret("priv_key")) == ("authpass123", "privpass123")

    @pytest.mark.parametrize(
        ("keys", "message"),
        [
            ({}, "needs community"),
            ({"version": "3"}, "needs a username"),
            ({"version": "3", "username": "u", "community": "x"}, "not a community"),
            ({"version": "3", "username": "u", "priv_key": "privpass1"}, "needs authentication"),
            ({"version": "3", "username": "u", "auth_key": "short"}, "at least 8"),
            ({"community": "x", "username": "u"}, "only apply with version"),
            ({"community": "x", "community_file": "/nonexistent"}, "not both"),
            ({"community_file": "/nonexistent/community"}, "cannot read"),
            ({"community": "x", "profile": "nonesuch"}, "unknown profile"),
            ({"community": "x", "host": "a b"}, "host"),
        ],
    )
    def test_refused(self, keys: dict[str, object], message: str) -> None:
        """Each wrong combination is refused with a message that says what to change."""
        with pytest.raises(ValidationError, match=message):
            make(**keys)
