"""Configuration of a UDP meter: modes, addresses, defaults and the seed's environment."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from power_exporter.errors import ConfigError
from power_exporter.sources.udp_meter import KIND
from power_exporter.sources.udp_meter.config import HostPort, UdpMeterConfig, from_env


def _config(**keys: Any) -> UdpMeterConfig:
    return UdpMeterConfig.model_validate({"name": "meter", "source": "udp_meter", **keys})


class TestModes:
    """The mode follows from the keys, and each mode takes only its own."""

    def test_poll_is_inferred_from_address(self) -> None:
        """An address alone means the seed's poll mode, with the seed's timings."""
        cfg = _config(address="192.168.1.50:5000")
        assert cfg.mode == "poll"
        assert cfg.address == HostPort("192.168.1.50", 5000)
        assert (cfg.interval, cfg.timeout, cfg.stale_after) == (3.0, 5.0, 10.0)

    def test_listen_is_inferred(self) -> None:
        """The keys listen and peer mean listen mode; peer may leave the port open."""
        cfg = _config(listen="0.0.0.0:5000", peer="192.168.1.50")
        assert cfg.mode == "listen"
        assert cfg.listen == HostPort("0.0.0.0", 5000)  # noqa: S104 (a config value, not a bind)
        assert cfg.peer == HostPort("192.168.1.50", None)
        assert str(cfg.peer) == "192.168.1.50"

    def test_ipv6(self) -> None:
        """IPv6 addresses go in brackets with a port, bare without."""
        cfg = _config(listen="[::]:5000", peer="fe80::1")
        assert cfg.listen == HostPort("::", 5000)
        assert cfg.peer == HostPort("fe80::1", None)
        assert str(cfg.listen) == "[::]:5000"

    def test_durations(self) -> None:
        """Durations take the usual forms."""
        cfg = _config(address="meter.lan:5000", interval="1s", timeout="500ms", stale_after="1m")
        assert (cfg.interval, cfg.timeout, cfg.stale_after) == (1.0, 0.5, 60.0)

    def test_subscribe(self) -> None:
        """The key subscribe takes a sensor channel and needs the peer's port."""
        assert _config(listen="0.0.0.0:0", peer="10.0.0.9:30000", subscribe=2).subscribe == 2

    @pytest.mark.parametrize(
        ("keys", "message"),
        [
            ({}, "mode poll needs address"),
            ({"mode": "poll", "listen": "0.0.0.0:1"}, "mode poll needs address"),
            ({"address": "h:1", "peer": "h"}, "mode poll takes no peer"),
            ({"listen": "0.0.0.0:5000"}, "mode listen needs listen: host:port and peer"),
            ({"mode": "listen", "peer": "h"}, "mode listen needs listen"),
            (
                {"listen": "0.0.0.0:1", "peer": "h", "address": "h:1"},
                "mode listen takes no address",
            ),
            (
                {"listen": "0.0.0.0:1", "peer": "h", "subscribe": 2},
                "subscribe needs peer: host:port",
            ),
            ({"listen": "0.0.0.0:1", "peer": "h:9", "subscribe": 7}, "less than or equal to 6"),
            ({"address": "h"}, "has no port"),
            ({"address": "h:0"}, "the port must be a number up to 65535"),
            ({"address": "h:70000"}, "the port must be a number up to 65535"),
            ({"address": "h:x"}, "the port must be a number"),
            ({"address": ":5000"}, "has no host"),
            ({"address": "[::1]5000"}, "an IPv6 address goes in brackets"),
            ({"address": "a:b:c"}, "neither host:port nor an IPv6 address"),
            ({"address": 5000}, "expected host:port"),
            ({"mode": "push", "address": "h:1"}, "Input should be 'poll' or 'listen'"),
            ({"address": "h:1", "port": 1}, "Extra inputs are not permitted"),
        ],
    )
    def test_refused(self, keys: dict[str, Any], message: str) -> None:
        """Inconsistent or malformed keys are refused with a message that says what to do."""
        with pytest.raises(ValidationError, match=message):
            _config(**keys)

    def test_kind(self) -> None:
        """The registry entry names the kind and its config model."""
        assert KIND.name == "udp_meter"
        assert KIND.config is UdpMeterConfig
        assert KIND.from_env is from_env


class TestEnvironment:
    """DEVICE_UDP_IP and DEVICE_UDP_PORT set up the seed's one polled meter."""

    def test_seed_variables(self) -> None:
        """Both variables give one poll-mode meter named udp-meter, valid as a config."""
        devices = from_env({"DEVICE_UDP_IP": "127.0.0.1", "DEVICE_UDP_PORT": "5000"})
        assert devices == [
            {
                "name": "udp-meter",
                "source": "udp_meter",
                "mode": "poll",
                "address": "127.0.0.1:5000",
            }
        ]
        cfg = UdpMeterConfig.model_validate(devices[0])
        assert cfg.address == HostPort("127.0.0.1", 5000)

    def test_ipv6_address(self) -> None:
        """An IPv6 DEVICE_UDP_IP is bracketed."""
        devices = from_env({"DEVICE_UDP_IP": "::1", "DEVICE_UDP_PORT": "5000"})
        assert UdpMeterConfig.model_validate(devices[0]).address == HostPort("::1", 5000)

    def test_nothing_set(self) -> None:
        """Without the variables there is no meter."""
        assert from_env({"EXPORTER_PORT": "9100"}) == []

    @pytest.mark.parametrize(
        ("environ", "field"),
        [
            ({"DEVICE_UDP_IP": "127.0.0.1"}, "DEVICE_UDP_PORT"),
            ({"DEVICE_UDP_PORT": "5000"}, "DEVICE_UDP_IP"),
            ({"DEVICE_UDP_IP": "127.0.0.1", "DEVICE_UDP_PORT": "five"}, "DEVICE_UDP_PORT"),
            ({"DEVICE_UDP_IP": "127.0.0.1", "DEVICE_UDP_PORT": "0"}, "DEVICE_UDP_PORT"),
        ],
    )
    def test_incomplete(self, environ: dict[str, str], field: str) -> None:
        """One variable without the other, or a bad port, is a ConfigError naming the variable."""
        with pytest.raises(ConfigError) as caught:
            from_env(environ)
        assert caught.value.field == field
        assert caught.value.file == "<environment>"
