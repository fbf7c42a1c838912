"""The configuration of ``source: ecoflow``, and the seed's environment variables.

``api`` picks the way in: ``rest`` (developer keys, polled), ``open_mqtt`` (developer keys,
EcoFlow's developer MQTT stream), ``mqtt`` and ``device`` (the app account's MQTT, push
only or with read requests). Developer keys and account credentials exclude each other,
as in seed 002.

Secrets are ``Secret`` (``sources/secret.py``: masked in every repr, dump and error, no
control characters); a ``*_file`` key holds the *content* of the file it names once
validated (one line), and no error shows it.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from power_exporter.sources.base import DeviceConfig, Duration
from power_exporter.sources.ecoflow import devices
from power_exporter.sources.secret import Secret, read_secret_file

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

Api = Literal["rest", "open_mqtt", "mqtt", "device"]
DEVELOPER_APIS: Final = frozenset({"rest", "open_mqtt"})
ACCOUNT_APIS: Final = frozenset({"mqtt", "device"})
DEFAULT_HOST: Final = "api-e.ecoflow.com"
# The app account's login host when none is configured (seed 002's mqtt.py default).
DEFAULT_ACCOUNT_HOST: Final = "api.ecoflow.com"
# EcoFlow's hosts: api-e for Europe (the default of seed 002 and of EcoFlow's own example),
# api-a for the Americas, api for the rest of the world.
KNOWN_HOSTS: Final = ("api-e.ecoflow.com", "api-a.ecoflow.com", "api.ecoflow.com")
_HOST: Final = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
_URL: Final = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context if isinstance(info.context, dict) else {}
    base = context.get("base_dir")
    return base if isinstance(base, Path) else Path.cwd()


def _path(value: object, info: ValidationInfo) -> Path:
    if not isinstance(value, str) or not value:
        raise ValueError("a file path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else _base_dir(info) / path


def _read_secret(value: object, info: ValidationInfo) -> object:
    """``*_file``: read the secret from the file (relative to the configuration file)."""
    if value is None or isinstance(value, SecretStr):
        return value
    path = _path(value, info)
    secret = read_secret_file(str(path))
    if not secret.get_secret_value():
        raise ValueError(f"{path} is empty")
    return secret


def _existing_file(value: object, info: ValidationInfo) -> object:
    if value is None:
        return value
    path = _path(value, info)
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    return str(path)


SecretFile = Annotated[SecretStr | None, BeforeValidator(_read_secret)]
Serial = Annotated[str, Field(pattern=r"^(\*|[A-Za-z0-9]+)$")]
OneSerial = Annotated[str, Field(pattern=r"^[A-Za-z0-9]+$")]
ExistingFile = Annotated[str | None, BeforeValidator(_existing_file)]


class EcoflowConfig(DeviceConfig):
    """One EcoFlow device, or every device of an account (``serial: "*"``)."""

    source: Literal["ecoflow"]
    api: Api = "rest"
    # one serial, "*" (every device of the account) or, for api: mqtt/device, a list of serials
    serial: Serial | tuple[OneSerial, ...]

    # developer keys (api: rest, open_mqtt), from developer.ecoflow.com
    access_key: Secret | None = None
    access_key_file: SecretFile = None
    secret_key: Secret | None = None
    secret_key_file: SecretFile = None
    host: str | None = None  # default: DEFAULT_HOST, or DEFAULT_ACCOUNT_HOST for the account
    ca_file: ExistingFile = None

    # app account (api: mqtt, device)
    user: str | None = Field(default=None, min_length=1)
    password: Secret | None = None
    password_file: SecretFile = None
    broker: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
    # app account MQTT tuning; seed 002's variable in brackets
    # api: device asks a silent device this often [QUOTA_REQUEST_INTERVAL]
    quota_request_interval: Duration = 30.0
    # silence before the device is assumed offline and nudged; it is down after stale_after
    assume_offline_after: Duration = 300.0
    mqtt_keepalive: int = Field(default=60, ge=5, le=3600)  # [MQTT_KEEPALIVE]
    # reconnect after this long without any message (off by default) [MQTT_TIMEOUT]
    mqtt_timeout: Duration | None = None
    idle_check_interval: Duration = 10.0  # how often silence is checked [IDLE_CHECK_INTERVAL]
    # cap of the MQTT reconnect backoff [MAX_RECONNECT_DELAY]
    max_reconnect_delay: Duration = 300.0
    zero_after: Duration = 600.0  # protobuf: a value not resent for this long reads 0

    # the seed's naming
    metrics_prefix: str = Field(default="ecoflow", pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    device_name: str | None = Field(default=None, min_length=1)
    product_name: str | None = Field(default=None, min_length=1)
    device_general_key: str | None = Field(default=None, min_length=1)
    devices_json: ExistingFile = None

    # HTTP client of the developer API
    http_timeout: Duration = 10.0
    http_retries: int = Field(default=3, ge=0, le=10)
    http_backoff_factor: float = Field(default=0.5, ge=0.0, le=60.0)
    device_list_cache_ttl: Duration = 60.0

    interval: Duration = 10.0  # the seed's COLLECTING_INTERVAL
    timeout: Duration = 30.0
    # Streams: online while data arrives, assumed offline (and nudged) after 300 s of
    # silence, down after 900 s (DESIGN).
    stale_after: Duration = 900.0

    @model_validator(mode="after")
    def _account_stream(self) -> EcoflowConfig:
        if isinstance(self.serial, tuple):
            if self.api not in ACCOUNT_APIS:
                raise ValueError(
                    f'api: {self.api} takes one serial or "*"; a list is for api: mqtt/device'
                )
            if not self.serial or len(set(self.serial)) != len(self.serial):
                raise ValueError("a list of serials must be non-empty and without repeats")
        if self.assume_offline_after > self.stale_after:
            raise ValueError("assume_offline_after must not exceed stale_after (down)")
        return self

    @field_validator("broker", mode="before")
    @classmethod
    def _broker_scheme(cls, value: object) -> object:
        """``mqtts://host:port`` is accepted and kept as ``host:port`` (TLS is the only way)."""
        if isinstance(value, str) and "://" in value:
            scheme, _, rest = value.partition("://")
            if scheme.lower() != "mqtts":
                raise ValueError("the broker is reached over TLS: mqtts://host:port or host:port")
            return rest.rstrip("/")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if "://" in value:
            if not _URL.match(value):
                raise ValueError("a host name such as api-e.ecoflow.com, or an http(s) URL")
            return value.rstrip("/")
        if not _HOST.match(value):
            raise ValueError(f"a host name such as {', '.join(KNOWN_HOSTS)}, or a URL")
        return value

    @field_validator("devices_json")
    @classmethod
    def _devices_json(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                devices.load(value)
            except devices.DevicesFileError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _credentials(self) -> EcoflowConfig:
        developer = [k for k in ("access_key", "secret_key") if self._secret(k) is not None]
        account = ["user"] if self.user else []
        account += ["password"] if self._secret("password") is not None else []
        if developer and account:
            raise ValueError(
                f"developer keys ({', '.join(developer)}) and account credentials"
                f" ({', '.join(account)}) are both set: use one (developer keys with"
                " api: rest or open_mqtt, the app account with api: mqtt or device)"
            )
        for key in ("access_key", "secret_key", "password"):
            if getattr(self, key) is not None and getattr(self, f"{key}_file") is not None:
                raise ValueError(f"{key} and {key}_file are both set: use one")
        if self.api in DEVELOPER_APIS:
            missing = [k for k in ("access_key", "secret_key") if self._secret(k) is None]
            if missing:
                raise ValueError(
                    f"api: {self.api} needs {' and '.join(missing)} (or {missing[0]}_file):"
                    " the developer keys from developer.ecoflow.com"
                )
        elif not self.user or self._secret("password") is None:
            raise ValueError(f"api: {self.api} needs user and password (or password_file)")
        if self.api == "rest" and self.broker is not None:
            raise ValueError("broker applies to the MQTT APIs, not to api: rest")
        if self.fan_out and self.device_name is not None:
            raise ValueError("device_name names one device; it cannot apply to several serials")
        if self.http_timeout > self.timeout:
            raise ValueError("http_timeout must not exceed timeout (the budget of a whole read)")
        return self

    @property
    def fan_out(self) -> bool:
        """Whether the entry serves several devices, each named ``<name>/<serial>``."""
        return self.serial == "*" or isinstance(self.serial, tuple)

    @property
    def fans_out(self) -> bool:
        """A fan-out entry, for sharding (see ``DeviceConfig.fans_out``)."""
        return self.fan_out

    @property
    def fan_out_devices(self) -> frozenset[str] | None:
        """A list of serials names its devices up front; ``"*"`` finds them in the account."""
        if isinstance(self.serial, tuple):
            return frozenset(f"{self.name}/{sn}" for sn in self.serial)
        return None

    @property
    def one_serial(self) -> str:
        """The serial of a single-device entry, or ``"*"`` (a list has none)."""
        if isinstance(self.serial, tuple):
            raise ValueError("this entry lists several serials")  # noqa: TRY004 (a config fact)
        return self.serial

    def wanted(self, listed: Iterable[str]) -> list[str]:
        """The serials this entry serves, out of the account's device list."""
        if self.serial == "*":
            return sorted(listed)
        return list(self.serial) if isinstance(self.serial, tuple) else [self.serial]

    def _secret(self, key: str) -> SecretStr | None:
        value = getattr(self, key)
        if value is None:
            value = getattr(self, f"{key}_file")
        return value if isinstance(value, SecretStr) else None

    def developer_keys(self) -> tuple[str, str]:
        """(access key, secret key); only for the developer APIs."""
        access, secret = self._secret("access_key"), self._secret("secret_key")
        if access is None or secret is None:  # the validator made sure of it
            raise ValueError("no developer keys configured")
        return access.get_secret_value(), secret.get_secret_value()

    def account_password(self) -> str:
        """The app account's password; only for api: mqtt and device."""
        password = self._secret("password")
        if password is None:
            raise ValueError("no account password configured")
        return password.get_secret_value()

    @property
    def base_url(self) -> str:
        """``https://<host>``, or ``host`` itself when it is a URL."""
        host = self.host or (DEFAULT_HOST if self.api in DEVELOPER_APIS else DEFAULT_ACCOUNT_HOST)
        return host if "://" in host else f"https://{host}"


def _number(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


# Seed 002's variables -> our keys (values are validated by the model like a file's).
_ENV_KEYS: Final[Mapping[str, str]] = {
    "ECOFLOW_ACCESS_KEY": "access_key",
    "ECOFLOW_SECRET_KEY": "secret_key",
    "ECOFLOW_API_HOST": "host",
    "METRICS_PREFIX": "metrics_prefix",
    "COLLECTING_INTERVAL": "interval",
    "HTTP_TIMEOUT": "http_timeout",
    "HTTP_RETRIES": "http_retries",
    "HTTP_BACKOFF_FACTOR": "http_backoff_factor",
    "DEVICE_LIST_CACHE_TTL": "device_list_cache_ttl",
    "ECOFLOW_DEVICE_NAME": "device_name",
    "ECOFLOW_PRODUCT_NAME": "product_name",
    "ECOFLOW_DEVICE_GENERAL_KEY": "device_general_key",
    "ECOFLOW_DEVICES_JSON": "devices_json",
    "QUOTA_REQUEST_INTERVAL": "quota_request_interval",
    "MQTT_TIMEOUT": "mqtt_timeout",
    "MQTT_KEEPALIVE": "mqtt_keepalive",
    "IDLE_CHECK_INTERVAL": "idle_check_interval",
    "MAX_RECONNECT_DELAY": "max_reconnect_delay",
}
# Accepted for compatibility, with no key of their own: the runtime retries with capped
# backoff for as long as it runs instead of sleeping RETRY_TIMEOUT and giving up after
# ESTABLISH_ATTEMPTS.
ACCEPTED_ENV: Final = ("RETRY_TIMEOUT", "ESTABLISH_ATTEMPTS")
# The app-account variables; api: mqtt/device read them (their defaults live there).
ACCOUNT_ENV: Final = ("ECOFLOW_ACCOUNT_USER", "ECOFLOW_ACCOUNT_PASSWORD")


def from_env(environ: Mapping[str, str]) -> list[dict[str, object]]:
    """The device seed 002 would read, from its environment variables (none: ``[]``).

    The device is named by its serial, so its series carry ``device="<SN>"`` as the seed's
    did. With developer keys it is ``api: rest``; with account credentials the app-account
    variables decide (``ECOFLOW_API_TYPE``, default ``mqtt``); with both, the configuration
    error says so.
    """
    serial = environ.get("ECOFLOW_DEVICE_SN", "").strip()
    if not serial:
        return []
    device: dict[str, object] = {"name": serial, "source": "ecoflow", "serial": serial}
    for variable, key in _ENV_KEYS.items():
        value = _number(environ, variable)
        if value is not None:
            device[key] = value
    # Seed 001 spelled it METRICTS_PREFIX; seed 002's spelling wins when both are set.
    if "metrics_prefix" not in device and (old := _number(environ, "METRICTS_PREFIX")):
        device["metrics_prefix"] = old
    user = _number(environ, "ECOFLOW_ACCOUNT_USER")
    password = environ.get("ECOFLOW_ACCOUNT_PASSWORD") or None
    if user is not None:
        device["user"] = user
    if password is not None:
        device["password"] = password
    developer = "access_key" in device or "secret_key" in device
    if user is not None or password is not None:
        device["api"] = (environ.get("ECOFLOW_API_TYPE") or "mqtt").strip().lower()
    elif developer:
        device["api"] = "rest"
    if "http_timeout" in device:
        with contextlib.suppress(ValueError):  # the model reports a bad HTTP_TIMEOUT
            device["timeout"] = max(30.0, float(str(device["http_timeout"])) + 10.0)
    return [device]
