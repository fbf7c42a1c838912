"""The polled REST source against the fake cloud: readings, fan-out, online, bad data."""

from __future__ import annotations

import pytest

from power_exporter.errors import AuthError, DecodeError, OfflineError, ProtocolError
from power_exporter.model import DeviceFault, Flag, Measure, Reading, Roster
from power_exporter.sources.base import PolledSource
from power_exporter.sources.ecoflow.source import open_source
from tests.sources.ecoflow import data
from tests.sources.ecoflow.conftest import config
from tests.sources.ecoflow.fake_cloud import DEVICE_LIST, QUOTA_ALL, FakeCloud, Fault

DELTA2 = "R331ZEB4ZEAL0001"
PRO = "DCABZ8ZE1234"
STREAM = "HW51ZEH4SF5R3047"


def _reading(event: object) -> Reading:
    assert isinstance(event, Reading), event
    return event


def _fault(event: object) -> DeviceFault:
    assert isinstance(event, DeviceFault), event
    return event


class TestSingleDevice:
    """One configured serial."""

    async def test_reading(self, cloud: FakeCloud) -> None:
        """Measures from the family table, every number raw, the seed's labels."""
        cloud.add(DELTA2, data.delta2(), name=DELTA2, product="DELTA 2")
        source = open_source(config(cloud, serial=DELTA2))
        assert isinstance(source, PolledSource)
        async with source:
            (event,) = await source.read()
        reading = _reading(event)
        assert reading.device == "station"
        assert reading.identity.serial == DELTA2
        assert reading.identity.vendor == "EcoFlow"
        assert reading.identity.model == "DELTA 2"
        assert dict(reading.identity.labels) == {
            "device_name": "DELTA 2-0001",  # the API name is the serial: devices.json names it
            "product_name": "DELTA 2",
            "device_general_key": "ecoflow_delta_2",
            "metrics_prefix": "ecoflow",
        }
        assert reading.measures[Measure.BATTERY_CHARGE] == pytest.approx(0.864)
        assert reading.measures[Measure.OUTPUT_POWER] == 344
        assert reading.flags == {Flag.DISCHARGING}
        assert reading.raw["bms_emsStatus.bmsIsConnt[0]"] == 3
        assert len(reading.raw) == 205

    async def test_documented_string_values(self, cloud: FakeCloud) -> None:
        """EcoFlow's documented example answers strings: "100" counts as 100."""
        quota = {
            "bmsMaster.soc": "100",
            "bmsMaster.temp": "34",
            "ems.lcdShowSoc": "100",
            "pd.remainTime": "14781",
            "mppt.carState": "on",
        }
        cloud.add(PRO, quota)
        async with open_source(config(cloud, serial=PRO)) as source:
            (event,) = await source.read()  # type: ignore[union-attr]
        reading = _reading(event)
        assert reading.raw["bmsMaster.soc"] == 100
        assert reading.measures[Measure.BATTERY_CHARGE] == 1.0
        assert reading.measures[Measure.BATTERY_TEMPERATURE] == 34
        assert "mppt.carState" not in reading.raw
        assert reading.text["mppt.carState"] == "on"

    async def test_offline_device(self, cloud: FakeCloud) -> None:
        """The cloud still serves last values, but the device list says offline."""
        cloud.add(PRO, data.delta_pro(), online=0)
        async with open_source(config(cloud, serial=PRO)) as source:
            (event,) = await source.read()  # type: ignore[union-attr]
        fault = _fault(event)
        assert fault.device == "station"
        assert isinstance(fault.error, OfflineError)
        assert cloud.count(QUOTA_ALL) == 0

    async def test_unknown_serial(self, cloud: FakeCloud) -> None:
        """A serial not bound to the account: a fault saying so (the list is re-read once)."""
        cloud.add(PRO, {})
        async with open_source(
            config(cloud, serial="R601NOTMINE", device_list_cache_ttl=60)
        ) as source:
            (event,) = await source.read()  # type: ignore[union-attr]
            (again,) = await source.read()  # type: ignore[union-attr]
        assert isinstance(_fault(event).error, ProtocolError)
        assert "not bound" in str(_fault(again).error)
        assert cloud.count(DEVICE_LIST) == 2  # fetched, then re-read once from the cache

    async def test_bad_keys_fail_the_source(self, cloud: FakeCloud) -> None:
        """Wrong keys raise AuthError for the whole entry."""
        cloud.add(PRO, {})
        async with open_source(config(cloud, serial=PRO, secret_key="nope")) as source:
            with pytest.raises(AuthError, match="8521"):
                await source.read()  # type: ignore[union-attr]

    async def test_unknown_family_gets_raw_only(self, cloud: FakeCloud) -> None:
        """A product with no table: no measures, every number raw."""
        cloud.add(
            "BK11ZZZ", {"gridConnectionPower": 12.5, "cmsBattSocX": 3}, product="Stream Ultra"
        )
        async with open_source(config(cloud, serial="BK11ZZZ")) as source:
            (event,) = await source.read()  # type: ignore[union-attr]
        reading = _reading(event)
        assert reading.measures == {}
        assert reading.raw == {"gridConnectionPower": 12.5, "cmsBattSocX": 3}
        assert reading.identity.labels["device_general_key"] == "ecoflow_stream_ultra"

    async def test_implausible_values_are_dropped(self, cloud: FakeCloud) -> None:
        """A charge of 250 % is dropped from the measures but kept raw."""
        cloud.add(DELTA2, {"pd.soc": 250, "pd.wattsOutSum": 10})
        async with open_source(config(cloud, serial=DELTA2)) as source:
            (event,) = await source.read()  # type: ignore[union-attr]
        reading = _reading(event)
        assert Measure.BATTERY_CHARGE not in reading.measures
        assert reading.measures[Measure.OUTPUT_POWER] == 10
        assert reading.raw["pd.soc"] == 250


