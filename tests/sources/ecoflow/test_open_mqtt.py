"""The developer MQTT stream against a real mosquitto over TLS, certified by the fake cloud."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
from typing import TYPE_CHECKING

import aiomqtt
import pytest

from power_exporter.errors import AuthError, ConnectError, DecodeError, OfflineError
from power_exporter.model import DeviceFault, Measure, Reading, Roster
from power_exporter.sources.base import StreamingSource
from power_exporter.sources.ecoflow.open_mqtt import client_id, quota_of_push
from power_exporter.sources.ecoflow.open_stream import OpenMqttSource
from power_exporter.sources.ecoflow.source import open_source
from tests.sources.ecoflow import data
from tests.sources.ecoflow.conftest import MQTT_ACCOUNT, MQTT_PASSWORD, config
from tests.sources.ecoflow.fake_cloud import CERTIFICATION

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from power_exporter.model import Event
    from power_exporter.sources.ecoflow.config import EcoflowConfig
    from tests.peers.mosquitto import Mosquitto, TlsFiles
    from tests.sources.ecoflow.fake_cloud import FakeCloud

_serials = itertools.count(1)


def serial(prefix: str = "R331") -> str:
    """A serial no other test uses (topics stay apart on the shared broker)."""
    return f"{prefix}TEST{next(_serials):08d}"


def certify(cloud: FakeCloud, broker: Mosquitto, *passwords: str) -> None:
    """The fake cloud certifies the broker's TLS listener (passwords in turn, the last repeats)."""
    for password in passwords or (MQTT_PASSWORD,):
        cloud.certifications.append(
            {
                "certificateAccount": MQTT_ACCOUNT,
                "certificatePassword": password,
                "url": "localhost",
                "port": str(broker.tls_port),
                "protocol": "mqtts",
            }
        )


def mqtt_config(cloud: FakeCloud, tls: TlsFiles, sn: str, **keys: object) -> EcoflowConfig:
    """api: open_mqtt against the fake cloud and the test CA."""
    return config(cloud, api="open_mqtt", serial=sn, ca_file=str(tls.ca), **keys)


