"""The ``source: apcupsd`` configuration, and the ``apcupsd://`` targets of ``read``."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import field_validator

from power_exporter.sources.apcupsd.protocol import DEFAULT_PORT
from power_exporter.sources.base import DeviceConfig

_HOST_PORT = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:\[\]/@]+))(?::(?P<port>\d+))?$"
)


def parse_server(server: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port); 3551 by default."""
    match = _HOST_PORT.match(server.strip())
    if match is None:
        raise ValueError(
            f"{server!r} is not host[:port] (write an IPv6 address in brackets: [::1]:3551)"
        )
    port = int(match.group("port") or DEFAULT_PORT)
    if not 0 < port < 65536:  # noqa: PLR2004
        raise ValueError(f"port {port} out of range")
    return match.group("v6") or match.group("host"), port


class ApcupsdConfig(DeviceConfig):
    """One apcupsd Network Information Server, which serves one UPS."""

    source: Literal["apcupsd"]
    server: str = f"127.0.0.1:{DEFAULT_PORT}"

    @field_validator("server")
    @classmethod
    def _check_server(cls, value: str) -> str:
        parse_server(value)
        return value.strip()

    @property
    def host_port(self) -> tuple[str, int]:
        """The NIS address."""
        return parse_server(self.server)


def target_config(target: str) -> dict[str, object]:
    """``apcupsd://host[:port]`` -> a device config dict named after the host."""
    parts = urlsplit(target)
    if parts.scheme != "apcupsd" or not parts.netloc:
        raise ValueError(f"{target!r} is not apcupsd://host[:port]")
    if parts.username is not None or parts.password is not None:
        raise ValueError("apcupsd's NIS has no users: write apcupsd://host[:port]")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"{target!r}: an apcupsd NIS serves one UPS, give no path or query")
    host, _port = parse_server(parts.netloc)
    return {
        "name": re.sub(r"[^A-Za-z0-9._-]", "_", host),
        "source": "apcupsd",
        "server": parts.netloc,
    }
