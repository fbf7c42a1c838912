"""The ``ecoflow`` sources with developer keys: polled REST and the developer MQTT stream.

Online is decided by EcoFlow's device list (``online`` 1/0), never by quota data alone:
``quota/all`` keeps serving last-known values for devices that have been offline for
days. An offline device yields ``DeviceFault(OfflineError)``: the runtime takes it down,
its series go, ``ecoflow_online 0`` stays (the naming's ``down_samples``).

The stream is online while data arrives. After ``ASSUME_OFFLINE`` seconds of silence the
device is *assumed* offline: its last values stay, and the device list is asked (the
read-only nudge of the developer API); if the list says offline, the device goes down,
otherwise it stays up until the runtime's ``stale_after`` (900 s) runs out. ``/status``
pushes say online/offline directly.

``serial: "*"`` serves every device bound to the account, each named ``<name>/<serial>``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from typing import TYPE_CHECKING, Final, Self

from power_exporter.errors import (
    AuthError,
    ConnectError,
    DeviceTimeoutError,
    OfflineError,
    ProtocolError,
    SourceError,
)
from power_exporter.model import DeviceFault, DeviceIdentity, Reading, Roster, checked_measures
from power_exporter.sources.base import PolledSource, StreamingSource, everything
from power_exporter.sources.ecoflow import devices, families, more_families
from power_exporter.sources.ecoflow.accounts import Accounts, RestHub, developer_key
from power_exporter.sources.ecoflow.config import EcoflowConfig
from power_exporter.sources.ecoflow.energy import EnergyCounters
from power_exporter.sources.ecoflow.flatten import Flat, FlatMap, flatten
from power_exporter.sources.ecoflow.naming import PREFIX_LABEL
from power_exporter.sources.ecoflow.rest import DeviceAuthError, DeviceInfo, RestClient
from power_exporter.sources.lru import LruCache

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig, Source

log = logging.getLogger(__name__)

ASSUME_OFFLINE: Final = 300.0  # seconds of silence before the stream nudges (DESIGN)
_CONCURRENT_QUOTAS: Final = 8  # quota/all requests in flight per entry
# A fan-out read ends this share of the entry's timeout in: devices not answered by then are
# down with a timeout, the others keep their values (the runtime's own timeout is the rest).
_READ_SHARE: Final = 0.9
_LOGGED_LIMIT: Final = 1000
_ENERGY_DEVICES: Final = 65_536
# api -> module providing ``open_source(cfg, accounts)`` for the streaming APIs.
_ACCOUNT_MODULES: Final[Mapping[str, str]] = {
    "open_mqtt": "power_exporter.sources.ecoflow.open_stream",
    "mqtt": "power_exporter.sources.ecoflow.app_mqtt",
    "device": "power_exporter.sources.ecoflow.app_mqtt",
}


def device_name(cfg: EcoflowConfig, sn: str) -> str:
    """The configured name for one serial, ``<name>/<serial>`` under ``serial: "*"``."""
    return cfg.name if cfg.serial != "*" else f"{cfg.name}/{sn}"


def rest_client(cfg: EcoflowConfig) -> RestClient:
    """The developer REST client a configuration describes."""
    access_key, secret_key = cfg.developer_keys()
    return RestClient(
        cfg.base_url,
        access_key,
        secret_key,
        http_timeout=cfg.http_timeout,
        retries=cfg.http_retries,
        backoff_factor=cfg.http_backoff_factor,
        list_ttl=cfg.device_list_cache_ttl,
        ca_file=cfg.ca_file,
    )


class ReadingBuilder:
    """Quota maps -> Readings, with the identity labels of the seed and the family tables."""

    def __init__(self, cfg: EcoflowConfig) -> None:
        self._cfg = cfg
        self._logged: set[tuple[str, str]] = set()
        self._identities: dict[
            tuple[str, str, DeviceInfo | None], tuple[DeviceIdentity, str | None]
        ] = {}
        # Bounded, and far above any account's device count: evicting a device's counters
        # would lose the offsets that keep its energy counters from going back.
        self._energy: LruCache[str, EnergyCounters] = LruCache(_ENERGY_DEVICES)

    def energy(self, name: str) -> EnergyCounters:
        """The energy counters of one device (kept across its readings)."""
        counters = self._energy.get(name)
        if counters is None:
            counters = EnergyCounters()
            self._energy.put(name, counters)
        return counters

    def identity(
        self, name: str, sn: str, info: DeviceInfo | None
    ) -> tuple[DeviceIdentity, str | None]:
        """The identity of one device, and the family its serial names (kept per device)."""
        found = self._identities.get((name, sn, info))
        if found is not None:
            return found
        if len(self._identities) >= _LOGGED_LIMIT:
            self._identities.clear()
        found = self._identities[(name, sn, info)] = self._identity(name, sn, info)
        return found

    def _identity(
        self, name: str, sn: str, info: DeviceInfo | None
    ) -> tuple[DeviceIdentity, str | None]:
        cfg = self._cfg
        resolved = devices.resolve(
            sn,
            api_name=info.name if info else "",
            api_product=info.product_name if info else "",
            device_name=cfg.device_name,
            product_name=cfg.product_name,
            general_key=cfg.device_general_key,
            devices_json=cfg.devices_json,
        )
        labels = {
            "device_name": resolved.device_name,
            "product_name": resolved.product_name,
            "device_general_key": resolved.general_key,
            PREFIX_LABEL: cfg.metrics_prefix,
        }
        identity = DeviceIdentity(
            name=name,
            source="ecoflow",
            vendor="EcoFlow",
            model=resolved.product_name,
            serial=sn,
            labels=labels,
        )
        return identity, resolved.family

    def build(
        self, name: str, sn: str, info: DeviceInfo | None, quota: Mapping[str, object]
    ) -> Reading:
        """One reading; raises DecodeError for a payload too deep or too large."""
        return self.build_flat(name, sn, info, flatten(quota))

    def build_flat(
        self, name: str, sn: str, info: DeviceInfo | None, flat: Flat | FlatMap
    ) -> Reading:
        """One reading of an already flattened quota map."""
        identity, family_name = self.identity(name, sn, info)
        family = more_families.family_for(family_name, flat.numbers)
        if family is None:
            self._once(
                name,
                "family",
                "no normalized table for %s (%s): raw metrics only",
                sn,
                identity.model,
            )
            candidates = []
        else:
            candidates = families.measures(family, flat.numbers)
        energy = self.energy(name).measures(sn, flat.numbers) if family else {}
        good, problems = checked_measures([*candidates, *energy.items()], "ecoflow")
        for problem in problems:
            self._once(name, problem, "%s: dropped implausible value: %s", name, problem)
        flags, known = (
            families.flags(family, flat.numbers) if family else (frozenset(), frozenset())
        )
        return Reading(
            identity=identity,
            taken_at=time.time(),
            measures=good,
            labelled=more_families.all_labelled(family, flat.numbers) if family else {},
            flags=flags,
            known_flags=known,
            raw=dict(flat.numbers),
            text=dict(flat.text),
        )

    def _once(self, device: str, key: str, message: str, *args: object) -> None:
        """Log a data problem once per device (transitions, not every poll)."""
        if (device, key) in self._logged or len(self._logged) >= _LOGGED_LIMIT:
            return
        self._logged.add((device, key))
        log.info(message, *args)


class RestSource:
    """``api: rest``: reads the device list (cached) and ``quota/all`` at each interval.

    Entries on the same keys share one client, so one device-list fetch per interval serves
    them all. Each device of a read has its own budget: quota requests run a few at a time
    and the read ends within the entry's timeout whatever one device does; a device that
    does not answer in time is down with ``timeout``, one EcoFlow refuses (8512) with
    ``auth``, and the others are read as usual. Only account-wide refusals (bad keys,
    signature) fail the whole read.
    """

    def __init__(self, cfg: EcoflowConfig, accounts: Accounts | None = None) -> None:
        self._cfg = cfg
        self._accounts = accounts if accounts is not None else Accounts()
        self._key = developer_key("rest", cfg)
        self._client = rest_client(cfg)
        self._builder = ReadingBuilder(cfg)
        self._limit = asyncio.Semaphore(_CONCURRENT_QUOTAS)
        self._missing_checked: float | None = None
        self._owns: Callable[[str], bool] = everything

    def restrict(self, owns: Callable[[str], bool]) -> None:
        """Sharded: ask ``quota/all`` only for the devices this replica owns."""
        self._owns = owns

    def __repr__(self) -> str:
        return f"RestSource(name={self._cfg.name!r}, serial={self._cfg.serial!r})"

    async def __aenter__(self) -> Self:
        client = self._client
        hub = await self._accounts.acquire(self._key, RestHub, lambda: RestHub(client))
        self._client = hub.client
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._accounts.release(self._key)

    async def read(self) -> Sequence[Event]:
        """One poll of every configured device."""
        cfg = self._cfg
        deadline = time.monotonic() + cfg.timeout * _READ_SHARE
        listing = await self._client.device_list()
        if cfg.serial == "*":
            serials = [sn for sn in sorted(listing) if self._owns(device_name(cfg, sn))]
            if not listing:
                log.debug("%s: no devices are bound to this developer account", cfg.name)
        else:
            serials = [cfg.one_serial]
            if cfg.one_serial not in listing and self._recheck_missing():
                listing = await self._client.device_list(refresh=True)
        events: list[Event] = list(
            await asyncio.gather(*(self._one(sn, listing, deadline) for sn in serials))
        )
        if cfg.serial == "*":  # every listed device, whichever replica reads it
            events.append(Roster(cfg.name, frozenset(device_name(cfg, sn) for sn in listing)))
        return events

    async def read_one(self, device: str) -> Sequence[Event]:
        """Read one device (``/probe``): the device list (cached) and that serial's quota only."""
        cfg = self._cfg
        sn = device.removeprefix(f"{cfg.name}/") if cfg.serial == "*" else cfg.one_serial
        if sn == device and cfg.serial == "*":  # the entry's placeholder: nothing listed yet
            raise ConnectError(f"{cfg.name}: no device listed by the developer account yet")
        listing = await self._client.device_list()
        return [await self._one(sn, listing)]

    def _recheck_missing(self) -> bool:
        """Whether to fetch the list again for a serial it lacks (once per list TTL)."""
        now = time.monotonic()
        if self._missing_checked is not None and now - self._missing_checked < cfg_ttl(self._cfg):
            return False
        self._missing_checked = now
        return True

    async def _one(
        self, sn: str, listing: Mapping[str, DeviceInfo], deadline: float | None = None
    ) -> Event:
        name = device_name(self._cfg, sn)
        info = listing.get(sn)
        if info is None:
            error = ProtocolError(
                f"device {sn} is not bound to this developer account"
                f" (its device list has {len(listing)} devices)"
            )
            return DeviceFault(name, error)
        if not info.online:
            return DeviceFault(name, OfflineError(f"EcoFlow's device list says {sn} is offline"))
        try:
            async with asyncio.timeout_at(_loop_time(deadline)):
                async with self._limit:
                    quota = await self._client.quota_all(sn)
            return self._builder.build(name, sn, info, quota)
        except TimeoutError:
            budget = self._cfg.timeout * _READ_SHARE
            late = DeviceTimeoutError(f"no quota/all answer for {sn} within {budget:g} s")
            return DeviceFault(name, late)
        except DeviceAuthError as exc:
            return DeviceFault(name, exc)  # 8512: EcoFlow refuses this device only
        except AuthError:
            raise  # the account's keys: every device fails alike
        except SourceError as exc:
            return DeviceFault(name, exc)


def cfg_ttl(cfg: EcoflowConfig) -> float:
    """How long a device list is trusted."""
    return cfg.device_list_cache_ttl


def _loop_time(deadline: float | None) -> float | None:
    """A ``time.monotonic`` deadline on the event loop's clock (None: no deadline)."""
    if deadline is None:
        return None
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def open_source(cfg: DeviceConfig, accounts: Accounts | None = None) -> Source:
    """The source of one ``source: ecoflow`` entry, by its ``api``.

    Entries opened with the same ``accounts`` share each account's session; without one,
    the source has a registry of its own.
    """
    if not isinstance(cfg, EcoflowConfig):
        raise TypeError(f"not an ecoflow configuration: {cfg!r}")
    if cfg.api == "rest":
        return RestSource(cfg, accounts)
    try:
        module = importlib.import_module(_ACCOUNT_MODULES[cfg.api])
    except ImportError:
        raise ProtocolError(f"api: {cfg.api} is not available in this build") from None
    source = module.open_source(cfg, accounts)
    if not isinstance(source, PolledSource | StreamingSource):
        raise TypeError(f"{module.__name__}.open_source returned {source!r}")
    return source
