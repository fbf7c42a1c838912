"""``api: mqtt`` and ``api: device``: an EcoFlow app account's MQTT stream.

The account logs in and is certified (``account.py``); the stream connects to the broker
certification names (or ``broker``, e.g. ``mqtts://127.0.0.1:8883``) over TLS, as the
client id ``ANDROID_<UUID>_<userId>`` that stays fixed for the process, and subscribes to
``/app/device/property/{sn}`` (pushes) and ``/app/{userId}/{sn}/thing/property/get_reply``
(answers to read requests, ours or the phone app's).

- ``api: mqtt`` is passive: it asks nothing, except once when the device turns *assume
  offline* (the read-only nudge of the online model, ``online.py``).
- ``api: device`` also asks a silent device for everything it knows every
  ``quota_request_interval`` (``device_api.py``: ``latestQuotas`` for JSON devices, the
  "get everything" header for protobuf ones), never while pushes arrive.

The stream owns its reconnection, so that a broker restart or a dropped connection does not
take the device down: the online model decides that (assume offline after 300 s, down after
900 s). It reconnects with backoff (1 s doubling up to ``max_reconnect_delay``) and
subscribes again. When the broker refuses the credentials (CONNACK 4/5), the account logs in
again and is certified anew, at once the first time and then after 30, 60, 180 and 300 s;
until it works the device is down with ``AuthError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from typing import TYPE_CHECKING, Final, Self

import aiohttp
import aiomqtt
from pydantic import SecretStr

from power_exporter.errors import AuthError, ConnectError, SourceError
from power_exporter.model import DeviceFault
from power_exporter.sources.ecoflow import device_api
from power_exporter.sources.ecoflow.account import account_for
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.config import EcoflowConfig
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.source import ReadingBuilder

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import TracebackType

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig
    from power_exporter.sources.ecoflow.account import AppAccount, MqttCredentials

log = logging.getLogger(__name__)

_REFUSED: Final = frozenset({4, 5, 134, 135})  # CONNACK: bad user/password, not authorised
_FIRST_RECONNECT: Final = 1.0
_MAX_QUEUED: Final = 1000


def parse_broker(text: str) -> tuple[str, int]:
    """``mqtts://host:port``, ``host:port`` or ``host`` -> (host, port); 8883 by default."""
    rest = text.removeprefix("mqtts://")
    host, _, port = rest.partition(":")
    return host, int(port) if port else 8883


def is_refusal(exc: aiomqtt.MqttError) -> bool:
    """Whether the broker refused our credentials (rather than being unreachable)."""
    if not isinstance(exc, aiomqtt.MqttCodeError):
        return False
    code = exc.rc if isinstance(exc.rc, int) else getattr(exc.rc, "value", None)
    return code in _REFUSED


class _ReconnectError(Exception):
    """Internal: leave the session and connect again (idle timeout)."""


