"""What every source provides: its config model, its source object and its raw naming.

A *polled* source answers ``read()`` with the events of one poll; a *streaming* source
yields events as they arrive from ``stream()``. Both are async context managers that own
their connections. Either may serve several devices (``ups: "*"``, ``serial: "*"``,
``path: auto``): every event names its device, and the runtime tracks each one.

Backoff, timeouts around ``read()``, staleness and reconnection belong to the runtime; a
source raises :class:`~power_exporter.errors.SourceError` and lets the runtime decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Final,
    Literal,
    Protocol,
    Self,
    TypeAlias,
    runtime_checkable,
)

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from power_exporter.model import RESERVED_LABELS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
    from types import TracebackType

    from pydantic import ValidationInfo

    from power_exporter.model import DeviceIdentity, Event, Reading

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS: Final[Mapping[str, float]] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


class FieldError(ValueError):
    """A model validator's error that belongs to one key: the loader points at that key's line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_duration(value: object) -> float:
    """Turn ``30s``, ``5m``, ``1.5h``, ``250ms`` or a bare number of seconds into seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration, such as 30s or 5m, not a boolean")  # noqa: TRY004
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    else:
        raise ValueError(
            f"{value!r} is not a duration: a number with a unit, ms, s, m, h or d"
            " (30s, 5m, 1h); a bare number is seconds"
        )
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration: TypeAlias = Annotated[float, BeforeValidator(parse_duration)]


def beside_config(path: str, info: ValidationInfo) -> str:
    """Resolve a relative path against the config file's folder (the loader's ``base_dir``)."""
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if base is None or Path(path).is_absolute():
        return path
    return str(Path(base) / path)


# What a peer can make one entry hold: devices of a fan-out, variables of a device. A real
# upsd serves a few dozen UPSes of ~100 variables each; EcoFlow stations send ~600 quotas.
DEFAULT_MAX_DEVICES: Final = 1000
DEFAULT_MAX_VARIABLES: Final = 1000


_LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
TAKEN_LABELS: Final = RESERVED_LABELS | {
    # labels of the exporter's own series and of the sources' raw series
    "outlet", "phase", "ups", "source", "vendor", "model", "serial", "firmware", "mfr", "type",
    "description", "contact", "location", "part", "macaddr", "device_name", "product_name",
    "device_general_key", "hostname", "battery", "circuit",
}  # fmt: skip
"""Label names a device's static ``labels`` cannot use: they would clash with a series' own."""


def static_label_problem(name: str) -> str | None:
    """Say why ``name`` cannot be a static label of a device, or return None."""
    if not _LABEL_NAME.match(name) or name.startswith("__"):
        return f"{name!r} is not a Prometheus label name"
    if name in TAKEN_LABELS or re.fullmatch(r"index_\d+", name):
        return f"label {name!r} is taken by the exporter's own series: choose another name"
    return None


class DeviceConfig(BaseModel):
    """The keys every device has; each source kind extends it with its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[^\s/]+$")
    source: str
    interval: Duration = 15.0
    timeout: Duration = 10.0
    # A streaming device with no message for this long is down; polled devices ignore it.
    stale_after: Duration = 60.0
    # A device of a fan-out entry missing from the entry's device list this long is retired.
    retire_after: Duration = 3600.0
    # A fan-out entry (ups: "*", serial: "*", path: auto) makes at most this many devices;
    # more are not created (logged once, counted in power_exporter_devices_dropped_total).
    max_devices: int = Field(default=DEFAULT_MAX_DEVICES, ge=1)
    # A device keeps at most this many raw (numeric) and as many text variables of a reading;
    # the rest are dropped (logged once).
    max_variables: int = Field(default=DEFAULT_MAX_VARIABLES, ge=1)
    # Static labels on every series of the device (site, rack...).
    labels: dict[str, str] = Field(default_factory=dict)

    # /probe reads a polled device afresh at most this often (None: half of ``interval``);
    # probes in between share the read in flight or get the newest probe reading.
    probe_min_interval: Duration | None = None

    @property
    def probe_spacing(self) -> float:
        """Seconds between two fresh reads made for ``/probe``."""
        return self.probe_min_interval or self.interval / 2

    @field_validator("labels")
    @classmethod
    def _check_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            problem = static_label_problem(name)
            if problem is not None:
                raise ValueError(problem)
        return value

    @property
    def static_labels(self) -> tuple[tuple[str, str], ...]:
        """The ``labels`` as sorted (name, value) pairs."""
        return tuple(sorted(self.labels.items()))

    def labels_for(self, device: str) -> tuple[tuple[str, str], ...]:
        """The static labels of one device of this entry (a kind may add its own)."""
        del device
        return self.static_labels

    @property
    def fans_out(self) -> bool:
        """Whether the entry's devices are found at run time, each named ``<entry>/<sub>``.

        A sharded fleet runs such an entry on every replica, each keeping the devices it
        owns; any other entry runs, whole, on the one replica that owns its name.
        """
        return False

    @property
    def fan_out_devices(self) -> frozenset[str] | None:
        """A fan-out entry's device names when the config lists them (None: found at run time).

        A sharded replica that owns none of them never opens the entry (no session at all).
        """
        return None


