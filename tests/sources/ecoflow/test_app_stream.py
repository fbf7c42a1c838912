"""``api: mqtt`` / ``api: device`` end to end: login stand-in, TLS mosquitto, device stand-in."""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING

import pytest

from power_exporter.errors import AuthError, ConnectError, DecodeError, OfflineError
from power_exporter.exposition.text import Renderer
from power_exporter.model import DeviceFault, Flag, Measure, Reading
from power_exporter.runtime import Runtime
from power_exporter.sources.ecoflow.app_mqtt import AppMqttSource, open_source
from power_exporter.sources.ecoflow.proto import envelope_pb2
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.peers.promtool import check_metrics
from tests.sources.ecoflow.app_harness import (
    PASSWORD,
    Collector,
    StandIn,
    World,
    json_reply,
    world,
)
from tests.sources.ecoflow.app_payloads import (
    FIXTURES,
    RIVER3_SN,
    fixture_json,
    masked_copy,
    river3_reply,
)
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.peers.mosquitto import TlsFiles

DELTA2_SN = "R331ZEB4ZE000001"  # a DELTA 2 prefix (JSON family delta2)
DELTAMINI_CYCLE = "tolwi-diag__deltamini__device-property-push__5-msg-cycle.jsonl"
RIVERMINI_PUSH = "tolwi-diag__rivermini__device-property-push__pd.json"
DELTA2_REPLY = "tolwi-diag__delta2__thing-property-get_reply__latestQuotas.json"


