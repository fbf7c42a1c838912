"""One developer key pair's MQTT session, shared by every ``api: open_mqtt`` entry of it.

EcoFlow's developer broker allows one session per certificate account: the client id is
derived from it, and a second connection with that id makes the broker close the first. So
entries do not connect themselves: the hub, held in the registry of ``accounts.py``, owns the
one connection and the REST client (certification, device list, ``quota/all``); entries are
:class:`Inbox` es on it, and adding or removing one
changes subscriptions, never the connection.

The hub reconnects by itself, 1 s doubling up to ``max_reconnect_delay``, with the keepalive
of ``mqtt_keepalive``: a broker restart takes no device down (the devices' silence and the
runtime's ``stale_after`` decide). Only what no retry can mend reaches the entries as an
account-wide fault: the broker refusing freshly certified credentials, or no connection at
all before the first one succeeded. While an entry fans out, the device list is read every
``device_list_cache_ttl`` and handed to it, so devices added to the account appear within
one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from typing import TYPE_CHECKING, Final, TypeVar

import aiomqtt

from power_exporter.errors import AuthError, ConnectError, DeviceTimeoutError, SourceError
from power_exporter.sources.ecoflow.app_hub import AccountFault, Inbox, Listing, next_item
from power_exporter.sources.ecoflow.open_mqtt import Connector, Push, parse, refused, topic

if TYPE_CHECKING:
    from power_exporter.sources.ecoflow.config import EcoflowConfig
    from power_exporter.sources.ecoflow.rest import Certification, RestClient

log = logging.getLogger(__name__)
_T = TypeVar("_T")

FIRST_RECONNECT: Final = 1.0
_KINDS: Final = ("quota", "status")

Delivery = Push | Listing | AccountFault


class OpenMqttHub:
    """The one developer MQTT connection and device-list poller of a key pair."""

    def __init__(self, rest: RestClient, cfg: EcoflowConfig) -> None:
        self.rest = rest
        self._factory = Connector(
            ca_file=cfg.ca_file,
            broker=cfg.broker,
            timeout=cfg.http_timeout,
            keepalive=cfg.mqtt_keepalive,
        )
        self.max_reconnect_delay = cfg.max_reconnect_delay
        self.list_interval = cfg.device_list_cache_ttl
        self._inboxes: set[Inbox[Delivery]] = set()
        self._changed = asyncio.Event()
        self._subscribed: set[str] = set()
        self.subscribed_serials: frozenset[str] = frozenset()
        self._tasks: list[asyncio.Task[None]] = []
        self.connections = 0  # connections made, for tests and logs
        self.delays: list[float] = []  # reconnect waits, for tests
        self.ever_connected = False
        self.failing = False  # the last attempt to connect failed

    def __repr__(self) -> str:
        return f"OpenMqttHub(inboxes={len(self._inboxes)}, connections={self.connections})"

    async def start(self) -> None:
        """Open the REST session, start the connection and the device-list tasks."""
        await self.rest.__aenter__()
        self._tasks = [
            asyncio.create_task(self._run(), name="ecoflow-open-mqtt"),
            asyncio.create_task(self._lister(), name="ecoflow-open-devices"),
        ]

    async def close(self) -> None:
        """Stop both tasks (the connection leaves with them) and the REST session."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.rest.close()

    def add(self, inbox: Inbox[Delivery]) -> None:
        """An entry joins."""
        self._inboxes.add(inbox)
        self.changed()

    def remove(self, inbox: Inbox[Delivery]) -> None:
        """An entry leaves (its topics go when no other entry wants them)."""
        self._inboxes.discard(inbox)
        if self._inboxes:  # the last one closes the hub: nothing to unsubscribe then
            self.changed()

    def changed(self) -> None:
        """The serials of some inbox changed: subscribe to what is wanted now."""
        self._changed.set()

    async def wait_subscribed(self, serials: frozenset[str], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the connection is subscribed to ``serials`` (False: not within ``timeout``).

        So that an entry reads ``quota/all`` only once no push can fall between the two.
        """
        deadline = time.monotonic() + timeout
        while not serials <= self.subscribed_serials:
            if self.failing or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def _broadcast(self, item: AccountFault | Listing) -> None:
        for inbox in list(self._inboxes):
            inbox.put(item)

    # -- the device list ----------------------------------------------------------------

    async def _lister(self) -> None:
        while True:
            if any(inbox.wants_list for inbox in self._inboxes):
                try:
                    listing = await self.rest.device_list(refresh=True)
                except AuthError as exc:
                    self._broadcast(AccountFault(exc))
                except SourceError as exc:
                    log.warning("%r: device list failed: %s", self, exc)
                else:
                    for inbox in list(self._inboxes):
                        if inbox.wants_list:
                            inbox.put(Listing(dict(listing)))
                await asyncio.sleep(self.list_interval)
            else:
                await asyncio.sleep(0.05)

    # -- the connection -----------------------------------------------------------------

    async def _run(self) -> None:
        delay = FIRST_RECONNECT
        while True:
            started, sessions = time.monotonic(), self.connections
            try:
                await self._session()
            except SourceError as exc:
                if isinstance(exc, AuthError) or not self.ever_connected:
                    # a fresh error: no traceback keeps the failed connection's socket alive
                    self._broadcast(AccountFault(type(exc)(str(exc))))
                # once per outage at WARNING; the retries at DEBUG
                log.log(logging.DEBUG if self.failing else logging.WARNING, "%r: %s", self, exc)
                self.failing = True
            lasted = time.monotonic() - started
            if self.connections > sessions and lasted >= FIRST_RECONNECT:
                # A session was made and held: this is a new outage (a broker restart), so
                # the backoff starts afresh instead of going on from the last outage's.
                delay = FIRST_RECONNECT
            self.delays.append(delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_reconnect_delay)

    async def _connect(self) -> tuple[aiomqtt.Client, Certification]:
        """Certify and connect; a refusal is certified again once."""
        cert = await self.rest.certification()
        try:
            try:
                return await self._factory.connect(cert), cert
            except aiomqtt.MqttError as exc:
                if not refused(exc):
                    raise
                log.info("developer MQTT broker refused the certification; fetching a new one")
                cert = await self.rest.certification()
                return await self._factory.connect(cert), cert
        except aiomqtt.MqttError as exc:
            where = f"{cert.host}:{cert.port}"
            if refused(exc):
                raise AuthError(
                    f"developer MQTT broker {where} refused the credentials ({exc}): another"
                    " client may hold this account's one session, or EcoFlow's daily limit"
                    " of client ids is spent"
                ) from None
            raise ConnectError(f"developer MQTT broker {where}: {exc}") from None
        except ssl.SSLError as exc:
            raise ConnectError(f"TLS with {cert.host}:{cert.port} failed: {exc}") from None
        except TimeoutError:
            raise DeviceTimeoutError(f"no CONNACK from {cert.host}:{cert.port}") from None

    async def _session(self) -> None:
        client, cert = await self._connect()
        self.connections += 1
        log.info(
            "developer MQTT: %s to %s:%d",
            "reconnected" if self.ever_connected else "connected",
            cert.host,
            cert.port,
        )
        self.ever_connected, self.failing = True, False
        self._subscribed, self.subscribed_serials = set(), frozenset()
        self._changed.set()  # a new session has no subscriptions: make them
        syncer = asyncio.create_task(self._syncing(client, cert.account))
        try:
            async for message in client.messages:  # straight to the entries: no extra hop
                self._dispatch(message)
            raise ConnectError("developer MQTT connection ended")
        except aiomqtt.MqttError as exc:
            raise ConnectError(f"developer MQTT connection lost: {exc}") from None
        finally:
            self.subscribed_serials = frozenset()
            syncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncer
            with contextlib.suppress(aiomqtt.MqttError, OSError):
                await client.__aexit__(None, None, None)

    async def _syncing(self, client: aiomqtt.Client, account: str) -> None:
        """Subscribe to what the entries want whenever it changes (beside the message loop)."""
        while True:
            await self._changed.wait()
            try:
                await self._sync(client, account)
            except aiomqtt.MqttError as exc:  # the message loop sees the connection end
                log.debug("%r: subscribing failed: %s", self, exc)
                await asyncio.sleep(FIRST_RECONNECT)

    async def _sync(self, client: aiomqtt.Client, account: str) -> None:
        self._changed.clear()
        serials = set().union(*(inbox.serials for inbox in self._inboxes))
        wanted = {topic(account, sn, kind) for sn in serials for kind in _KINDS}
        new, gone = wanted - self._subscribed, self._subscribed - wanted
        if new:
            await client.subscribe([(name, 1) for name in sorted(new)])
        for name in sorted(gone):
            await client.unsubscribe(name)
        self._subscribed, self.subscribed_serials = wanted, frozenset(serials)
        if new or gone:
            log.debug("%r: subscribed to %d devices", self, len(serials))

    def _dispatch(self, message: aiomqtt.Message) -> None:
        push = parse(message)
        if push is None:
            return
        for inbox in self._inboxes:
            if push.sn in inbox.serials:
                inbox.put(push)


async def take(queue: asyncio.Queue[_T], wait: float) -> _T | None:
    """The next item: at once when one is queued, else within ``wait`` seconds, else None."""
    if not queue.empty():
        return queue.get_nowait()
    return await next_item(queue, wait)