@runtime_checkable
class PolledSource(Protocol):
    """A source the runtime reads at the device's interval."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def read(self) -> Sequence[Event]:
        """Read every device of this source once."""
        ...


@runtime_checkable
class StreamingSource(Protocol):
    """A source whose devices push data."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def stream(self) -> AsyncIterator[Event]:
        """Yield events as devices send them, until the connection fails."""
        ...


@runtime_checkable
class OneDeviceSource(Protocol):
    """A polled source that can read one of its devices on its own, for ``/probe``.

    ``read_one`` must be safe to run beside ``read()`` and beside itself (the runtime takes
    no lock for it): a NUT source opens a short-lived connection of its own, the EcoFlow REST
    source asks for that one serial. Sources without it are probed by a read of their whole
    entry under the entry's lock, filtered to the device.
    """

    async def read_one(self, device: str) -> Sequence[Event]:
        """Read ``device`` (one of this source's device names) afresh."""
        ...


@runtime_checkable
class ShardAware(Protocol):
    """A fan-out source that can leave alone the devices another replica owns.

    When the exporter runs sharded, the runtime calls ``restrict`` once, before entering
    the source: from then on the source may list every device (one cheap request, for its
    ``Roster``) but should read, subscribe to or open sessions for only the devices
    ``owns`` accepts (by device name, ``<entry>/<sub>``). The runtime drops the events of
    other devices anyway; this spares the upstream the work.
    """

    def restrict(self, owns: Callable[[str], bool]) -> None:
        """Read only the devices whose name ``owns`` accepts."""
        ...


def everything(_device: str) -> bool:
    """The ``owns`` of an unsharded exporter: every device is this replica's."""
    return True


Source: TypeAlias = PolledSource | StreamingSource

MetricKind: TypeAlias = Literal["gauge", "counter", "info"]


@dataclass(frozen=True, slots=True)
class RawFamily:
    """A metric family a source's raw naming produces (name includes any ``_total``/``_info``)."""

    name: str
    kind: MetricKind
    help: str


@dataclass(frozen=True, slots=True)
class RawSample:
    """One raw sample; the exposition adds the ``device`` label in front of ``labels``."""

    family: RawFamily
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class RawNaming(Protocol):
    """How a kind's native values become metric families of their own (seed-compatible names)."""

    def samples(self, reading: Reading) -> Iterable[RawSample]:
        """The raw samples of a good reading."""
        ...

    def down_samples(self, identity: DeviceIdentity) -> Iterable[RawSample]:
        """What stays exposed while the device is down (e.g. ``ecoflow_online 0``)."""
        ...


class NoRawNaming:
    """For kinds that export no raw families."""

    def samples(self, reading: Reading) -> Iterable[RawSample]:  # noqa: ARG002
        """Nothing."""
        return ()

    def down_samples(self, identity: DeviceIdentity) -> Iterable[RawSample]:  # noqa: ARG002
        """Nothing."""
        return ()


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One registry entry: everything the core needs to know of a kind of device."""

    name: str
    config: type[DeviceConfig]
    open: Callable[[DeviceConfig], Source]
    naming: RawNaming = field(default_factory=NoRawNaming)
    description: str = ""
    # Seed compatibility: device config dicts built from the environment variables of the tool
    # this kind replaces, used when no config file is given (empty list: nothing configured).
    from_env: Callable[[Mapping[str, str]], list[dict[str, object]]] | None = None
    # `power-exporter read TARGET`: the schemes this kind answers (``nut`` for ``nut://...``,
    # ``tripplite`` for ``tripplite`` / ``tripplite:PATH``), and how a target becomes a config dict.
    target_schemes: tuple[str, ...] = ()
    target_config: Callable[[str], dict[str, object]] | None = None
    # `read` prints the readings as JSON; a kind whose seed printed its own JSON renders it here.
    render_read: Callable[[Sequence[Reading]], str] | None = None
    # `power-exporter discover [WHERE]`: device config dicts for what this kind finds (a upsd's
    # UPSes, USB HID UPSes); WHERE is the user's argument (e.g. host:port) or None.
    discover: Callable[[str | None], Awaitable[list[dict[str, object]]]] | None = None