@pytest.fixture
async def app_world(
    tmp_path: Path, tls: TlsFiles, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    """A broker and login stand-in of this test's own (the conftest's ``tls`` CA)."""
    user = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-") + "@example.com"
    async with world(tmp_path, tls, user) as built:
        yield built


@pytest.fixture(autouse=True)
def no_secrets_logged(caplog: pytest.LogCaptureFixture) -> object:
    """Every test here runs with DEBUG logs and proves the password never reached them."""
    caplog.set_level("DEBUG")
    yield
    assert PASSWORD not in caplog.text


def assert_read_only(stand_in: StandIn, world_: World, serial: str) -> None:
    """Everything on the broker was a push, a get request (of the allowed shapes) or a reply."""
    allowed = re.compile(
        rf"^(/app/device/property/{serial}|/app/\d+/{serial}/thing/property/get(_reply)?)$"
    )
    for topic, payload in stand_in.seen:
        assert allowed.match(topic), f"unexpected publish to {topic}"
        if topic.endswith("/get"):
            assert topic == f"/app/{world_.cloud.user_id}/{serial}/thing/property/get"
            if payload[:1] == b"{":
                request = json.loads(payload)
                assert request["operateType"] == "latestQuotas"
                assert request["params"] == {}
            else:
                for header in envelope_pb2.SendHeaderMsg.FromString(payload).msg:
                    assert header.pdata == b""
                    assert (header.src, header.dest) == (32, 32)


class TestPassive:
    async def test_json_push_cycle_becomes_readings(self, app_world: World) -> None:
        """A DELTA mini push cycle (real capture, five modules): merged raw keys and measures."""
        serial = "DBABZ5ZE0000001"
        source = open_source(app_world.config(serial, api="mqtt"))
        assert isinstance(source, AppMqttSource)
        async with source, StandIn(app_world, serial) as stand_in:
            collector = Collector(source)
            await asyncio.sleep(0.3)  # connected and subscribed
            for line in (FIXTURES / DELTAMINI_CYCLE).read_bytes().splitlines():
                await stand_in.push(line)
            await collector.wait(
                lambda _e: sum(isinstance(e, Reading) for e in collector.events) == 5
            )
            await collector.close()
        reading = collector.events[-1]
        assert isinstance(reading, Reading)
        assert reading.identity.serial == serial
        assert reading.raw["pd.soc"] == 99.0
        assert reading.raw["bmsMaster.soc"] == 99.0
        assert reading.raw["mppt.carOutVol"] >= 0.0  # the first module of the cycle is kept
        assert reading.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.9949)
        assert stand_in.requests == []  # passive: nothing asked while not silent

    async def test_json_push_of_an_unknown_product(self, app_world: World) -> None:
        """A RIVER mini push (real capture) from an SN no table knows: raw series only."""
        serial = "XX00ZE0000000001"
        source = open_source(app_world.config(serial, api="mqtt"))
        async with source, StandIn(app_world, serial) as stand_in:
            collector = Collector(source)
            await asyncio.sleep(0.3)
            await stand_in.push(json.dumps(fixture_json(RIVERMINI_PUSH)).encode())
            reading = await collector.reading()
            await collector.close()
        assert reading.identity.labels["product_name"] == "Unknown"
        assert reading.raw["pd.chgPowerAC"] == 30780.0
        assert reading.measures == {}

    async def test_protobuf_push_is_xor_decoded_and_normalized(self, app_world: World) -> None:
        """The RIVER 3 capture, XOR-masked, pushed: protobuf path, normalized measures."""
        source = open_source(app_world.config(RIVER3_SN, api="mqtt"))
        async with source, StandIn(app_world, RIVER3_SN) as stand_in:
            collector = Collector(source)
            await asyncio.sleep(0.3)
            await stand_in.push(masked_copy(river3_reply(), 311821031))
            reading = await collector.reading()
            await collector.close()
        assert reading.raw["bms_batt_soc"] == 19.0
        assert reading.raw["bms_heartbeat[0].amp"] == -121.0
        assert reading.text["bms_heartbeat[0].bms_sn"] == RIVER3_SN
        assert reading.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.19)
        assert reading.measures[Measure.OUTPUT_VOLTAGE] == 123.51778
        assert reading.known_flags == {Flag.CHARGING, Flag.DISCHARGING}
        assert reading.identity.labels["product_name"] == "RIVER 3"

    async def test_bad_payloads_are_faults_not_crashes(self, app_world: World) -> None:
        """Garbage, bad JSON, truncated protobuf, megabytes: DecodeError faults, then data."""
        source = open_source(app_world.config(RIVER3_SN, api="mqtt"))
        assert isinstance(source, AppMqttSource)
        async with source, StandIn(app_world, RIVER3_SN) as stand_in:
            collector = Collector(source)
            await asyncio.sleep(0.3)
            for bad in (b"\x80\x81\x82", b'{"params": ', river3_reply()[:700], b"{" * (1 << 20)):
                await stand_in.push(bad)
            await stand_in.push(river3_reply())
            await collector.reading()
            await collector.close()
        faults = [e for e in collector.events if isinstance(e, DeviceFault)]
        assert len(faults) >= 3
        assert all(isinstance(f.error, DecodeError) for f in faults)
        counts = source.device.counts
        assert counts["protobuf"] >= 1
        assert counts["json"] == 1
        assert counts["too_large"] == 1

    async def test_silent_device_is_nudged_once_then_down(self, app_world: World) -> None:
        """No data: assume offline after 1 s (one read-only get), down after 2 s; data: up."""
        source = open_source(app_world.config(RIVER3_SN, api="mqtt"))
        async with source, StandIn(app_world, RIVER3_SN) as stand_in:
            collector = Collector(source)
            fault = await collector.fault(OfflineError, within=5.0)
            assert "no data from" in str(fault.error)
            assert len(stand_in.requests) == 1  # passive mode: one nudge per silence
            request = envelope_pb2.SendHeaderMsg.FromString(stand_in.requests[0]).msg[0]
            assert (request.src, request.dest, request.pdata) == (32, 32, b"")
            mark = len(collector.events)
            await stand_in.push(river3_reply())
            await collector.reading(after=mark)
            await collector.close()
        assert_read_only(stand_in, app_world, RIVER3_SN)