async def publish(broker: Mosquitto, sn: str, kind: str, payload: object) -> None:
    """Publish as EcoFlow's cloud would, on the plain listener."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    async with aiomqtt.Client("127.0.0.1", broker.plain_port) as client:
        await client.publish(f"/open/{MQTT_ACCOUNT}/{sn}/{kind}", body, qos=1)


async def next_event(events: AsyncIterator[Event], timeout: float = 5.0) -> Event:  # noqa: ASYNC109
    """The next event of a stream, within a timeout."""
    async with asyncio.timeout(timeout):
        return await anext(events)


async def next_data(events: AsyncIterator[Event], timeout: float = 5.0) -> Event:  # noqa: ASYNC109
    """The next event of a stream that is not a Roster (the device list is read anew)."""
    while isinstance(event := await next_event(events, timeout), Roster):
        pass
    return event


def _reading(event: Event) -> Reading:
    assert isinstance(event, Reading), event
    return event


def _fault(event: Event) -> DeviceFault:
    assert isinstance(event, DeviceFault), event
    return event


class TestPushes:
    """Pushes become readings; the device list and /status decide online."""

    async def test_quota_pushes(self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles) -> None:
        """Start from quota/all, then merge DELTA 2-style partial pushes."""
        sn = serial()
        cloud.add(sn, data.delta2())
        certify(cloud, broker)
        source = open_source(mqtt_config(cloud, tls, sn))
        assert isinstance(source, StreamingSource)
        async with source:
            events = source.stream()
            first = _reading(await next_event(events))
            assert first.raw["pd.wattsOutSum"] == 344
            await publish(
                broker, sn, "quota", {"typeCode": "pdStatus", "params": {"wattsOutSum": 120}}
            )
            second = _reading(await next_event(events))
            await publish(broker, sn, "quota", {"typeCode": "bmsStatus", "params": {"amp": 900}})
            third = _reading(await next_event(events))
        assert second.raw["pd.wattsOutSum"] == 120
        assert second.measures[Measure.OUTPUT_POWER] == 120
        assert second.raw["pd.soc"] == 86  # kept from before: pushes are partial
        assert third.raw["bms_bmsStatus.amp"] == 900
        assert third.device == "station"
        assert cloud.count(CERTIFICATION) == 1

    async def test_powerstream_pushes(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """{"cmdFunc": 20, "cmdId": 1, "param": {...}} keys become 20_1.<name>."""
        sn = serial("HW51")
        cloud.add(sn, {})
        certify(cloud, broker)
        async with open_source(mqtt_config(cloud, tls, sn)) as source:
            events = source.stream()  # type: ignore[union-attr]
            assert _reading(await next_event(events)).raw == {}
            push = {
                "cmdFunc": 20,
                "cmdId": 1,
                "param": {"batSoc": 77, "bpType": 1, "invOutputWatts": 1234},
            }
            await publish(broker, sn, "quota", push)
            reading = _reading(await next_event(events))
        assert reading.raw == {"20_1.batSoc": 77, "20_1.bpType": 1, "20_1.invOutputWatts": 1234}
        assert reading.measures[Measure.BATTERY_CHARGE] == 0.77
        assert reading.measures[Measure.OUTPUT_POWER] == pytest.approx(123.4)

    async def test_status_and_bad_pushes(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """/status 0 is offline, 1 online again; a malformed push is a fault, not the end."""
        sn = serial()
        cloud.add(sn, {"pd.soc": 50})
        certify(cloud, broker)
        async with open_source(mqtt_config(cloud, tls, sn)) as source:
            events = source.stream()  # type: ignore[union-attr]
            _reading(await next_event(events))
            await publish(
                broker, sn, "status", {"id": "1", "version": "1.0", "params": {"status": 0}}
            )
            offline = _fault(await next_event(events))
            await publish(broker, sn, "quota", b"\x80\x81 not json")
            broken = _fault(await next_event(events))
            await publish(broker, sn, "status", {"params": {"status": 1}})
            back = _reading(await next_event(events))
        assert isinstance(offline.error, OfflineError)
        assert isinstance(broken.error, DecodeError)
        assert back.raw["pd.soc"] == 50

    async def test_offline_at_start_then_data(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """Offline in the list: a fault, no quota/all; data arriving proves it online."""
        sn = serial()
        cloud.add(sn, data.delta2(), online=0)
        certify(cloud, broker)
        async with open_source(mqtt_config(cloud, tls, sn)) as source:
            events = source.stream()  # type: ignore[union-attr]
            assert isinstance(_fault(await next_event(events)).error, OfflineError)
            await publish(broker, sn, "quota", {"params": {"pd.soc": 61}})
            reading = _reading(await next_event(events))
        assert reading.raw == {"pd.soc": 61}
        assert cloud.requests.count(("/iot-open/sign/device/quota/all", {"sn": sn})) == 0

    async def test_every_device_of_the_account(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """serial: "*" subscribes to every device, each named <name>/<serial>."""
        first, second = serial(), serial("HW52")
        cloud.add(first, {"pd.soc": 10})
        cloud.add(second, {"2_1.watts": 100})
        certify(cloud, broker)
        async with open_source(mqtt_config(cloud, tls, "*")) as source:
            events = source.stream()  # type: ignore[union-attr]
            start = [await next_event(events) for _ in range(3)]
            await publish(
                broker, second, "quota", {"cmdFunc": 2, "cmdId": 1, "params": {"watts": 250}}
            )
            plug = _reading(await next_data(events))
        names = {f"station/{first}", f"station/{second}"}
        assert {event.device for event in start if isinstance(event, Reading)} == names
        assert Roster("station", frozenset(names)) in start
        assert plug.device == f"station/{second}"
        assert plug.measures[Measure.OUTPUT_POWER] == 25.0


class TestSilence:
    """Silent devices are nudged with a device-list request."""

    async def test_silent_and_offline(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """Silent past assume_offline and offline in the list: down."""
        sn = serial()
        cloud.add(sn, {"pd.soc": 50})
        certify(cloud, broker)
        async with OpenMqttSource(mqtt_config(cloud, tls, sn), assume_offline=0.3) as source:
            events = source.stream()
            _reading(await next_event(events))
            cloud.devices[sn].online = 0
            fault = _fault(await next_event(events))
        assert isinstance(fault.error, OfflineError)
        assert "silent" in str(fault.error)

    async def test_silent_but_online(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """Silent but online in the list: no fault; the last values stay until stale_after."""
        sn = serial()
        cloud.add(sn, {"pd.soc": 50})
        certify(cloud, broker)
        async with OpenMqttSource(mqtt_config(cloud, tls, sn), assume_offline=0.2) as source:
            events = source.stream()
            _reading(await next_event(events))
            lists = cloud.count("/iot-open/sign/device/list")
            with pytest.raises(TimeoutError):
                await next_event(events, timeout=0.7)
        assert cloud.count("/iot-open/sign/device/list") > lists  # nudged, said online


class TestConnection:
    """Certification, refusals, TLS, the client id."""

    async def test_new_certification_when_refused(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """Stale credentials are refused; a fresh certification connects."""
        sn = serial()
        cloud.add(sn, {"pd.soc": 1})
        certify(cloud, broker, "expired-password", MQTT_PASSWORD)
        async with open_source(mqtt_config(cloud, tls, sn)) as source:
            _reading(await next_event(source.stream()))  # type: ignore[union-attr]
        assert cloud.count(CERTIFICATION) == 2

    async def test_refused_twice(self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles) -> None:
        """Refused again after a new certification: AuthError."""
        sn = serial()
        cloud.add(sn, {})
        certify(cloud, broker, "wrong", "still-wrong")
        async with open_source(mqtt_config(cloud, tls, sn)) as source:
            events = source.stream()  # type: ignore[union-attr]
            with pytest.raises(AuthError, match="refused the credentials"):  # noqa: PT012
                while True:  # quota/all's reading may come first
                    await next_event(events)
        assert cloud.count(CERTIFICATION) == 2  # certified again once, then it gives up

    # paho-mqtt does not close the socket of a failed TLS handshake (_ssl_wrap_socket); the
    # ResourceWarning of its collection is paho's, not ours.
    @pytest.mark.filterwarnings("ignore::ResourceWarning")
    @pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
    async def test_untrusted_broker(self, cloud: FakeCloud, broker: Mosquitto) -> None:
        """Without the private CA the broker's certificate is refused."""
        sn = serial()
        cloud.add(sn, {})
        certify(cloud, broker)
        async with open_source(config(cloud, api="open_mqtt", serial=sn)) as source:
            events = source.stream()  # type: ignore[union-attr]
            with pytest.raises(ConnectError, match="certificate verify failed"):  # noqa: PT012
                while True:  # quota/all's reading may come first
                    await next_event(events)
        gc.collect()  # let paho's leaked socket be collected under this test's filters

    async def test_fixed_client_id(
        self, cloud: FakeCloud, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """Every connection of an account uses the same client id."""
        sn = serial()
        cloud.add(sn, {})
        certify(cloud, broker)
        kept = []  # streams left unfinished, as `read` leaves them
        for _ in range(2):
            async with open_source(mqtt_config(cloud, tls, sn)) as source:
                kept.append(source.stream())  # type: ignore[union-attr]
                await next_event(kept[-1])
            await asyncio.sleep(0.1)  # the broker logs the disconnection
        expected = client_id(MQTT_ACCOUNT)
        log = broker.log_text()
        assert log.count(f" as {expected} ") >= 2
        assert f"Client {expected} disconnected." in log  # closed with the source, left by none
        assert f"Client {expected} already connected" not in log


class TestPushShapes:
    """The push shapes of the developer stream, as quota/all keys."""

    @pytest.mark.parametrize(
        ("push", "quota"),
        [
            (
                {"typeCode": "emsStatus", "params": {"dsgRemainTime": 9}},
                {"bms_emsStatus.dsgRemainTime": 9},
            ),
            ({"typeCode": "invStatus", "params": {"inv.x": 1}}, {"inv.x": 1}),
            ({"cmdFunc": 20, "cmdId": 1, "param": {"batSoc": 5}}, {"20_1.batSoc": 5}),
            ({"params": {"bmsMaster.soc": 3}}, {"bmsMaster.soc": 3}),
            ({"gridConnectionPower": 12}, {"gridConnectionPower": 12}),
            (  # a flat push: its envelope fields are the message's, not metrics
                {
                    "id": 1717171717,
                    "version": "1.0",
                    "timestamp": 1717171717000,
                    "gridConnectionPower": 12,
                },
                {"gridConnectionPower": 12},
            ),
        ],
    )
    def test_shapes(self, push: dict[str, object], quota: dict[str, object]) -> None:
        """Prefixes as the developer API's REST names them."""
        assert quota_of_push(push) == quota

    @pytest.mark.parametrize("push", [[1], {"params": [1]}, "x"])
    def test_bad_shapes(self, push: object) -> None:
        """Anything else is a DecodeError."""
        with pytest.raises(DecodeError):
            quota_of_push(push)