class AppMqttSource:
    """The stream of one device of an app account."""

    def __init__(self, cfg: EcoflowConfig) -> None:
        if cfg.serial == "*":
            raise ValueError('api: mqtt/device serve one device: give its serial, not "*"')
        self.cfg = cfg
        self.account: AppAccount = account_for(
            cfg.base_url, cfg.user or "", SecretStr(cfg.account_password())
        )
        self._tls = ssl.create_default_context(cafile=cfg.ca_file)
        self._session: aiohttp.ClientSession | None = None
        self._reconnect_delay = _FIRST_RECONNECT
        self._outage_logged = False
        identity, family = ReadingBuilder(cfg).identity(cfg.name, cfg.serial, None)
        online = OnlineModel(
            started=time.monotonic(),
            assume_offline_after=cfg.assume_offline_after,
            offline_after=cfg.stale_after,
            nudge_every=cfg.quota_request_interval if cfg.api == "device" else None,
        )
        self.device = AppDevice(
            cfg.name, cfg.serial, identity, family, online, zero_after=cfg.zero_after
        )

    def __repr__(self) -> str:
        return f"AppMqttSource(name={self.cfg.name!r}, api={self.cfg.api!r})"

    async def __aenter__(self) -> Self:
        timeout = aiohttp.ClientTimeout(total=self.cfg.http_timeout)
        self._session = aiohttp.ClientSession(timeout=timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def stream(self) -> AsyncIterator[Event]:
        """Events as the device sends data, across reconnects, until cancelled."""
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        if self._session is None:
            raise ConnectError("the source was not entered")
        while True:
            delay = self.account.next_delay()
            if delay:
                await asyncio.sleep(delay)
            try:
                creds = await self.account.credentials(self._session, ssl_context=self._tls)
            except SourceError as exc:
                yield DeviceFault(self.cfg.name, exc)
                for event in self.device.tick(time.monotonic()):
                    yield event
                continue
            async for event in self._connection(creds):
                yield event

    async def _connection(self, creds: MqttCredentials) -> AsyncIterator[Event]:
        """One MQTT connection: connect, subscribe, relay messages; back off when it drops."""
        cfg = self.cfg
        host, port = parse_broker(cfg.broker) if cfg.broker else (creds.host, creds.port)
        try:
            async with aiomqtt.Client(
                host,
                port,
                username=creds.username,
                password=creds.password,
                identifier=creds.client_id,
                tls_context=self._tls,
                keepalive=cfg.mqtt_keepalive,
                timeout=cfg.http_timeout,
                max_queued_incoming_messages=_MAX_QUEUED,
            ) as client:
                self.account.worked()
                log.info(
                    "%s: %s to %s:%d as %s",
                    cfg.name,
                    "reconnected" if self._outage_logged else "connected",
                    host,
                    port,
                    creds.client_id,
                )
                self._outage_logged, self._reconnect_delay = False, _FIRST_RECONNECT
                async for event in self._session_events(client, creds):
                    yield event
        except _ReconnectError:
            return
        except aiomqtt.MqttError as exc:
            if is_refusal(exc):
                self.account.refused()
                log.info("%s: broker refused the credentials (%s): certify again", cfg.name, exc)
                if self.account.failures:
                    refused = f"the broker {host}:{port} refused the account's credentials: {exc}"
                    yield DeviceFault(cfg.name, AuthError(refused))
                return
            if not self._outage_logged:
                log.warning("%s: MQTT connection to %s:%d lost: %s", cfg.name, host, port, exc)
                self._outage_logged = True
            else:
                log.debug("%s: MQTT still down: %s", cfg.name, exc)
        await asyncio.sleep(self._reconnect_delay)
        self._reconnect_delay = min(self._reconnect_delay * 2, cfg.max_reconnect_delay)
        for event in self.device.tick(time.monotonic()):
            yield event

    async def _session_events(
        self, client: aiomqtt.Client, creds: MqttCredentials
    ) -> AsyncIterator[Event]:
        cfg, device = self.cfg, self.device
        push = device_api.PROPERTY_TOPIC.format(sn=cfg.serial)
        reply = device_api.GET_REPLY_TOPIC.format(user_id=creds.user_id, sn=cfg.serial)
        await client.subscribe([(push, 1), (reply, 1)])
        queue: asyncio.Queue[aiomqtt.Message | BaseException] = asyncio.Queue()
        reader = asyncio.create_task(_pump(client, queue))
        last_message = time.monotonic()
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), cfg.idle_check_interval)
                except TimeoutError:
                    item = None
                if isinstance(item, BaseException):
                    raise item
                now = time.monotonic()
                if item is not None:
                    last_message = now
                    topic = str(item.topic)
                    if topic in {push, reply}:
                        events = device.on_payload(item.payload, reply=topic == reply, now=now)
                        for event in events:
                            yield event
                for event in device.tick(now):
                    yield event
                if device.online.nudge_due(now):
                    await self._nudge(client, creds, now)
                if cfg.mqtt_timeout is not None and now - last_message > cfg.mqtt_timeout:
                    idle = now - last_message
                    log.info("%s: no message for %.0f s: reconnecting", cfg.name, idle)
                    raise _ReconnectError
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _nudge(self, client: aiomqtt.Client, creds: MqttCredentials, now: float) -> None:
        """Publish the read-only get request (checked by the guard before it goes out)."""
        cfg, device = self.cfg, self.device
        topic = device_api.GET_TOPIC.format(user_id=creds.user_id, sn=cfg.serial)
        payload = device_api.request_for(
            cfg.serial, protobuf=device.protobuf, ident=device_api.request_id()
        )
        device_api.check_read_only(topic, payload, user_id=creds.user_id, serial=cfg.serial)
        await client.publish(topic, payload, qos=1)
        device.online.nudged(now)
        device.counts["requests"] += 1
        log.debug("%s: asked %s for its values", cfg.name, cfg.serial)


async def _pump(
    client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message | BaseException]
) -> None:
    """Move messages into ``queue`` (so the reader can time out without losing one)."""
    try:
        async for message in client.messages:
            queue.put_nowait(message)
    except aiomqtt.MqttError as exc:
        queue.put_nowait(exc)


def open_source(cfg: DeviceConfig) -> AppMqttSource:
    """The source of an ``api: mqtt`` or ``api: device`` entry."""
    if not isinstance(cfg, EcoflowConfig) or cfg.api not in {"mqtt", "device"}:
        raise TypeError(f"not an app-account configuration: {cfg!r}")
    return AppMqttSource(cfg)
