"""``api: mqtt`` and ``api: device``: the devices of an EcoFlow app account, over its MQTT.

Every entry of one account shares the account's one MQTT session (``app_hub.py``, held in
the registry of ``accounts.py``): the entry is a subscription on it, for one serial, a list
of serials, or ``"*"`` (every device in the account's device list, each named
``<name>/<serial>``, with a :class:`~power_exporter.model.Roster` whenever the list is read,
so devices gone from the account retire after ``retire_after``).

- ``api: mqtt`` is passive: it asks nothing, except once when a device turns *assume
  offline* (the read-only nudge of the online model, ``online.py``).
- ``api: device`` also asks a silent device for everything it knows (``device_api.py``):
  after ``quota_request_interval``, then less and less often while it never answers
  (doubling up to ``assume_offline_after``), never while pushes arrive.

The hub owns reconnection, so a broker restart or a dropped connection does not take devices
down: their online model decides (assume offline after 300 s, down after 900 s). Account-wide
failures (login, refused credentials) take down every device of the entry with the error.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Self

from power_exporter.model import DeviceFault, Roster
from power_exporter.sources.base import everything
from power_exporter.sources.ecoflow.accounts import Accounts, app_key
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.app_hub import (
    AccountFault,
    AppHub,
    Inbox,
    Listing,
    Payload,
    next_item,
    parse_broker,
)
from power_exporter.sources.ecoflow.config import EcoflowConfig
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.source import ReadingBuilder

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from types import TracebackType

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig
    from power_exporter.sources.ecoflow.account import AppAccount
    from power_exporter.sources.ecoflow.app_hub import Delivery
    from power_exporter.sources.ecoflow.rest import DeviceInfo

__all__ = ["AppMqttSource", "open_source", "parse_broker"]

log = logging.getLogger(__name__)


class AppMqttSource:
    """The devices of one ``api: mqtt``/``device`` entry, as a subscription on its account."""

    def __init__(self, cfg: EcoflowConfig, accounts: Accounts | None = None) -> None:
        self.cfg = cfg
        self._accounts = accounts if accounts is not None else Accounts()
        self.account: AppAccount = self._accounts.app_account_of(cfg)
        self._builder = ReadingBuilder(cfg)
        self.devices: dict[str, AppDevice] = {}
        self._hub: AppHub | None = None
        self._inbox: Inbox[Delivery] = Inbox(wants_list=cfg.fan_out)
        self._owns: Callable[[str], bool] = everything
        if cfg.serial != "*":
            for sn in cfg.wanted(()):
                self._add_device(sn, None)

    def __repr__(self) -> str:
        return f"AppMqttSource(name={self.cfg.name!r}, api={self.cfg.api!r})"

    @property
    def device(self) -> AppDevice:
        """The device of a single-serial entry."""
        return self.devices[self.cfg.one_serial]

    @property
    def hub(self) -> AppHub | None:
        """The account's shared session while the source is entered."""
        return self._hub

    def restrict(self, owns: Callable[[str], bool]) -> None:
        """Sharded: keep (and later add) only the devices this replica owns."""
        self._owns = owns
        for sn in [sn for sn, device in self.devices.items() if not owns(device.name)]:
            del self.devices[sn]
        self._inbox.serials = frozenset(self.devices)

    def _name(self, sn: str) -> str:
        return f"{self.cfg.name}/{sn}" if self.cfg.fan_out else self.cfg.name

    def _add_device(self, sn: str, info: DeviceInfo | None) -> AppDevice:
        cfg = self.cfg
        name = self._name(sn)
        identity, family = self._builder.identity(name, sn, info)
        online = OnlineModel(
            started=time.monotonic(),
            assume_offline_after=cfg.assume_offline_after,
            offline_after=cfg.stale_after,
            nudge_every=cfg.quota_request_interval if cfg.api == "device" else None,
        )
        device = AppDevice(name, sn, identity, family, online, keep_for=cfg.stale_after)
        self.devices[sn] = device
        self._inbox.serials = frozenset(self.devices)
        return device

    async def __aenter__(self) -> Self:
        cfg, account = self.cfg, self.account
        self._hub = await self._accounts.acquire(app_key(cfg), AppHub, lambda: AppHub(account, cfg))
        self._hub.add(self._inbox)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        hub, self._hub = self._hub, None
        if hub is not None:
            hub.remove(self._inbox)
            await self._accounts.release(app_key(self.cfg))

    def stream(self) -> AsyncIterator[Event]:
        """Events as the devices send data, across reconnects, until cancelled."""
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        hub = self._hub
        if hub is None:
            raise RuntimeError("AppMqttSource used outside `async with`")
        queue = self._inbox.queue
        while True:
            item = await next_item(queue, self.cfg.idle_check_interval)
            now = time.monotonic()
            if item is not None:
                for event in self._on(item, now):
                    yield event
            for device in list(self.devices.values()):
                for event in device.tick(now):
                    yield event
                if device.online.nudge_due(now) and await hub.ask(
                    device.serial, protobuf=device.protobuf
                ):
                    device.online.nudged(now)
                    device.counts["requests"] += 1
                    log.debug("%s: asked %s for its values", device.name, device.serial)

    def _on(self, item: Delivery, now: float) -> list[Event]:
        if isinstance(item, Payload):
            device = self.devices.get(item.sn)
            return device.on_payload(item.payload, reply=item.reply, now=now) if device else []
        if isinstance(item, Listing):
            return self._on_listing(item.devices)
        if isinstance(item, AccountFault):
            names = [device.name for device in self.devices.values()] or [self.cfg.name]
            return [DeviceFault(name, item.error) for name in names]
        return []

    def _on_listing(self, listing: dict[str, DeviceInfo]) -> list[Event]:
        if not self.cfg.fan_out:
            return []
        wanted = self.cfg.wanted(listing)
        added = [sn for sn in wanted if sn not in self.devices and self._owns(self._name(sn))]
        for sn in added:
            self._add_device(sn, listing.get(sn))
        if self.cfg.serial == "*":
            for sn in [sn for sn in self.devices if sn not in listing]:
                del self.devices[sn]  # the roster retires it after retire_after
            self._inbox.serials = frozenset(self.devices)
        if added or self.cfg.serial == "*":
            hub = self._hub
            if hub is not None:
                hub.changed()
        if added:
            log.info("%s: %d devices from the account's list", self.cfg.name, len(added))
        listed = frozenset(self._name(sn) for sn in wanted if sn in listing)
        return [Roster(self.cfg.name, listed)]


def open_source(cfg: DeviceConfig, accounts: Accounts | None = None) -> AppMqttSource:
    """The source of an ``api: mqtt`` or ``api: device`` entry."""
    if not isinstance(cfg, EcoflowConfig) or cfg.api not in {"mqtt", "device"}:
        raise TypeError(f"not an app-account configuration: {cfg!r}")
    return AppMqttSource(cfg, accounts)
