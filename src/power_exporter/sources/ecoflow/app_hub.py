"""One app account's MQTT session, shared by every ``api: mqtt``/``device`` entry of it.

The hub logs in (``account.py``), connects once as ``ANDROID_<UUID>_<userId>`` (one id for
the life of the process) and subscribes, for every serial some entry wants, to
``/app/device/property/{sn}`` and ``/app/{userId}/{sn}/thing/property/get_reply``. Entries
are :class:`Inbox` es: adding or removing one changes subscriptions, never the connection.
Messages go to the inboxes that want their serial; the account's device list (fetched every
``device_list_cache_ttl`` while an entry fans out) goes to every inbox; login failures go
to every inbox as an account-wide fault.

It reconnects by itself (1 s doubling up to ``max_reconnect_delay``), so a broker restart
does not take devices down: their online model decides. A broker that closes the session
again and again right after connecting is taking it over for another client with the same
client id (a second process sharing this one's state, or a misconfigured replica): the hub
says so once, with the client id, and backs off (30 s doubling up to 10 min) instead of
fighting over the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Generic, TypeVar

import aiohttp
import aiomqtt

from power_exporter.errors import AuthError, SourceError
from power_exporter.sources.ecoflow import device_api
from power_exporter.sources.ecoflow.account import masked

if TYPE_CHECKING:
    from power_exporter.sources.ecoflow.account import AppAccount, MqttCredentials
    from power_exporter.sources.ecoflow.config import EcoflowConfig
    from power_exporter.sources.ecoflow.rest import DeviceInfo

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_D = TypeVar("_D")

REFUSED: Final = frozenset({4, 5, 134, 135})  # CONNACK: bad user/password, not authorised
TAKEN_OVER: Final = 142  # MQTT 5 DISCONNECT reason: session taken over
FIRST_RECONNECT: Final = 1.0
SHORT_SESSION: Final = 10.0  # a session closed this soon after connecting counts as a kick
KICKS_BEFORE_BACKOFF: Final = 3
KICK_BACKOFF: Final = (30.0, 600.0)
_MAX_QUEUED: Final = 1000
_INBOX_LIMIT: Final = 10_000


def parse_broker(text: str) -> tuple[str, int]:
    """``mqtts://host:port``, ``host:port`` or ``host`` -> (host, port); 8883 by default."""
    rest = text.removeprefix("mqtts://")
    host, _, port = rest.partition(":")
    return host, int(port) if port else 8883


def rc_of(exc: aiomqtt.MqttError) -> int | None:
    """The MQTT reason code of an error, when it has one."""
    rc = getattr(exc, "rc", None)
    value = getattr(rc, "value", rc)
    return value if isinstance(value, int) else None


def is_refusal(exc: aiomqtt.MqttError) -> bool:
    """Whether the broker refused our credentials (rather than being unreachable)."""
    return isinstance(exc, aiomqtt.MqttCodeError) and rc_of(exc) in REFUSED


@dataclass(frozen=True, slots=True)
class Payload:
    """One MQTT message of a device: a push, or a reply to a get request."""

    sn: str
    payload: bytes
    reply: bool


@dataclass(frozen=True, slots=True)
class Listing:
    """The account's device list, as EcoFlow gave it."""

    devices: dict[str, DeviceInfo]


@dataclass(frozen=True, slots=True)
class AccountFault:
    """Something that fails the whole account (login, certification, refused credentials)."""

    error: SourceError


Delivery = Payload | Listing | AccountFault


@dataclass(eq=False, slots=True)
class Inbox(Generic[_D]):
    """One entry's subscription on a hub: the serials it wants, and what arrived for it.

    Both hubs (the app account's and the developer key pair's) deliver through it, each with
    its own kinds of delivery.
    """

    serials: frozenset[str] = frozenset()
    wants_list: bool = False
    queue: asyncio.Queue[_D] = field(default_factory=asyncio.Queue)

    def put(self, item: _D) -> None:
        """Deliver, dropping the item if the entry stopped reading (its stream is gone)."""
        if self.queue.qsize() < _INBOX_LIMIT:
            self.queue.put_nowait(item)


