"""The ``source: nut`` configuration, and the ``nut://`` targets of ``power-exporter read``."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Final, Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from power_exporter.sources.base import DeviceConfig, FieldError, beside_config
from power_exporter.sources.nut.client import DEFAULT_PORT, TlsOptions
from power_exporter.sources.secret import Secret, read_secret_file

ALL_UPSES: Final = "*"
UPS_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOST_PORT = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:\[\]/]+))(?::(?P<port>\d+))?$"
)


def parse_server(server: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port); 3493 by default."""
    match = _HOST_PORT.match(server.strip())
    if match is None:
        raise ValueError(
            f"{server!r} is not host[:port] (write an IPv6 address in brackets: [::1]:3493)"
        )
    port = int(match.group("port") or DEFAULT_PORT)
    if not 0 < port < 65536:  # noqa: PLR2004
        raise ValueError(f"port {port} out of range")
    return match.group("v6") or match.group("host"), port


class VarFilter(BaseModel):
    """Which NUT variables get a raw series: glob patterns (``*``, ``?``, ``[...]``) on names.

    A variable is kept when it matches an ``include`` pattern (default: every variable) and no
    ``exclude`` pattern. The normalized ``power_*`` series are never filtered.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()

    @field_validator("include", "exclude")
    @classmethod
    def _check_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not pattern.strip() for pattern in value):
            raise ValueError("an empty pattern matches nothing: remove it")
        return value

    def keeps(self, variable: str) -> bool:
        """Whether ``variable`` gets a raw series."""
        return any(fnmatchcase(variable, p) for p in self.include) and not any(
            fnmatchcase(variable, p) for p in self.exclude
        )


class NutConfig(DeviceConfig):
    """One upsd and the UPS (or every UPS, ``ups: "*"``) to read from it."""

    source: Literal["nut"]
    server: str = f"127.0.0.1:{DEFAULT_PORT}"
    ups: str
    username: str | None = None
    password: Secret | None = None
    password_file: str | None = None
    starttls: bool = False
    ca_file: str | None = None
    tls_verify: bool = True
    tls_hostname: str | None = None
    tls_check_hostname: bool = True
    vars: VarFilter | None = None
    ups_label: bool = False  # DRuggeri/nut_exporter's ups="<NUT UPS name>" on every series

    _password: SecretStr | None = PrivateAttr(default=None)

    @field_validator("server")
    @classmethod
    def _check_server(cls, value: str) -> str:
        parse_server(value)
        return value.strip()

    @field_validator("ups")
    @classmethod
    def _check_ups(cls, value: str) -> str:
        if value != ALL_UPSES and not UPS_NAME.match(value):
            raise ValueError(f'{value!r} is not a NUT UPS name (or "*" for every UPS)')
        return value

    @field_validator("password_file", "ca_file")
    @classmethod
    def _resolve_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else beside_config(value, info)

    @field_validator("username")
    @classmethod
    def _check_username(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c.isspace() for c in value)):
            raise ValueError("a NUT username is one word")
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> Self:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        if self.password_file is not None:
            try:
                self._password = read_secret_file(self.password_file)
            except ValueError as exc:
                raise FieldError("password_file", str(exc)) from None
        else:
            self._password = self.password
        if self._password is not None and self.username is None:
            raise ValueError("a password needs a username")
        tls_keys = {
            "ca_file": self.ca_file is not None,
            "tls_verify": not self.tls_verify,
            "tls_hostname": self.tls_hostname is not None,
            "tls_check_hostname": not self.tls_check_hostname,
        }
        stray = [key for key, given in tls_keys.items() if given]
        if stray and not self.starttls:
            raise ValueError(f"{', '.join(stray)} only apply with starttls: true")
        return self

    def labels_for(self, device: str) -> tuple[tuple[str, str], ...]:
        """The static labels, and with ``ups_label`` the NUT name of the device's UPS."""
        if not self.ups_label:
            return self.static_labels
        prefix = self.name + "/"
        if self.ups != ALL_UPSES:
            ups = self.ups
        elif device.startswith(prefix):
            ups = device.removeprefix(prefix)
        else:
            return self.static_labels  # the entry's placeholder, before its UPSes are known
        return tuple(sorted((*self.static_labels, ("ups", ups))))

    @property
    def fans_out(self) -> bool:
        """``ups: "*"``: each UPS of the upsd is a device, sharded on its own."""
        return self.ups == ALL_UPSES

    @property
    def host_port(self) -> tuple[str, int]:
        """The upsd address."""
        return parse_server(self.server)

    def secret_password(self) -> str | None:
        """Return the password, from ``password`` or ``password_file``; never log it."""
        return None if self._password is None else self._password.get_secret_value()

    def tls_options(self) -> TlsOptions | None:
        """STARTTLS settings, or None for a plain connection."""
        if not self.starttls:
            return None
        return TlsOptions(
            ca_file=self.ca_file,
            verify=self.tls_verify,
            hostname=self.tls_hostname,
            check_hostname=self.tls_check_hostname,
        )


def target_config(target: str) -> dict[str, object]:
    """``nut://[user@]host[:port][/ups]`` -> a device config dict (no path or ``/*``: every UPS).

    A password does not belong in a command line: put it in a config file instead.
    """
    parts = urlsplit(target)
    if parts.scheme != "nut" or not parts.netloc:
        raise ValueError(f"{target!r} is not nut://[user@]host[:port]/ups")
    if parts.password is not None:
        raise ValueError("no password in a nut:// target: use a config file with password_file")
    if parts.query or parts.fragment:
        raise ValueError(f"{target!r}: nut:// targets take no query or fragment")
    server = parts.netloc.rpartition("@")[2]
    ups = unquote(parts.path.strip("/")) or ALL_UPSES
    host, _port = parse_server(server)
    config: dict[str, object] = {
        "name": ups if ups != ALL_UPSES else re.sub(r"[\s/]", "_", host),
        "source": "nut",
        "server": server,
        "ups": ups,
    }
    if parts.username:
        config["username"] = unquote(parts.username)
    return config
