"""``api: open_mqtt``: EcoFlow's developer MQTT pushes, with the device list as judge.

Every entry on one key pair is a subscription on the pair's one session (``open_hub.py``,
held in the registry of ``accounts.py``): two entries, or one entry per device, cost one
connection. The hub reconnects by itself, so a broker restart or a dropped connection takes
no device down: a device goes down when EcoFlow says it is offline (a ``/status`` push, or the
device list asked after ``ASSUME_OFFLINE`` seconds of silence), or when its values go stale
(the runtime's ``stale_after``). With ``serial: "*"`` the device list is read every
``device_list_cache_ttl``: a device added to the account appears within one interval, and a
:class:`~power_exporter.model.Roster` retires those gone from it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Self

from power_exporter.errors import AuthError, OfflineError, ProtocolError, SourceError
from power_exporter.model import DeviceFault, Roster
from power_exporter.sources.base import everything
from power_exporter.sources.ecoflow.accounts import Accounts, developer_key
from power_exporter.sources.ecoflow.app_hub import AccountFault, Inbox, Listing
from power_exporter.sources.ecoflow.config import EcoflowConfig
from power_exporter.sources.ecoflow.flatten import FlatMap
from power_exporter.sources.ecoflow.open_hub import OpenMqttHub, take
from power_exporter.sources.ecoflow.open_mqtt import Push, quota_of_push, status_of_push
from power_exporter.sources.ecoflow.source import (
    ASSUME_OFFLINE,
    ReadingBuilder,
    device_name,
    rest_client,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping
    from types import TracebackType

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig
    from power_exporter.sources.ecoflow.open_hub import Delivery
    from power_exporter.sources.ecoflow.rest import DeviceInfo, RestClient

log = logging.getLogger(__name__)

_BATCH: Final = 10_000  # deliveries taken from the queue at once (the inbox's limit)
_COALESCE: Final = 0.25  # seconds a device's pushes merge before its next Reading
_SUBSCRIBE_WAIT: Final = 3.0  # seconds the first quota/all waits for the subscription


@dataclass(slots=True)
class _Device:
    """What the stream knows of one device."""

    sn: str
    name: str
    info: DeviceInfo | None
    quota: FlatMap = field(default_factory=FlatMap)
    online: bool = False
    last_data: float | None = None
    nudged_at: float | None = None


class OpenMqttSource:
    """The devices of one ``api: open_mqtt`` entry, as a subscription on its key pair."""

    def __init__(
        self,
        cfg: EcoflowConfig,
        accounts: Accounts | None = None,
        *,
        assume_offline: float = ASSUME_OFFLINE,
    ) -> None:
        self._cfg = cfg
        self._accounts = accounts if accounts is not None else Accounts()
        self._key = developer_key("open_mqtt", cfg)
        self._builder = ReadingBuilder(cfg)
        self._assume_offline = assume_offline
        self._devices: dict[str, _Device] = {}
        self._inbox: Inbox[Delivery] = Inbox(wants_list=cfg.serial == "*")
        self._hub: OpenMqttHub | None = None
        self._owns: Callable[[str], bool] = everything
        self.pushes = 0  # quota pushes merged

    def __repr__(self) -> str:
        return f"OpenMqttSource(name={self._cfg.name!r}, serial={self._cfg.serial!r})"

    def restrict(self, owns: Callable[[str], bool]) -> None:
        """Sharded: subscribe to the devices this replica owns only."""
        self._owns = owns

    @property
    def hub(self) -> OpenMqttHub | None:
        """The key pair's shared session while the source is entered."""
        return self._hub

    async def __aenter__(self) -> Self:
        cfg = self._cfg
        self._hub = await self._accounts.acquire(
            self._key, OpenMqttHub, lambda: OpenMqttHub(rest_client(cfg), cfg)
        )
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
            await self._accounts.release(self._key)
        while not self._inbox.queue.empty():  # what arrived unread goes with the entry
            self._inbox.queue.get_nowait()

    @property
    def _rest(self) -> RestClient:
        if self._hub is None:
            raise RuntimeError("OpenMqttSource used outside `async with`")
        return self._hub.rest

    def stream(self) -> AsyncIterator[Event]:
        """Events as the devices push data, across reconnects, until an account-wide fault."""
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        listing = await self._rest.device_list(refresh=True)
        for event in await self._adopt(listing):
            yield event
        wait = max(0.05, min(30.0, self._assume_offline / 10))
        check_at = time.monotonic() + wait
        touched: dict[str, _Device] = {}  # merged since their last Reading
        flush_at = 0.0
        while True:
            batch = await self._take(flush_at if touched else None, wait)
            had = bool(touched)
            for event in await self._batch(batch, touched):
                yield event
            now = time.monotonic()
            if touched and not had:
                flush_at = now + _COALESCE
            if touched and now >= flush_at:
                for state in touched.values():
                    yield self._reading(state)
                touched.clear()
            if now >= check_at:  # silence: once per ``wait``
                check_at = now + wait
                for event in await self._check_silence():
                    yield event

    async def _take(self, flush_at: float | None, wait: float) -> list[Delivery]:
        """What arrived: in a burst (``flush_at`` set) all of it at the flush.

        Otherwise the next delivery (within ``wait``) and whatever queued with it.
        """
        queue = self._inbox.queue
        if flush_at is not None:  # let the burst queue up, then take it all at once
            await asyncio.sleep(max(0.0, flush_at - time.monotonic()))
            item = queue.get_nowait() if not queue.empty() else None
        else:
            item = await take(queue, wait)
        batch = [item] if item is not None else []
        while batch and not queue.empty() and len(batch) < _BATCH:
            batch.append(queue.get_nowait())
        return batch

    async def _adopt(self, listing: Mapping[str, DeviceInfo]) -> list[Event]:
        """Devices of the list this entry serves and does not have yet, from ``quota/all``."""
        cfg = self._cfg
        events: list[Event] = []
        new: list[_Device] = []
        for sn in cfg.wanted(listing):
            if not self._owns(device_name(cfg, sn)):
                continue
            if sn in self._devices:
                self._devices[sn].info = listing.get(sn) or self._devices[sn].info
            else:
                new.append(self._devices.setdefault(sn, _Device(sn, device_name(cfg, sn), None)))
                self._devices[sn].info = listing.get(sn)
        if new and self._hub is not None:
            # Subscribe first, then read quota/all: no push falls between the two (unless the
            # broker is unreachable now; pushes then fill in once it is back).
            self._inbox.serials = frozenset(self._devices)
            self._hub.changed()
            await self._hub.wait_subscribed(self._inbox.serials, _SUBSCRIBE_WAIT)
        for state in new:
            event = await self._first(state)
            if event is not None:
                events.append(event)
        if cfg.serial == "*":  # every listed device, whichever replica reads it
            events.append(Roster(cfg.name, frozenset(device_name(cfg, sn) for sn in listing)))
        return events

    async def _batch(self, items: list[Delivery], touched: dict[str, _Device]) -> list[Event]:
        """The events of what arrived together; quota pushes only merge into ``touched``.

        A device's quota pushes are merged one by one as they come, and its Reading (of the
        map after the last one) is made at most every ``_COALESCE`` seconds: under a burst the
        store still gets every value, without a Reading of the whole map per push. Anything
        else (a status push, a fault, the device list) first flushes what was merged, so the
        order of events holds.
        """
        events: list[Event] = []
        for item in items:
            state = self._devices.get(item.sn) if isinstance(item, Push) else None
            if state is not None and isinstance(item, Push) and item.kind == "quota":
                fault = self._merge(state, item)
                if fault is None:
                    touched[state.sn] = state
                else:
                    events.append(fault)
                continue
            events.extend(self._reading(state) for state in touched.values())
            touched.clear()
            events.extend(await self._on(item))
        return events

    def _merge(self, state: _Device, push: Push) -> Event | None:
        """Merge one quota push into the device's map (a fault if it is not one)."""
        if push.error is not None:
            return DeviceFault(state.name, push.error)
        try:
            state.quota.update(quota_of_push(push.data))
        except SourceError as exc:
            return DeviceFault(state.name, exc)
        self.pushes += 1
        state.online, state.last_data, state.nudged_at = True, time.monotonic(), None
        return None

    async def _on(self, item: Delivery) -> list[Event]:
        if isinstance(item, Push):
            event = self._on_push(item)
            return [event] if event is not None else []
        if isinstance(item, Listing):
            return await self._adopt(item.devices)
        if isinstance(item, AccountFault):
            raise item.error  # the key pair itself fails: every device of the entry alike
        return []

    async def _first(self, state: _Device) -> Event | None:
        """The device list's word at start; an online device starts from ``quota/all``."""
        if state.info is None:
            error = ProtocolError(f"device {state.sn} is not bound to this developer account")
            return DeviceFault(state.name, error)
        if not state.info.online:
            return DeviceFault(
                state.name, OfflineError(f"EcoFlow's device list says {state.sn} is offline")
            )
        try:
            state.quota = FlatMap()
            state.quota.update(await self._rest.quota_all(state.sn))
        except AuthError:
            raise
        except SourceError as exc:  # pushes will fill the map in
            log.debug("%s: no initial quota/all: %s", state.name, exc)
        state.online, state.last_data = True, time.monotonic()
        return self._reading(state)

    def _reading(self, state: _Device) -> Event:
        try:
            return self._builder.build_flat(state.name, state.sn, state.info, state.quota)
        except SourceError as exc:
            return DeviceFault(state.name, exc)

    def _on_push(self, push: Push) -> Event | None:
        state = self._devices.get(push.sn)
        if state is None:
            return None
        if push.kind == "quota":
            return self._merge(state, push) or self._reading(state)
        if push.error is not None:
            return DeviceFault(state.name, push.error)
        try:
            online = status_of_push(push.data)
        except SourceError as exc:
            return DeviceFault(state.name, exc)
        if not online:
            state.online = False
            return DeviceFault(state.name, OfflineError(f"EcoFlow says {state.sn} went offline"))
        state.online = True
        return self._reading(state) if state.quota.numbers or state.quota.text else None

    async def _check_silence(self) -> list[Event]:
        """Nudge silent devices with a device-list request; down if it says offline."""
        now = time.monotonic()
        silent = [
            state
            for state in self._devices.values()
            if state.online
            and state.last_data is not None
            and now - state.last_data >= self._assume_offline
            and (state.nudged_at is None or now - state.nudged_at >= self._assume_offline)
        ]
        if not silent:
            return []
        for state in silent:
            state.nudged_at = now
        try:
            listing = await self._rest.device_list(refresh=True)
        except AuthError:
            raise
        except SourceError as exc:
            log.debug("device list for silent devices failed: %s", exc)
            return []
        events: list[Event] = []
        for state in silent:
            info = listing.get(state.sn)
            if info is None or not info.online:
                state.online = False
                silence = now - (state.last_data or now)
                error = OfflineError(
                    f"{state.sn} silent for {silence:.0f} s and offline in EcoFlow's device list"
                )
                events.append(DeviceFault(state.name, error))
            else:
                log.debug("%s silent but online in the device list; keeping its values", state.name)
        return events


def open_source(cfg: DeviceConfig, accounts: Accounts | None = None) -> OpenMqttSource:
    """The source of an ``api: open_mqtt`` entry."""
    if not isinstance(cfg, EcoflowConfig) or cfg.api != "open_mqtt":
        raise TypeError(f"not an open_mqtt configuration: {cfg!r}")
    return OpenMqttSource(cfg, accounts)