class AppHub:
    """The one MQTT connection and device-list poller of an app account."""

    def __init__(self, account: AppAccount, cfg: EcoflowConfig) -> None:
        self.account = account
        self.broker = cfg.broker
        self.keepalive = cfg.mqtt_keepalive
        self.timeout = cfg.http_timeout
        self.mqtt_timeout = cfg.mqtt_timeout
        self.max_reconnect_delay = cfg.max_reconnect_delay
        self.list_interval = cfg.device_list_cache_ttl
        self._ca_file = cfg.ca_file
        self._tls: ssl.SSLContext | None = None
        self._session: aiohttp.ClientSession | None = None
        self._inboxes: set[Inbox[Delivery]] = set()
        self._changed = asyncio.Event()
        self._wake: asyncio.Queue[aiomqtt.Message | BaseException | None] | None = None
        self._client: aiomqtt.Client | None = None
        self._creds: MqttCredentials | None = None
        self._subscribed: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.listing: dict[str, DeviceInfo] | None = None
        self.connections = 0  # connections made, for tests and logs
        self._kicks = 0
        self._established = False  # whether the last connection attempt got a session
        self._outage_logged = False

    def __repr__(self) -> str:
        return f"AppHub({masked(self.account.user)!r}, inboxes={len(self._inboxes)})"

    # -- life ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the connection and the device-list tasks."""
        self._tls = ssl.create_default_context(cafile=self._ca_file)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._tasks = [
            asyncio.create_task(self._run(), name="ecoflow-app-mqtt"),
            asyncio.create_task(self._lister(), name="ecoflow-app-devices"),
        ]

    async def close(self) -> None:
        """Stop both tasks; the connection leaves with them."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- subscriptions ------------------------------------------------------------------

    def add(self, inbox: Inbox[Delivery]) -> None:
        """An entry joins; it gets the device list at once if one is known."""
        self._inboxes.add(inbox)
        if inbox.wants_list and self.listing is not None:
            inbox.put(Listing(dict(self.listing)))
        self.changed()

    def remove(self, inbox: Inbox[Delivery]) -> None:
        """An entry leaves (its topics are unsubscribed when no other entry wants them)."""
        self._inboxes.discard(inbox)
        self.changed()

    def changed(self) -> None:
        """The serials of some inbox changed: subscribe to what is wanted now."""
        self._changed.set()
        if self._wake is not None:
            self._wake.put_nowait(None)

    def _wanted_topics(self, user_id: str) -> set[str]:
        serials = set().union(*(inbox.serials for inbox in self._inboxes))
        return {
            topic
            for sn in serials
            for topic in (
                device_api.PROPERTY_TOPIC.format(sn=sn),
                device_api.GET_REPLY_TOPIC.format(user_id=user_id, sn=sn),
            )
        }

    async def _sync(self, client: aiomqtt.Client, user_id: str) -> None:
        self._changed.clear()
        wanted = self._wanted_topics(user_id)
        new, gone = wanted - self._subscribed, self._subscribed - wanted
        if new:
            await client.subscribe([(topic, 1) for topic in sorted(new)])
        for topic in sorted(gone):
            await client.unsubscribe(topic)
        self._subscribed = wanted
        if new or gone:
            log.debug("%r: subscribed to %d topics", self, len(wanted))

    async def ask(self, sn: str, *, protobuf: bool | None) -> bool:
        """Publish the read-only get request to one device; False when not connected."""
        client, creds = self._client, self._creds
        if client is None or creds is None:
            return False
        topic = device_api.GET_TOPIC.format(user_id=creds.user_id, sn=sn)
        payload = device_api.request_for(sn, protobuf=protobuf, ident=device_api.request_id())
        device_api.check_read_only(topic, payload, user_id=creds.user_id, serial=sn)
        try:
            await client.publish(topic, payload, qos=1)
        except aiomqtt.MqttError:
            return False
        return True

    # -- the device list ----------------------------------------------------------------

    async def _lister(self) -> None:
        while True:
            if any(inbox.wants_list for inbox in self._inboxes) and self._session is not None:
                try:
                    listing = await self.account.device_list(self._session, ssl_context=self._tls)
                except SourceError as exc:
                    log.warning("%r: device list failed: %s", self, exc)
                    if isinstance(exc, AuthError):
                        self._broadcast(AccountFault(exc))
                else:
                    self.listing = listing
                    for inbox in list(self._inboxes):
                        if inbox.wants_list:
                            inbox.put(Listing(dict(listing)))
                await asyncio.sleep(self.list_interval)
            else:
                await asyncio.sleep(0.05)

    def _broadcast(self, item: Delivery) -> None:
        for inbox in list(self._inboxes):
            inbox.put(item)

    # -- the connection -----------------------------------------------------------------

    async def _run(self) -> None:
        delay = FIRST_RECONNECT
        while True:
            if self._session is None:
                return
            wait = self.account.next_delay()
            if wait:
                await asyncio.sleep(wait)
            try:
                creds = await self.account.credentials(self._session, ssl_context=self._tls)
            except SourceError as exc:
                self._broadcast(AccountFault(exc))
                continue
            lasted = await self._connection(creds)
            if lasted is None:  # refused: certify again, at the account's pace
                continue
            delay = self._next_delay(lasted, delay, creds)
            await asyncio.sleep(delay)

    def _next_delay(self, lasted: float, delay: float, creds: MqttCredentials) -> float:
        """After a dropped session: reconnect backoff, and the kick detector."""
        if not self._established:
            # The broker could not be reached at all: it is down or restarting, so the short
            # sessions before were not another client taking ours over.
            self._kicks = 0
            return min(delay * 2, self.max_reconnect_delay)
        if lasted >= SHORT_SESSION:
            self._kicks = 0
            return FIRST_RECONNECT
        self._kicks += 1
        if self._kicks < KICKS_BEFORE_BACKOFF:
            return min(delay * 2, self.max_reconnect_delay)
        first, cap = KICK_BACKOFF
        backoff = min(cap, first * 2.0 ** (self._kicks - KICKS_BEFORE_BACKOFF))
        level = logging.WARNING if self._kicks == KICKS_BEFORE_BACKOFF else logging.DEBUG
        log.log(
            level,
            "EcoFlow account %s: the broker closed this process's session %d times within"
            " %.0f s of connecting as %s: another client is taking the session over (a second"
            " exporter or replica with the same client id?). Backing off %.0f s instead of"
            " fighting for it; run one exporter per account",
            masked(self.account.user),
            self._kicks,
            SHORT_SESSION,
            creds.client_id,
            backoff,
        )
        return backoff

    async def _connection(self, creds: MqttCredentials) -> float | None:
        """One MQTT connection; how long it lasted, or None when the broker refused us."""
        host, port = parse_broker(self.broker) if self.broker else (creds.host, creds.port)
        started = time.monotonic()
        self._established = False
        try:
            async with aiomqtt.Client(
                host,
                port,
                username=creds.username,
                password=creds.password,
                identifier=creds.client_id,
                tls_context=self._tls,
                keepalive=self.keepalive,
                timeout=self.timeout,
                max_queued_incoming_messages=_MAX_QUEUED,
            ) as client:
                started = time.monotonic()
                self._established = True
                self.account.worked()
                self.connections += 1
                log.info(
                    "EcoFlow account %s: %s to %s:%d as %s",
                    masked(self.account.user),
                    "reconnected" if self._outage_logged else "connected",
                    host,
                    port,
                    creds.client_id,
                )
                self._outage_logged = False
                self._client, self._creds, self._subscribed = client, creds, set()
                try:
                    await self._relay(client, creds)
                finally:
                    self._client = None
        except aiomqtt.MqttError as exc:
            if is_refusal(exc):
                self.account.refused()
                log.info("%r: broker refused the credentials (%s): certify again", self, exc)
                if self.account.failures:
                    refused = f"the broker {host}:{port} refused the account's credentials: {exc}"
                    self._broadcast(AccountFault(AuthError(refused)))
                return None
            if rc_of(exc) == TAKEN_OVER:
                self._kicks = max(self._kicks, KICKS_BEFORE_BACKOFF - 1)
            if not self._outage_logged:
                log.warning("%r: MQTT connection to %s:%d lost: %s", self, host, port, exc)
                self._outage_logged = True
            else:
                log.debug("%r: MQTT still down: %s", self, exc)
        except _IdleError:
            log.info("%r: no message for %.0f s: reconnecting", self, self.mqtt_timeout or 0)
        return time.monotonic() - started

    async def _relay(self, client: aiomqtt.Client, creds: MqttCredentials) -> None:
        await self._sync(client, creds.user_id)
        reply_prefix = f"/app/{creds.user_id}/"
        last = time.monotonic()
        queue = self._wake = asyncio.Queue()
        reader = asyncio.create_task(_pump(client, queue))
        try:
            while True:
                item = await next_item(queue, 1.0)
                if isinstance(item, BaseException):
                    raise item
                if self._changed.is_set():
                    await self._sync(client, creds.user_id)
                now = time.monotonic()
                if item is not None:
                    last = now
                    self._dispatch(str(item.topic), item.payload, reply_prefix)
                elif self.mqtt_timeout is not None and now - last > self.mqtt_timeout:
                    raise _IdleError
        finally:
            self._wake = None
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    def _dispatch(self, topic: str, payload: object, reply_prefix: str) -> None:
        if topic.startswith("/app/device/property/"):
            sn, reply = topic.rsplit("/", 1)[1], False
        elif topic.startswith(reply_prefix) and topic.endswith("/thing/property/get_reply"):
            sn, reply = topic.split("/")[3], True
        else:
            return
        data = payload if isinstance(payload, bytes) else str(payload or "").encode()
        for inbox in self._inboxes:
            if sn in inbox.serials:
                inbox.put(Payload(sn, data, reply))


async def next_item(queue: asyncio.Queue[_T], wait: float) -> _T | None:
    """The next item, or None after ``wait`` seconds.

    ``asyncio.timeout`` passes a cancellation on, where Python 3.11's ``wait_for`` may swallow
    it when the item arrives at that moment (the task then never ends).
    """
    try:
        async with asyncio.timeout(wait):
            return await queue.get()
    except TimeoutError:
        return None


async def _pump(
    client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message | BaseException | None]
) -> None:
    """Move messages into ``queue`` (so the reader can wake for other reasons too)."""
    try:
        async for message in client.messages:
            queue.put_nowait(message)
    except aiomqtt.MqttError as exc:
        queue.put_nowait(exc)


class _IdleError(Exception):
    """Internal: no message for ``mqtt_timeout``; leave the session and connect again."""
