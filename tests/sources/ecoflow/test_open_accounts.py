"""``api: open_mqtt``: one session per key pair, up across broker restarts (real TLS mosquitto).

Each test has a broker of its own, so that restarting it or reading its log concerns that
test alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from functools import partial
from typing import TYPE_CHECKING

import aiomqtt
import pytest

from power_exporter.model import DeviceFault, Reading, Roster
from power_exporter.runtime import Runtime
from power_exporter.sources.ecoflow.accounts import Accounts
from power_exporter.sources.ecoflow.open_mqtt import client_id
from power_exporter.sources.ecoflow.open_stream import OpenMqttSource
from power_exporter.sources.ecoflow.source import open_source as open_any
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.peers.mosquitto import Mosquitto
from tests.sources.ecoflow.conftest import MQTT_ACCOUNT, MQTT_PASSWORD, config
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from power_exporter.model import Event
    from power_exporter.sources.ecoflow.config import EcoflowConfig
    from tests.peers.mosquitto import TlsFiles
    from tests.sources.ecoflow.fake_cloud import FakeCloud

FIRST, SECOND, LATER = "R331ZEB4OA000001", "R331ZEB4OA000002", "R331ZEB4OA000003"
# The takeover-free window: the issue asks for 60 s; 10 s keeps the suite fast, and a
# client-id collision shows within a second (the broker kicks at each reconnect).
WINDOW = 10.0


@pytest.fixture
def own_broker(tmp_path: Path, tls: TlsFiles) -> Iterator[Mosquitto]:
    """A mosquitto of this test's own (restartable, its log this test's alone)."""
    with Mosquitto(tmp_path / "broker", users={MQTT_ACCOUNT: MQTT_PASSWORD}, tls=tls) as running:
        yield running


def certify(cloud: FakeCloud, broker: Mosquitto) -> None:
    """The fake cloud certifies the broker's TLS listener."""
    cloud.certifications.append(
        {
            "certificateAccount": MQTT_ACCOUNT,
            "certificatePassword": MQTT_PASSWORD,
            "url": "localhost",
            "port": str(broker.tls_port),
            "protocol": "mqtts",
        }
    )


def mqtt_config(cloud: FakeCloud, tls: TlsFiles, sn: str, **keys: object) -> EcoflowConfig:
    """api: open_mqtt against the fake cloud and the test CA."""
    return config(cloud, api="open_mqtt", serial=sn, ca_file=str(tls.ca), **keys)


async def publish(broker: Mosquitto, sn: str, payload: object) -> None:
    """Publish a quota push as EcoFlow's cloud would, on the plain listener."""
    async with aiomqtt.Client("127.0.0.1", broker.plain_port) as client:
        await client.publish(f"/open/{MQTT_ACCOUNT}/{sn}/quota", json.dumps(payload), qos=1)


def connections(log: str) -> list[str]:
    """The exporter's connections in mosquitto's log."""
    ours = re.escape(client_id(MQTT_ACCOUNT))
    return re.findall(rf"New client connected from \S+ as ({ours})", log)


async def next_reading(events: AsyncIterator[Event], timeout: float = 10.0) -> Reading:  # noqa: ASYNC109
    """The next Reading, failing on any DeviceFault (nothing may take the device down)."""
    async with asyncio.timeout(timeout):
        while True:
            event = await anext(events)
            assert not isinstance(event, DeviceFault), event
            if isinstance(event, Reading):
                return event


