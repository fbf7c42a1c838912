"""The ``nut`` source: UPSes read from upsd, one pipelined round trip per poll.

Every configured device on one upsd (same server, credentials and TLS settings) shares one
persistent :class:`NutClient` from a small reference-counted pool, one per event loop
(so the runtime's, never shared across loops). ``ups: "*"`` serves every
UPS of the upsd as a device ``<name>/<ups>``: each poll sends ``LIST UPS`` along with the
``LIST VAR`` requests, so a UPS added later appears at the next poll (one more round trip
then). Each poll also says which UPSes upsd lists now (a :class:`Roster`): a UPS that leaves
is no longer polled, goes stale, and the runtime retires it after the entry's
``retire_after``; it comes back if upsd lists it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from power_exporter.errors import ConnectError, SourceError
from power_exporter.model import DeviceFault, Event, Roster
from power_exporter.sources.base import everything
from power_exporter.sources.nut.client import DEFAULT_PORT, ListAnswer, NutClient, TlsOptions
from power_exporter.sources.nut.config import ALL_UPSES, NutConfig, parse_server
from power_exporter.sources.nut.reading import nut_reading
from power_exporter.sources.nut.table import ProblemLog

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    from power_exporter.sources.base import DeviceConfig

log = logging.getLogger(__name__)

# Part of every request's budget left to the runtime's own timeout around read().
_BUDGET_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class ClientKey:
    """What makes two devices share one connection."""

    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)  # never in a log line or a traceback
    tls: TlsOptions | None = None


class ClientPool:
    """One NutClient per ClientKey, closed when its last user lets go."""

    def __init__(self) -> None:
        self._clients: dict[ClientKey, tuple[NutClient, int]] = {}

    def acquire(self, key: ClientKey, timeout: float) -> NutClient:
        """Return the shared client for ``key``, created on first use."""
        client, users = self._clients.get(key, (None, 0))
        if client is None:
            client = NutClient(
                key.host,
                key.port,
                username=key.username,
                password=key.password,
                tls=key.tls,
                timeout=timeout,
            )
        self._clients[key] = (client, users + 1)
        return client

    async def release(self, key: ClientKey) -> None:
        """Let go of the client; the last user closes it."""
        client, users = self._clients[key]
        if users > 1:
            self._clients[key] = (client, users - 1)
            return
        del self._clients[key]
        await client.close()

    def __len__(self) -> int:
        return len(self._clients)


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ClientPool] = (
    weakref.WeakKeyDictionary()
)


def loop_pool() -> ClientPool:
    """The pool of the running event loop: the runtime's, since one runtime runs one loop.

    Connections (their streams, locks and SSL contexts) belong to a loop and cannot be shared
    across loops; the pool goes with its loop.
    """
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None:
        pool = _POOLS[loop] = ClientPool()
    return pool


def client_key(cfg: NutConfig) -> ClientKey:
    """Return the pool key of a device config."""
    host, port = cfg.host_port
    return ClientKey(host, port, cfg.username, cfg.secret_password(), cfg.tls_options())


class NutSource:
    """A polled source reading one UPS, or every UPS, of one upsd."""

    def __init__(self, cfg: NutConfig, pool: ClientPool | None = None) -> None:
        self.cfg = cfg
        self._given_pool = pool  # None: the running loop's (loop_pool())
        self._pool: ClientPool | None = None
        self._key = client_key(cfg)
        self._client: NutClient | None = None
        self._budget = cfg.timeout * _BUDGET_SHARE
        self._known: list[str] = [] if cfg.ups == ALL_UPSES else [cfg.ups]
        self._problems = ProblemLog()
        self._keep = None if cfg.vars is None else cfg.vars.keeps
        self._owns: Callable[[str], bool] = everything

    def restrict(self, owns: Callable[[str], bool]) -> None:
        """Sharded: list every UPS (one ``LIST UPS``) but read only those ``owns`` accepts."""
        self._owns = owns

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise RuntimeError("NutSource is not reentrant")
        self._pool = self._given_pool if self._given_pool is not None else loop_pool()
        self._client = self._pool.acquire(self._key, self._budget)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None and self._pool is not None:
            self._client = None
            await self._pool.release(self._key)

    @property
    def client(self) -> NutClient:
        """The shared connection (only inside ``async with``)."""
        if self._client is None:
            raise RuntimeError("use NutSource inside 'async with'")
        return self._client

    def device_name(self, ups: str) -> str:
        """Return the device name of one UPS of this source."""
        return f"{self.cfg.name}/{ups}" if self.cfg.ups == ALL_UPSES else self.cfg.name

    async def read(self) -> Sequence[Event]:
        """One poll: a Reading or a DeviceFault per UPS; whole-upsd failures raise."""
        if self.cfg.ups != ALL_UPSES:
            answers = await self.client.list_vars_many(self._known, budget=self._budget)
            return self._events(self._known, answers)
        everyone, answers = await self.client.list_ups_and_vars(self._known, budget=self._budget)
        listed = {ups for ups in everyone if self._owns(self.device_name(ups))}  # sharded: ours
        gone = [ups for ups in self._known if ups not in listed]
        kept = [
            (ups, answer) for ups, answer in zip(self._known, answers, strict=True) if ups in listed
        ]
        events: list[Event] = []
        events.extend(self._events([ups for ups, _ in kept], [answer for _, answer in kept]))
        if gone:
            # No more polls (nor faults) for them: the runtime retires them after retire_after.
            log.info("%s: UPS no longer on upsd at %s: %s", self.cfg.name, self.client.where, gone)
            self._known = [ups for ups in self._known if ups in listed]
        added = [ups for ups in sorted(listed) if ups not in self._known]
        # Read no more UPSes than the entry may have: the rest are handed to the runtime as
        # faults, which it drops and counts (it creates no device beyond max_devices).
        room = max(0, self.cfg.max_devices - len(self._known))
        added, beyond = added[:room], added[room:]
        if added:
            shown = ", ".join(added[:10]) + (f" and {len(added) - 10} more" if added[10:] else "")
            log.info("%s: new UPS on upsd at %s: %s", self.cfg.name, self.client.where, shown)
            more = await self.client.list_vars_many(added, budget=self._budget)
            events.extend(self._events(added, more))
            self._known.extend(added)
        # The roster names the UPSes read (within the cap), so the runtime keeps no others,
        # and, sharded, the other replicas' (for /sd?all=1; the runtime keeps only its own).
        others = sorted(ups for ups in everyone if ups not in listed)[: self.cfg.max_devices]
        names = frozenset(map(self.device_name, [*self._known, *others]))
        events.insert(0, Roster(self.cfg.name, names))
        if beyond:  # last: the devices within the cap are the runtime's first
            error = SourceError(f"beyond max_devices ({self.cfg.max_devices}): not read")
            events.extend(DeviceFault(self.device_name(ups), error) for ups in beyond)
        return events

    async def read_one(self, device: str) -> Sequence[Event]:
        """Read one UPS (``/probe``) on a short-lived connection of its own.

        One round trip (``LIST VAR`` for that UPS only, pipelined with ``LOGOUT``), never on
        the shared connection: a probe neither waits behind the poll loop nor, if it is cut
        short, breaks the connection the other devices use.
        """
        cfg = self.cfg
        ups = cfg.ups
        if cfg.ups == ALL_UPSES:
            ups = device.removeprefix(f"{cfg.name}/")
            if ups == device:  # the entry's placeholder: no UPS listed yet
                where = self.client.where
                raise ConnectError(f"{cfg.name}: no UPS listed by upsd at {where} yet")
        key = self._key
        client = NutClient(
            key.host,
            key.port,
            username=key.username,
            password=key.password,
            tls=key.tls,
            timeout=self._budget,
        )
        async with client:
            answer = await client.list_vars_once(ups)
        return self._events([ups], [answer])

    def _events(self, upses: Sequence[str], answers: Sequence[ListAnswer]) -> list[Event]:
        events: list[Event] = []
        taken_at = time.time()
        for ups, answer in zip(upses, answers, strict=True):
            device = self.device_name(ups)
            if isinstance(answer, SourceError):
                events.append(DeviceFault(device, answer))
                continue
            try:
                reading, problems = nut_reading(device, "nut", answer, taken_at, self._keep)
            except SourceError as exc:
                events.append(DeviceFault(device, exc))
                continue
            self._problems.note(device, problems)
            events.append(reading)
        return events


def open_source(cfg: DeviceConfig) -> NutSource:
    """Open a NutSource (the registry's ``open``) for a NutConfig."""
    if not isinstance(cfg, NutConfig):
        raise TypeError(f"the nut kind needs a NutConfig, not {type(cfg).__name__}")
    return NutSource(cfg)


async def list_ups(
    server: str,
    *,
    username: str | None = None,
    password: str | None = None,
    tls: TlsOptions | None = None,
    budget: float = 5.0,
) -> list[tuple[str, str]]:
    """List the UPSes a upsd serves as (name, description): ``power-exporter discover``."""
    host, port = parse_server(server)
    async with NutClient(
        host, port, username=username, password=password, tls=tls, timeout=budget
    ) as client:
        listed = await client.list_ups()
    return sorted(listed.items())


async def discover(where: str | None) -> list[dict[str, object]]:
    """``power-exporter discover [host[:port]]``: a device config per UPS of that upsd."""
    server = where or f"localhost:{DEFAULT_PORT}"
    try:
        parse_server(server)
    except ValueError as exc:  # WHERE may be meant for another kind (a USB path...)
        raise ConnectError(f"not a upsd address: {exc}") from None
    return [
        {"name": ups, "source": "nut", "server": server, "ups": ups}
        for ups, _description in await list_ups(server)
    ]