class TestFanOut:
    """serial: "*": every device of the account, each a device of its own."""

    async def test_every_device(self, cloud: FakeCloud) -> None:
        """Readings and faults per device; one device's bad data leaves the others alone."""
        cloud.add(DELTA2, data.delta2())
        cloud.add(PRO, data.delta_pro(), online=0)
        cloud.add(STREAM, data.powerstream(), name="Balcony")
        cloud.add("R601ZZZZ0002", {"pd.soc": 50})
        cloud.fail(QUOTA_ALL, Fault(body=b"{broken"), sn="R601ZZZZ0002")
        async with open_source(config(cloud, serial="*")) as source:
            got = await source.read()  # type: ignore[union-attr]
        events = {e.device: e for e in got if not isinstance(e, Roster)}
        assert set(events) == {f"station/{sn}" for sn in (DELTA2, PRO, STREAM, "R601ZZZZ0002")}
        (roster,) = [e for e in got if isinstance(e, Roster)]
        assert roster.devices == set(events)
        assert isinstance(_fault(events[f"station/{PRO}"]).error, OfflineError)
        stream = _reading(events[f"station/{STREAM}"])
        assert stream.identity.labels["device_name"] == "Balcony"
        assert stream.measures[Measure.SOLAR_INPUT_POWER] == pytest.approx(67.0)
        assert _reading(events[f"station/{DELTA2}"]).measures[Measure.OUTPUT_POWER] == 344
        assert isinstance(_fault(events["station/R601ZZZZ0002"]).error, DecodeError)

    async def test_empty_account(self, cloud: FakeCloud) -> None:
        """No devices: no error, an empty roster."""
        async with open_source(config(cloud, serial="*")) as source:
            assert await source.read() == [Roster("station", frozenset())]  # type: ignore[union-attr]

    async def test_list_ttl_decides_when_offline_is_seen(self, cloud: FakeCloud) -> None:
        """The device list is cached for device_list_cache_ttl; then its offline flag counts."""
        cloud.add(DELTA2, {"pd.soc": 50})
        cfg = config(cloud, serial=DELTA2, device_list_cache_ttl="200ms")
        async with open_source(cfg) as source:
            assert isinstance((await source.read())[0], Reading)  # type: ignore[union-attr]
            cloud.devices[DELTA2].online = 0
            assert isinstance((await source.read())[0], Reading)  # type: ignore[union-attr]
            import asyncio  # noqa: PLC0415

            await asyncio.sleep(0.25)
            assert isinstance(_fault((await source.read())[0]).error, OfflineError)  # type: ignore[union-attr]
