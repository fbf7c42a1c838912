"""The ``source: apcupsd`` config keys and the ``apcupsd://`` targets of ``read``."""

from __future__ import annotations

import pytest

from power_exporter.config import validate
from power_exporter.errors import ConfigError, ConnectError
from power_exporter.sources.apcupsd.config import parse_server, target_config
from power_exporter.sources.apcupsd.source import discover
from power_exporter.sources.registry import KINDS
from tests.sources.apcupsd.conftest import apcupsd_config


class TestConfig:
    """Keys and their defaults."""

    def test_defaults(self) -> None:
        """The local NIS on 3551 by default; interval and timeout as every device."""
        cfg = apcupsd_config()
        assert cfg.host_port == ("127.0.0.1", 3551)
        assert (cfg.interval, cfg.timeout) == (15.0, 10.0)

    @pytest.mark.parametrize(
        ("server", "expected"),
        [("nas", ("nas", 3551)), ("nas:3552", ("nas", 3552)), ("[::1]:3551", ("::1", 3551))],
    )
    def test_servers(self, server: str, expected: tuple[str, int]) -> None:
        """host, host:port and [v6]:port."""
        assert parse_server(server) == expected
        assert apcupsd_config(server=server).host_port == expected

    @pytest.mark.parametrize("server", ["a:b:c", "nas:0", "nas:70000", "", "user@nas"])
    def test_bad_server(self, server: str) -> None:
        """A bad server is a ConfigError naming the field."""
        with pytest.raises(ConfigError, match=r"devices\[0\]\.server"):
            validate({"devices": [{"name": "u", "source": "apcupsd", "server": server}]})

    def test_unknown_key(self) -> None:
        """A NUT key on an apcupsd device is refused."""
        with pytest.raises(ConfigError, match="ups"):
            validate({"devices": [{"name": "u", "source": "apcupsd", "ups": "x"}]})


class TestTargets:
    """``power-exporter read apcupsd://host[:port]``."""

    @pytest.mark.parametrize(
        ("target", "expected"),
        [
            ("apcupsd://127.0.0.1:3551", {"name": "127.0.0.1", "server": "127.0.0.1:3551"}),
            ("apcupsd://nas", {"name": "nas", "server": "nas"}),
            ("apcupsd://[::1]:3551/", {"name": "__1", "server": "[::1]:3551"}),
        ],
    )
    def test_parsed(self, target: str, expected: dict[str, object]) -> None:
        """The URL becomes a device config the loader accepts."""
        config = target_config(target)
        assert config == {"source": "apcupsd", **expected}
        assert validate({"devices": [config]}).devices[0].source == "apcupsd"

    @pytest.mark.parametrize(
        "target", ["apcupsd://u:p@nas", "nut://nas/u", "apcupsd:///x", "apcupsd://nas/ups"]
    )
    def test_refused(self, target: str) -> None:
        """Users, paths and other schemes are refused."""
        with pytest.raises(ValueError, match=r"apcupsd|NIS"):
            target_config(target)

    async def test_discover_elsewhere(self) -> None:
        """An argument that is no address is a SourceError the CLI reports, not a crash."""
        with pytest.raises(ConnectError, match="not an apcupsd address"):
            await discover("/dev/hidraw0")

    def test_registered(self) -> None:
        """The kind is in the registry with its scheme and discover."""
        kind = KINDS["apcupsd"]
        assert kind.target_schemes == ("apcupsd",)
        assert kind.discover is discover
