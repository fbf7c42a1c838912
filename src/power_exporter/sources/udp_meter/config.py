"""The configuration of a UDP power meter, and the seed's environment variables.

Two modes. ``poll`` (the seed's): send ``DATA_REQUEST`` to ``address`` every ``interval`` and
wait up to ``timeout`` for the answer. ``listen``: bind ``listen`` and take the datagrams the
meter pushes, from ``peer`` only; with ``subscribe: N`` the source first asks the meter for
channel N's pushes, as the meter's own client does, and asks again after ``interval`` of
silence (a rebooted meter forgets its subscribers). The mode follows from the keys given.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, NamedTuple, Self

from pydantic import BeforeValidator, Field, model_validator

from power_exporter.errors import ConfigError
from power_exporter.sources.base import DeviceConfig, Duration

if TYPE_CHECKING:
    from collections.abc import Mapping

KIND: Final = "udp_meter"

# The seed waited 5 s for an answer and slept 3 s between polls; the meter pushes once a
# second, so ten silent seconds mean it is gone.
DEFAULT_INTERVAL: Final = 3.0
DEFAULT_TIMEOUT: Final = 5.0
DEFAULT_STALE_AFTER: Final = 10.0
# Amperes: well above what the meter's INA3221 reads through its usual shunts (1.6 A with
# 0.1 ohm), well below what would let a forged datagram move the counter far.
DEFAULT_MAX_CURRENT: Final = 20.0

# The name of the meter the seed's environment variables set up (the seed had no device label).
ENV_DEVICE_NAME: Final = "udp-meter"
ENV_IP: Final = "DEVICE_UDP_IP"
ENV_PORT: Final = "DEVICE_UDP_PORT"


class HostPort(NamedTuple):
    """A host (name or address) and a UDP port; ``port`` is None where any port will do."""

    host: str
    port: int | None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


_MAX_PORT: Final = 65535


def _host_and_port(text: str) -> tuple[str, str]:
    """Split ``host:port``, ``[v6]:port``, ``host`` or a bare IPv6 address; the port may be ""."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: an IPv6 address goes in brackets, as [::1]:5000")
        return host, rest[1:]
    if text.count(":") > 1:
        try:
            ipaddress.IPv6Address(text)  # a bare IPv6 address, without a port
        except ValueError:
            raise ValueError(f"{text!r} is neither host:port nor an IPv6 address") from None
        return text, ""
    host, _, port = text.partition(":")
    return host, port


def _split(value: object, *, port_required: bool, port_zero: bool) -> HostPort:
    if isinstance(value, HostPort):
        return value
    if not isinstance(value, str):
        # pydantic reports a ValueError as a validation error; a TypeError would escape it.
        raise ValueError("expected host:port, such as 192.168.1.50:5000")  # noqa: TRY004
    host, port = _host_and_port(value.strip())
    if not host:
        raise ValueError(f"{value!r} has no host")
    if not port:
        if port_required:
            raise ValueError(f"{value!r} has no port; expected host:port")
        return HostPort(host, None)
    if not port.isdigit() or not (0 if port_zero else 1) <= int(port) <= _MAX_PORT:
        raise ValueError(f"{value!r}: the port must be a number up to {_MAX_PORT}")
    return HostPort(host, int(port))


def _address(value: object) -> HostPort:
    return _split(value, port_required=True, port_zero=False)


def _bind(value: object) -> HostPort:
    # Port 0 binds an ephemeral port (what the tests do).
    return _split(value, port_required=True, port_zero=True)


def _peer(value: object) -> HostPort:
    return _split(value, port_required=False, port_zero=False)


class UdpMeterConfig(DeviceConfig):
    """A UDP power meter, polled (``address``) or listened to (``listen`` + ``peer``)."""

    source: Literal["udp_meter"]
    mode: Literal["poll", "listen"]
    address: Annotated[HostPort, BeforeValidator(_address)] | None = None
    listen: Annotated[HostPort, BeforeValidator(_bind)] | None = None
    peer: Annotated[HostPort, BeforeValidator(_peer)] | None = None
    subscribe: int | None = Field(default=None, ge=1, le=6)
    # The most current the meter can measure, in amperes: a datagram moving the charge counter
    # by more than this current could have passed since the last one is refused.
    max_current: float = Field(default=DEFAULT_MAX_CURRENT, gt=0, allow_inf_nan=False)
    interval: Duration = DEFAULT_INTERVAL
    timeout: Duration = DEFAULT_TIMEOUT
    stale_after: Duration = DEFAULT_STALE_AFTER

    @model_validator(mode="before")
    @classmethod
    def _infer_mode(cls, data: Any) -> Any:  # noqa: ANN401 (pydantic hands over the raw input)
        if isinstance(data, dict) and data.get("mode") is None:
            return {**data, "mode": "listen" if data.get("listen") is not None else "poll"}
        return data

    @model_validator(mode="after")
    def _check_mode(self) -> Self:
        if self.mode == "poll":
            if self.address is None:
                raise ValueError("mode poll needs address: host:port (the meter's responder)")
            keys = ("listen", "peer", "subscribe")
            stray = [key for key in keys if getattr(self, key) is not None]
            if stray:
                raise ValueError(f"mode poll takes no {', '.join(stray)}")
            return self
        if self.listen is None or self.peer is None:
            raise ValueError("mode listen needs listen: host:port and peer: the meter's address")
        if self.address is not None:
            raise ValueError("mode listen takes no address (the meter sends from peer)")
        if self.subscribe is not None and self.peer.port is None:
            raise ValueError("subscribe needs peer: host:port, where the meter takes subscriptions")
        return self


def from_env(environ: Mapping[str, str]) -> list[dict[str, object]]:
    """Configure the seed's meter: ``DEVICE_UDP_IP`` and ``DEVICE_UDP_PORT`` poll one meter."""
    ip = environ.get(ENV_IP, "").strip()
    port = environ.get(ENV_PORT, "").strip()
    if not ip and not port:
        return []
    if not ip or not port:
        missing = ENV_PORT if ip else ENV_IP
        raise ConfigError(f"{missing} is not set", file="<environment>", field=missing)
    if not port.isdigit() or not 1 <= int(port) <= _MAX_PORT:
        raise ConfigError(f"{port!r} is not a UDP port", file="<environment>", field=ENV_PORT)
    host = f"[{ip}]" if ":" in ip else ip
    return [{"name": ENV_DEVICE_NAME, "source": KIND, "mode": "poll", "address": f"{host}:{port}"}]