class TestOneSessionPerKeyPair:
    async def test_two_entries_one_connection(
        self, cloud: FakeCloud, own_broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """A single-serial entry and a ``serial: "*"`` one on the same keys: one connection.

        No takeover over the window, and every device's values right.
        """
        cloud.add(FIRST, {"pd.soc": 1})
        cloud.add(SECOND, {"pd.soc": 2})
        certify(cloud, own_broker)
        accounts = Accounts()
        kind = dataclasses.replace(KINDS["ecoflow"], open=partial(open_any, accounts=accounts))
        entries = [
            mqtt_config(
                cloud, tls, FIRST, name="one", stale_after="60s", assume_offline_after="30s"
            ),
            mqtt_config(cloud, tls, "*", name="all", stale_after="60s", assume_offline_after="30s"),
        ]
        store = Store()
        runtime = Runtime(entries, store, backoff_max=0.2, kinds={"ecoflow": kind})
        expected = {"one": 41, "all/" + FIRST: 41, "all/" + SECOND: 42}
        runtime.start()
        try:
            deadline = time.monotonic() + WINDOW
            while time.monotonic() < deadline:
                await publish(own_broker, FIRST, {"params": {"pd.soc": 41}})
                await publish(own_broker, SECOND, {"params": {"pd.soc": 42}})
                await asyncio.sleep(0.5)

            def right() -> bool:
                states = {name: store.get(name) for name in expected}
                return all(
                    state is not None
                    and state.up
                    and state.reading is not None
                    and state.reading.raw["pd.soc"] == expected[name]
                    for name, state in states.items()
                )

            await until(right)
            assert accounts.open_hubs() == 1
        finally:
            await runtime.stop()
        log = own_broker.log_text()
        assert len(connections(log)) == 1, connections(log)
        assert "already connected, closing old connection" not in log
        assert accounts.open_hubs() == 0  # the last entry to leave closed the session


class TestReconnects:
    async def test_broker_restart_takes_no_device_down(
        self, cloud: FakeCloud, own_broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """The broker goes away and comes back: no fault, the capped backoff, data again."""
        cloud.add(FIRST, {"pd.soc": 10})
        certify(cloud, own_broker)
        cfg = mqtt_config(cloud, tls, FIRST, max_reconnect_delay="2s", mqtt_keepalive=5)
        async with OpenMqttSource(cfg) as source:
            hub = source.hub
            assert hub is not None
            events = source.stream()
            first = await next_reading(events)
            assert first.raw["pd.soc"] == 10
            own_broker.stop()
            # The stream keeps going (no fault) while the hub retries 1 s, 2 s, 2 s...
            waiting = asyncio.ensure_future(next_reading(events, timeout=60.0))
            await until(lambda: len(hub.delays) >= 3, timeout=20.0)
            own_broker.start()
            await until(lambda: hub.connections == 2, timeout=20.0)
            await until(lambda: FIRST in hub.subscribed_serials)
            await publish(own_broker, FIRST, {"params": {"pd.soc": 11}})
            again = await waiting
            assert again.raw["pd.soc"] == 11
            assert hub.delays[:3] == [1.0, 2.0, 2.0]  # doubling, capped by max_reconnect_delay
            assert max(hub.delays) <= 2.0
            # The session held: the next outage (another restart) starts the backoff afresh.
            await asyncio.sleep(1.2)
            outages = len(hub.delays)
            own_broker.stop()
            await until(lambda: len(hub.delays) > outages, timeout=20.0)
            own_broker.start()
        assert hub.delays[outages] == 1.0

    async def test_device_added_appears_within_one_list_interval(
        self, cloud: FakeCloud, own_broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """serial: "*": a device bound to the account later is read and subscribed."""
        cloud.add(FIRST, {"pd.soc": 10})
        certify(cloud, own_broker)
        cfg = mqtt_config(cloud, tls, "*", device_list_cache_ttl="1s")
        async with OpenMqttSource(cfg) as source:
            hub = source.hub
            assert hub is not None
            events = source.stream()
            assert (await next_reading(events)).device == f"station/{FIRST}"
            cloud.add(LATER, {"pd.soc": 30})
            added_at = time.monotonic()
            later = await next_reading(events)
            took = time.monotonic() - added_at
            await until(lambda: LATER in hub.subscribed_serials)
            await publish(own_broker, LATER, {"params": {"pd.soc": 31}})
            pushed = await next_reading(events)
        assert later.device == f"station/{LATER}"
        assert later.raw["pd.soc"] == 30
        # One interval (1 s), with 4 s of margin for a loaded 2-core machine.
        assert took < 5.0
        assert pushed.device == f"station/{LATER}"
        assert pushed.raw["pd.soc"] == 31
        assert hub.connections == 1  # a new device is a subscription, not a connection

    async def test_roster_names_the_account_devices(
        self, cloud: FakeCloud, own_broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """serial: "*" sends a Roster of the listed devices (so removed ones retire)."""
        cloud.add(FIRST, {"pd.soc": 10})
        cloud.add(SECOND, {"pd.soc": 20})
        certify(cloud, own_broker)
        async with OpenMqttSource(mqtt_config(cloud, tls, "*")) as source:
            events = source.stream()
            async with asyncio.timeout(10.0):
                while not isinstance(event := await anext(events), Roster):
                    pass
        assert event == Roster("station", frozenset({f"station/{FIRST}", f"station/{SECOND}"}))


class TestBursts:
    async def test_every_push_of_a_burst_reaches_the_reading(
        self, cloud: FakeCloud, own_broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """Fifty pushes back to back: each merged, in order; the last reading has the last."""
        cloud.add(FIRST, {"pd.soc": 0})
        certify(cloud, own_broker)
        async with OpenMqttSource(mqtt_config(cloud, tls, FIRST)) as source:
            hub = source.hub
            assert hub is not None
            events = source.stream()
            await next_reading(events)
            await until(lambda: FIRST in hub.subscribed_serials)
            async with aiomqtt.Client("127.0.0.1", own_broker.plain_port) as client:
                for soc in range(1, 51):
                    body = {"params": {"pd.soc": soc, f"pd.extra{soc}": soc}}
                    await client.publish(f"/open/{MQTT_ACCOUNT}/{FIRST}/quota", json.dumps(body))
            seen: list[Reading] = []
            while not seen or seen[-1].raw["pd.soc"] != 50:
                seen.append(await next_reading(events))
        socs = [reading.raw["pd.soc"] for reading in seen]
        assert socs == sorted(socs)
        assert source.pushes == 50
        assert all(seen[-1].raw[f"pd.extra{soc}"] == soc for soc in range(1, 51))
