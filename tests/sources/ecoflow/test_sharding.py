"""EcoFlow sources sharded: each replica lists every device but reads only its own.

Against the fake signed cloud (REST), a real TLS mosquitto (developer MQTT) and the app-account
stand-in, the sources are restricted as the runtime restricts them on a sharded replica.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import pytest

from power_exporter.model import Reading, Roster
from power_exporter.sharding import Shard
from power_exporter.sources.ecoflow.app_mqtt import open_source as open_app
from power_exporter.sources.ecoflow.source import OpenMqttSource, RestSource, open_source
from tests.sources.ecoflow.app_harness import Collector, StandIn, World, world
from tests.sources.ecoflow.conftest import config
from tests.sources.ecoflow.fake_cloud import QUOTA_ALL
from tests.sources.ecoflow.test_app_accounts import SERIALS as APP_SERIALS
from tests.sources.ecoflow.test_app_accounts import push
from tests.sources.ecoflow.test_open_mqtt import certify, mqtt_config, next_event, serial

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.peers.mosquitto import Mosquitto, TlsFiles
    from tests.sources.ecoflow.fake_cloud import FakeCloud

SERIALS = [f"R331ZEB4ZE{index:06d}" for index in range(12)]
SHARD = Shard(1, 3)


def _quota_asked(cloud: FakeCloud) -> set[str]:
    return {query["sn"] for path, query in cloud.requests if path == QUOTA_ALL}


class TestRest:
    async def test_reads_only_its_own_lists_them_all(self, cloud: FakeCloud) -> None:
        """serial: "*": quota/all only for this replica's serials; the roster has all 12."""
        for sn in SERIALS:
            cloud.add(sn, {"pd.soc": 50})
        source = open_source(config(cloud, serial="*"))
        assert isinstance(source, RestSource)
        source.restrict(SHARD.owns)
        async with source:
            events = await source.read()
        mine = {sn for sn in SERIALS if SHARD.owns(f"station/{sn}")}
        assert 0 < len(mine) < len(SERIALS)
        assert _quota_asked(cloud) == mine
        assert {e.device for e in events if isinstance(e, Reading)} == {
            f"station/{sn}" for sn in mine
        }
        (roster,) = [e for e in events if isinstance(e, Roster)]
        assert roster.devices == {f"station/{sn}" for sn in SERIALS}

    async def test_a_replica_owning_none_asks_no_quota(self, cloud: FakeCloud) -> None:
        """Owning none of the account's devices: the list only, no quota request."""
        for sn in SERIALS[:3]:
            cloud.add(sn, {"pd.soc": 50})
        source = open_source(config(cloud, serial="*"))
        assert isinstance(source, RestSource)
        source.restrict(lambda _name: False)
        async with source:
            events = await source.read()
        assert _quota_asked(cloud) == set()
        assert [type(e) for e in events] == [Roster]


class TestOpenMqtt:
    async def test_subscribes_to_its_own(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """serial: "*": data of the owned device only; the other's quota is never asked."""
        first, second = serial(), serial("HW52")
        cloud.add(first, {"pd.soc": 10})
        cloud.add(second, {"2_1.watts": 100})
        certify(cloud, broker)
        source = open_source(mqtt_config(cloud, tls, "*"))
        assert isinstance(source, OpenMqttSource)
        source.restrict(lambda name: name == f"station/{second}")
        async with source:
            events = source.stream()
            reading = await next_event(events)
            with pytest.raises(TimeoutError):  # nothing of the other device
                await next_event(events, timeout=1.0)
        assert isinstance(reading, Reading)
        assert reading.device == f"station/{second}"
        assert _quota_asked(cloud) == {second}


@pytest.fixture
async def app_world(
    tmp_path: Path, tls: TlsFiles, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    """A broker and login stand-in of this test's own, with the three app devices."""
    user = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-") + "@example.com"
    async with world(tmp_path, tls, user) as built:
        built.cloud.devices = [
            {"sn": sn, "deviceName": f"DELTA 2-{sn[-2:]}", "productName": "DELTA 2", "online": 1}
            for sn in APP_SERIALS
        ]
        yield built


class TestAppAccount:
    async def test_list_of_serials_keeps_its_own(self, app_world: World) -> None:
        """A list of serials, restricted: only the owned devices are kept and subscribed."""
        cfg = app_world.config(list(APP_SERIALS), api="mqtt", name="pair")
        assert cfg.fan_out_devices == frozenset(f"pair/{sn}" for sn in APP_SERIALS)
        source = open_app(cfg)
        source.restrict(lambda name: name == f"pair/{APP_SERIALS[2]}")
        assert set(source.devices) == {APP_SERIALS[2]}
        async with source, StandIn(app_world, APP_SERIALS[2]) as stand_in:
            collector = Collector(source)
            await asyncio.sleep(0.3)
            await stand_in.push(push(12, 3))
            reading = await collector.reading()
            await collector.close()
        assert reading.device == f"pair/{APP_SERIALS[2]}"
        assert set(source.devices) == {APP_SERIALS[2]}

    async def test_fan_out_adds_only_its_own(self, app_world: World) -> None:
        """serial: "*", restricted: the roster names all three, the source keeps one."""
        cfg = app_world.config("*", api="mqtt", name="home")
        assert cfg.fans_out
        assert cfg.fan_out_devices is None
        source = open_app(cfg)
        source.restrict(lambda name: name == f"home/{APP_SERIALS[0]}")
        async with source:
            collector = Collector(source)
            roster = await collector.wait(lambda e: isinstance(e, Roster))
            await collector.close()
        assert isinstance(roster, Roster)
        assert roster.devices == {f"home/{sn}" for sn in APP_SERIALS}
        assert set(source.devices) == {APP_SERIALS[0]}