class TestDeviceApi:
    async def test_protobuf_device_is_asked_with_the_get_all_header(self, app_world: World) -> None:
        """A silent RIVER 3 gets the protobuf "get everything" header; its reply is a reading."""
        source = open_source(app_world.config(RIVER3_SN))
        async with source, StandIn(app_world, RIVER3_SN) as stand_in:
            stand_in.answer = lambda _topic, _payload: river3_reply()
            collector = Collector(source)
            reading = await collector.reading()
            await collector.close()
        header = envelope_pb2.SendHeaderMsg.FromString(stand_in.requests[0]).msg[0]
        assert getattr(header, "from") == "Android"
        assert 999_910_000 <= header.seq <= 999_999_999
        assert reading.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.19)
        assert_read_only(stand_in, app_world, RIVER3_SN)

    async def test_json_device_gets_latest_quotas(self, app_world: World) -> None:
        """A DELTA 2 is asked with latestQuotas; its reply (real capture) is a reading."""
        source = open_source(app_world.config(DELTA2_SN))
        async with source, StandIn(app_world, DELTA2_SN) as stand_in:
            stand_in.answer = json_reply(fixture_json(DELTA2_REPLY))
            collector = Collector(source)
            reading = await collector.reading()
            await collector.close()
        request = json.loads(stand_in.requests[0])
        assert request["operateType"] == "latestQuotas"
        assert 999_910_000 <= int(request["id"]) <= 999_999_999
        assert reading.raw["pd.soc"] == 86.0
        assert reading.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.86, abs=0.01)
        assert reading.identity.labels["product_name"] == "DELTA 2"
        assert_read_only(stand_in, app_world, DELTA2_SN)

    async def test_reply_online_0_takes_the_device_down_at_once(self, app_world: World) -> None:
        """A reply saying online 0: OfflineError at once, long before the silence window."""
        offline = fixture_json(DELTA2_REPLY)
        data = offline["data"]
        assert isinstance(data, dict)
        offline["data"] = {**data, "online": 0}
        source = open_source(app_world.config(DELTA2_SN, stale_after="60s"))
        async with source, StandIn(app_world, DELTA2_SN) as stand_in:
            stand_in.answer = json_reply(offline)
            collector = Collector(source)
            fault = await collector.fault(OfflineError, within=3.0)
            await collector.close()
        assert "EcoFlow says" in str(fault.error)
        assert not any(isinstance(e, Reading) for e in collector.events)

    async def test_no_requests_while_pushes_arrive(self, app_world: World) -> None:
        """Pushes every 0.1 s: the device is never asked after data flows."""
        source = open_source(app_world.config(RIVER3_SN, quota_request_interval="0.4s"))
        async with source, StandIn(app_world, RIVER3_SN) as stand_in:
            collector = Collector(source)
            await asyncio.sleep(0.3)
            asked_before = len(stand_in.requests)
            for _ in range(20):
                await stand_in.push(river3_reply())
                await asyncio.sleep(0.1)
            asked_during = len(stand_in.requests) - asked_before
            await collector.close()
        assert asked_during == 0
        assert sum(isinstance(e, Reading) for e in collector.events) >= 15

    async def test_silent_device_is_asked_less_and_less(self, app_world: World) -> None:
        """A device that never answers is asked less and less often.

        After 0.3 s, then 0.6 s, then every 1 s (assume_offline_after): about 4 requests in
        2.5 s, not 8.
        """
        source = open_source(app_world.config(RIVER3_SN, stale_after="10s"))
        async with source, StandIn(app_world, RIVER3_SN) as stand_in:
            collector = Collector(source)
            await asyncio.sleep(2.5)
            await collector.close()
        assert 3 <= len(stand_in.requests) <= 5
        assert source.device.online.unanswered == len(stand_in.requests)
        assert_read_only(stand_in, app_world, RIVER3_SN)


