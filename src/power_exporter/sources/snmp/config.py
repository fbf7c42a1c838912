"""The ``source: snmp`` configuration, and the ``snmp://`` targets of ``read`` and ``discover``."""

from __future__ import annotations

import re
from typing import Final, Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationInfo, field_validator, model_validator

from power_exporter.sources.base import DeviceConfig, FieldError, beside_config
from power_exporter.sources.nut.config import parse_server
from power_exporter.sources.secret import Secret, read_secret_file

DEFAULT_PORT: Final = 161
SCHEME: Final = "snmp"
AUTO_PROFILE: Final = "auto"
# The community every agent ships with: the one community a snippet may print in clear.
WELL_KNOWN_COMMUNITY: Final = "public"

AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "AES", "AES192", "AES256"]


def parse_agent(host: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` -> (host, port); 161 by default."""
    address, port = parse_server(host)
    return address, DEFAULT_PORT if ":" not in host.rpartition("]")[2] else port


class SnmpConfig(DeviceConfig):
    """One SNMP agent (a UPS or PDU network card) and how to speak to it."""

    source: Literal["snmp"]
    host: str
    version: Literal["1", "2c", "3"] = "2c"
    community: Secret | None = None
    community_file: str | None = None
    username: str | None = None
    auth_protocol: AuthProtocol = "SHA256"
    auth_key: Secret | None = None
    auth_key_file: str | None = None
    priv_protocol: PrivProtocol = "AES"
    priv_key: Secret | None = None
    priv_key_file: str | None = None
    context: str = ""
    # Tries after the first, each waiting timeout / (retries + 1).
    retries: int = Field(default=1, ge=0, le=5)
    max_repetitions: int = Field(default=25, ge=1, le=100)
    # A profile name from docs/snmp.md, or "auto": chosen by sysObjectID.
    profile: str = AUTO_PROFILE
    # The snmp_exporter-style raw families (MIB object names as metric names), for dashboards
    # built on snmp_exporter. Off by default: their camelCase names and index labels are what
    # ``promtool check metrics`` flags, and they double a PDU's series (docs/snmp.md).
    raw: bool = False

    _community: SecretStr | None = PrivateAttr(default=None)
    _auth_key: SecretStr | None = PrivateAttr(default=None)
    _priv_key: SecretStr | None = PrivateAttr(default=None)

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        parse_agent(value)
        return value.strip()

    @field_validator("community_file", "auth_key_file", "priv_key_file")
    @classmethod
    def _resolve_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else beside_config(value, info)

    @field_validator("profile")
    @classmethod
    def _check_profile(cls, value: str) -> str:
        from power_exporter.sources.snmp.profiles import PROFILES  # noqa: PLC0415 (a cycle)

        if value != AUTO_PROFILE and value not in PROFILES:
            names = ", ".join(sorted(PROFILES))
            raise ValueError(f"unknown profile {value!r}: auto or one of {names}")
        return value

    @model_validator(mode="after")
    def _check_credentials(self) -> Self:
        self._community = _secret(self, "community")
        self._auth_key = _secret(self, "auth_key")
        self._priv_key = _secret(self, "priv_key")
        if self.version == "3":
            if self.username is None:
                raise FieldError("username", "SNMPv3 needs a username")
            if self._community is not None:
                raise FieldError("community", "SNMPv3 takes a username, not a community")
            if self._priv_key is not None and self._auth_key is None:
                raise FieldError("priv_key", "privacy (priv_key) needs authentication (auth_key)")
            for key in ("auth_key", "priv_key"):
                secret = getattr(self, f"_{key}")
                if secret is not None and len(secret.get_secret_value()) < 8:  # noqa: PLR2004
                    raise FieldError(key, "an SNMPv3 key has at least 8 characters (RFC 3414)")
            return self
        if self._community is None:
            raise FieldError("community", f"SNMPv{self.version} needs community or community_file")
        v3_keys = ("username", "auth_key", "auth_key_file", "priv_key", "priv_key_file")
        stray = [key for key in v3_keys if getattr(self, key) is not None]
        if stray:
            raise FieldError(stray[0], f"{', '.join(stray)} only apply with version: '3'")
        return self

    @property
    def agent(self) -> tuple[str, int]:
        """The agent's address and UDP port."""
        return parse_agent(self.host)

    def secret(self, which: Literal["community", "auth_key", "priv_key"]) -> str | None:
        """Return one credential, from the key or its ``_file``; never log it."""
        value: SecretStr | None = getattr(self, f"_{which}")
        return None if value is None else value.get_secret_value()


def _secret(cfg: SnmpConfig, key: str) -> SecretStr | None:
    given: SecretStr | None = getattr(cfg, key)
    path: str | None = getattr(cfg, f"{key}_file")
    if given is not None and path is not None:
        raise FieldError(key, f"give {key} or {key}_file, not both")
    if path is None:
        return given
    try:
        return read_secret_file(path)
    except ValueError as exc:
        raise FieldError(f"{key}_file", str(exc)) from None


_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def target_config(target: str) -> dict[str, object]:
    """``snmp://[community@]host[:port]`` -> a device config dict (SNMPv2c).

    The community defaults to ``public``; a query may give ``?version=1`` or ``?profile=NAME``.
    SNMPv3 credentials belong in a config file (``username``, ``auth_key_file``...).
    """
    parts = urlsplit(target)
    if parts.scheme != SCHEME or not parts.hostname:
        raise ValueError(f"{target!r} is not snmp://[community@]host[:port]")
    if parts.password is not None:
        raise ValueError("snmp:// takes a community before the @, with no ':'")
    if parts.path.strip("/") or parts.fragment:
        raise ValueError(f"{target!r}: snmp:// targets take no path or fragment")
    host = parts.netloc.rpartition("@")[2]
    parse_agent(host)
    config: dict[str, object] = {
        "name": _NAME_CHARS.sub("_", parts.hostname),
        "source": "snmp",
        "host": host,
        "community": unquote(parts.username) if parts.username else WELL_KNOWN_COMMUNITY,
        # A one-shot read shows the values as the agent sent them too (not for a config).
        "raw": True,
    }
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        if key not in {"version", "profile"}:
            raise ValueError(f"{target!r}: unknown query key {key!r} (version, profile)")
        config[key] = unquote(value)
    return config
