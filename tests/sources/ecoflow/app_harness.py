"""The world of the app-API stream tests: a TLS mosquitto, the login stand-in, a device stand-in.

The *device stand-in* is an MQTT client of its own on the same broker: it publishes pushes on
``/app/device/property/{sn}`` and answers read requests on ``.../thing/property/get`` the way
the cloud does (on ``get_reply``). It also records every message the broker carries, so a test
can prove the exporter published nothing but read requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

import aiomqtt
from aiohttp import web
from aiohttp.test_utils import TestServer

from power_exporter.model import DeviceFault, Reading
from power_exporter.sources.ecoflow.config import EcoflowConfig
from tests.peers.mosquitto import Mosquitto, TlsFiles
from tests.sources.ecoflow.app_cloud import AppCloud, add_app_routes

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from power_exporter.model import Event
    from power_exporter.sources.ecoflow.app_mqtt import AppMqttSource

PASSWORD = "sentinel-PW-9c2e"  # must never appear in a log line
STAND_IN = ("stand-in", "stand-in-password")


def fast_config(**keys: object) -> dict[str, object]:
    """Durations short enough for tests (the model's defaults are 30 s / 300 s / 900 s)."""
    base: dict[str, object] = {
        "quota_request_interval": "0.3s",
        "assume_offline_after": "1s",
        "stale_after": "2s",
        "idle_check_interval": "0.05s",
        "max_reconnect_delay": "0.3s",
        "http_timeout": "5s",
    }
    return {**base, **keys}


@dataclass(slots=True)
class World:
    """The broker, the login stand-in and their settings for one test."""

    broker: Mosquitto
    cloud: AppCloud
    http: TestServer
    certificates: TlsFiles
    user: str

    def config(self, serial: str | list[str], api: str = "device", **keys: object) -> EcoflowConfig:
        """An ``ecoflow`` entry for this world (``keys`` override the fast defaults)."""
        data: dict[str, object] = {
            "name": "garage",
            "source": "ecoflow",
            "api": api,
            "serial": serial,
            "user": self.user,
            "password": PASSWORD,
            "host": str(self.http.make_url("")).rstrip("/"),
            "ca_file": str(self.certificates.ca),
            **fast_config(**keys),
        }
        return EcoflowConfig.model_validate(data)

    def tls(self) -> ssl.SSLContext:
        """A client TLS context trusting the test CA."""
        return ssl.create_default_context(cafile=str(self.certificates.ca))

    def broker_users(self) -> dict[str, str]:
        """Who the broker lets in: the certification account and the stand-in."""
        return {self.cloud.mqtt_user: self.cloud.mqtt_password, STAND_IN[0]: STAND_IN[1]}


@contextlib.asynccontextmanager
async def world(directory: Path, certificates: TlsFiles, user: str) -> AsyncIterator[World]:
    """Start the broker and the login stand-in; stop both afterwards."""
    cloud = AppCloud(users={user: PASSWORD})
    broker = Mosquitto(directory / "broker", tls=certificates)
    app = web.Application()
    add_app_routes(app, cloud)
    built = World(broker, cloud, TestServer(app, host="127.0.0.1"), certificates, user)
    broker.users = built.broker_users()
    cloud.on_rotate = lambda _password: broker.set_users(built.broker_users())
    broker.start()
    cloud.mqtt_port = broker.tls_port
    await built.http.start_server()
    try:
        yield built
    finally:
        await built.http.close()
        broker.stop()


@dataclass(slots=True)
class StandIn:
    """The device and the cloud's reply side, as one MQTT client."""

    world: World
    serial: str
    answer: Callable[[str, bytes], bytes | None] = lambda _topic, _payload: None
    seen: list[tuple[str, bytes]] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    _client: aiomqtt.Client | None = None
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        """Connect (again) and listen to everything."""
        client = aiomqtt.Client(
            "127.0.0.1",
            self.world.broker.tls_port,
            username=STAND_IN[0],
            password=STAND_IN[1],
            tls_context=self.world.tls(),
        )
        await client.__aenter__()
        await client.subscribe("#")
        self._client = client
        self._task = asyncio.create_task(self._listen(client))

    async def disconnect(self) -> None:
        """Stop listening and leave (quietly if the broker is already gone)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.__aexit__(None, None, None)
        self._client, self._task = None, None

    async def _listen(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            async for message in client.messages:
                topic = str(message.topic)
                payload = message.payload
                self.seen.append((topic, payload))
                if topic.endswith(f"/{self.serial}/thing/property/get"):
                    self.requests.append(payload)
                    reply = self.answer(topic, payload)
                    if reply is not None:
                        await client.publish(topic + "_reply", reply)

    async def push(self, payload: bytes) -> None:
        """Publish a push as the device."""
        assert self._client is not None
        await self._client.publish(f"/app/device/property/{self.serial}", payload)


def json_reply(document: dict[str, object]) -> Callable[[str, bytes], bytes | None]:
    """Answer a latestQuotas request with ``document``, its id set to the request's."""

    def answer(_topic: str, payload: bytes) -> bytes | None:
        try:
            request = json.loads(payload)
        except ValueError:
            return None
        return json.dumps({**document, "id": request.get("id")}).encode()

    return answer


class Collector:
    """Consumes a source's stream in the background and waits for events."""

    def __init__(self, source: AppMqttSource) -> None:
        self.events: list[Event] = []
        self._task = asyncio.create_task(self._run(source))

    async def _run(self, source: AppMqttSource) -> None:
        async for event in source.stream():
            self.events.append(event)

    async def wait(
        self, predicate: Callable[[Event], bool], *, after: int = 0, within: float = 10.0
    ) -> Event:
        """The first event from index ``after`` on that satisfies ``predicate``."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self._task.done():
                self._task.result()  # raise what ended the stream
                raise AssertionError("the stream ended")
            for event in self.events[after:]:
                if predicate(event):
                    return event
            await asyncio.sleep(0.02)
        raise AssertionError(f"no such event within {within} s; got {self.events[after:]!r}")

    async def reading(self, *, after: int = 0, within: float = 10.0) -> Reading:
        """The next Reading."""
        event = await self.wait(lambda e: isinstance(e, Reading), after=after, within=within)
        assert isinstance(event, Reading)
        return event

    async def fault(
        self, kind: type[Exception], *, after: int = 0, within: float = 10.0
    ) -> DeviceFault:
        """The next DeviceFault with an error of ``kind``."""
        event = await self.wait(
            lambda e: isinstance(e, DeviceFault) and isinstance(e.error, kind),
            after=after,
            within=within,
        )
        assert isinstance(event, DeviceFault)
        return event

    async def close(self) -> None:
        """Stop consuming."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