class TestFaults:
    async def test_broker_restart_reconnects_and_resubscribes(self, app_world: World) -> None:
        """The broker dies mid-run: the stream reconnects, subscribes again, data flows again."""
        source = open_source(app_world.config(RIVER3_SN, api="mqtt", stale_after="30s"))
        async with source:
            stand_in = StandIn(app_world, RIVER3_SN)
            await stand_in.connect()
            collector = Collector(source)
            await asyncio.sleep(0.3)
            await stand_in.push(river3_reply())
            await collector.reading()
            await stand_in.disconnect()
            app_world.broker.restart()
            await stand_in.connect()
            mark = len(collector.events)
            for _ in range(50):  # until the exporter has resubscribed
                await stand_in.push(river3_reply())
                if any(isinstance(e, Reading) for e in collector.events[mark:]):
                    break
                await asyncio.sleep(0.1)
            await collector.reading(after=mark)
            await stand_in.disconnect()
            await collector.close()
        assert not any(
            isinstance(e, DeviceFault) and isinstance(e.error, (ConnectError, AuthError))
            for e in collector.events
        )
        assert app_world.cloud.logins == 1  # a broker restart needs no new login

    async def test_expired_credentials_recover(self, app_world: World) -> None:
        """Certification credentials expire: refused, log in again, certify, data flows."""
        cloud = app_world.cloud
        source = open_source(app_world.config(RIVER3_SN, api="mqtt", stale_after="30s"))
        async with source:
            stand_in = StandIn(app_world, RIVER3_SN)
            await stand_in.connect()
            collector = Collector(source)
            await asyncio.sleep(0.3)
            await stand_in.push(river3_reply())
            await collector.reading()
            await stand_in.disconnect()
            cloud.rotate_mqtt_password()  # the broker now refuses the old password
            app_world.broker.restart()  # and drops every connection
            await stand_in.connect()
            mark = len(collector.events)
            for _ in range(50):
                await stand_in.push(river3_reply())
                if any(isinstance(e, Reading) for e in collector.events[mark:]):
                    break
                await asyncio.sleep(0.1)
            await collector.reading(after=mark)
            await stand_in.disconnect()
            await collector.close()
        assert (cloud.logins, cloud.certifications) == (2, 2)
        assert not any(isinstance(e, DeviceFault) for e in collector.events)
        assert cloud.mqtt_password not in str(collector.events)

    async def test_wrong_password_is_one_clear_message(
        self, app_world: World, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A wrong password: an AuthError fault saying so, one ERROR line, no traceback."""
        app_world.cloud.users[app_world.user] = "something else"
        source = open_source(app_world.config(RIVER3_SN))
        async with source:
            collector = Collector(source)
            fault = await collector.fault(AuthError, within=5.0)
            await asyncio.sleep(0.3)
            await collector.close()
        assert "check the account's user and password" in str(fault.error)
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1
        assert all(r.exc_info is None for r in caplog.records)
        assert "Traceback" not in caplog.text
        assert len(collector.events) == 1  # then it waits 30 s before the next login
        assert app_world.cloud.refused_logins == 1

    async def test_broker_override(self, app_world: World) -> None:
        """``broker`` wins over the address certification hands out."""
        app_world.cloud.mqtt_host, real = "192.0.2.1", app_world.broker.tls_port
        app_world.cloud.mqtt_port = 1
        source = open_source(app_world.config(RIVER3_SN, broker=f"mqtts://127.0.0.1:{real}"))
        async with source, StandIn(app_world, RIVER3_SN) as stand_in:
            stand_in.answer = lambda _topic, _payload: river3_reply()
            collector = Collector(source)
            await collector.reading()
            await collector.close()


class TestEndToEnd:
    async def test_runtime_serves_promtool_clean_metrics(self, app_world: World) -> None:
        """Through the real runtime and renderer: normalized and seed-named series, clean."""
        store = Store()
        runtime = Runtime([app_world.config(RIVER3_SN)], store, backoff_max=0.2)
        async with StandIn(app_world, RIVER3_SN) as stand_in:
            stand_in.answer = lambda _topic, _payload: river3_reply()
            runtime.start()
            try:
                await until(lambda: (state := store.get("garage")) is not None and state.up)
                page = Renderer(store, lambda kind: KINDS[kind].naming).render()
            finally:
                await runtime.stop()
        check_metrics(page)
        text = page.decode()
        assert 'power_battery_charge_ratio{device="garage"} 0.19' in text
        assert 'power_device_up{device="garage"} 1' in text
        labels = 'device_name="RIVER 3-0798",product_name="RIVER 3"'
        assert f'ecoflow_bms_batt_soc{{device="garage",{labels}' in text
        assert 'ecoflow_bms_heartbeat_cell_vol{device="garage",' in text
        assert 'index_0="0",index_1="5"} 0' in text
        assert PASSWORD not in text
        assert app_world.cloud.mqtt_password not in text


class TestIdleReconnect:
    async def test_mqtt_timeout_reconnects_a_quiet_connection(
        self, app_world: World, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Seed 002's MQTT_TIMEOUT: no message for that long, the connection is made anew."""
        cfg = app_world.config(RIVER3_SN, api="mqtt", mqtt_timeout="0.4s", stale_after="30s")
        source = open_source(cfg)
        async with source, StandIn(app_world, RIVER3_SN) as stand_in:
            collector = Collector(source)
            await until(lambda: caplog.text.count("connected to 127.0.0.1") >= 3, timeout=5.0)
            await stand_in.push(river3_reply())
            await collector.reading()
            await collector.close()
        assert "no message for" in caplog.text
        assert app_world.cloud.logins == 1  # the same credentials serve again
