"""Against a real apcupsd on 127.0.0.1: fixed values, transitions, COMMLOST, faults, the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import yaml

from power_exporter.config import validate
from power_exporter.errors import ConnectError, StaleError
from power_exporter.model import DeviceFault, Flag, Measure, Reading
from power_exporter.sources.apcupsd.source import ApcupsdSource
from tests.peers.apcupsd import free_port, nis_query
from tests.peers.promtool import check_metrics
from tests.served import serving, value
from tests.sources.apcupsd.conftest import apcupsd_config
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tests.peers.apcupsd import Apcupsd
    from tests.served import Served

# The exposition must follow apcupsd within one poll interval; on a loaded 2-core machine we
# allow the interval plus 3 s for the poll and the scrape themselves.
INTERVAL = 0.5
MARGIN = 3.0


def number(status: Mapping[str, str], key: str) -> float:
    """The number apcaccess shows for a key (``229.5 Volts`` -> 229.5)."""
    return float(status[key].split()[0])


async def read_one(cfg_server: str, name: str = "ups") -> Reading | DeviceFault:
    """One read of a fresh source."""
    async with ApcupsdSource(apcupsd_config(name=name, server=cfg_server)) as source:
        (event,) = await source.read()
    assert isinstance(event, Reading | DeviceFault)
    return event


class TestTestDriver:
    """``UPSTYPE test``: every value compared with what apcaccess shows."""

    async def test_values_match_apcaccess(self, test_driver: Apcupsd) -> None:
        """Measures in base units, flags, identity and raw keys, from the same daemon."""
        oracle = await asyncio.to_thread(test_driver.status)
        reading = await read_one(test_driver.server)
        assert isinstance(reading, Reading)
        measures = reading.measures
        assert measures[Measure.INPUT_VOLTAGE] == number(oracle, "LINEV")
        assert measures[Measure.OUTPUT_VOLTAGE] == number(oracle, "OUTPUTV")
        assert measures[Measure.BATTERY_VOLTAGE] == number(oracle, "BATTV")
        assert measures[Measure.INPUT_FREQUENCY] == number(oracle, "LINEFREQ")
        assert measures[Measure.BATTERY_TEMPERATURE] == number(oracle, "ITEMP")
        assert measures[Measure.LOAD] == pytest.approx(number(oracle, "LOADPCT") / 100)
        assert measures[Measure.BATTERY_CHARGE] == pytest.approx(number(oracle, "BCHARGE") / 100)
        assert oracle["STATUS"] == "ONLINE NOBATT"
        assert reading.flags == {Flag.ONLINE}
        identity = reading.identity
        assert (identity.model, identity.serial) == (oracle["MODEL"], oracle["SERIALNO"])
        assert identity.firmware == oracle["FIRMWARE"]
        assert identity.labels["ups"] == oracle["UPSNAME"] == "testups"
        # Every numeric key of apcaccess is kept raw, in apcupsd's unit.
        assert reading.raw["LOADPCT"] == number(oracle, "LOADPCT")
        assert reading.raw["HUMIDITY"] == number(oracle, "HUMIDITY")
        assert reading.raw["STATFLAG"] == int(oracle["STATFLAG"], 16)

    async def test_implausible_values_dropped(self, test_driver: Apcupsd) -> None:
        """The test driver's TIMELEFT (1200 minutes) and its 0 W / 0 VA ratings are not measures."""
        oracle = await asyncio.to_thread(test_driver.status)
        assert oracle["TIMELEFT"] == "1200.0 Minutes"
        assert oracle["NOMPOWER"] == "0 Watts"
        reading = await read_one(test_driver.server)
        assert isinstance(reading, Reading)
        for measure in (
            Measure.BATTERY_RUNTIME,
            Measure.NOMINAL_POWER,
            Measure.NOMINAL_APPARENT_POWER,
        ):
            assert measure not in reading.measures
        assert reading.raw["TIMELEFT"] == 1200.0  # kept raw, as apcupsd_exporter shows it

    async def test_one_connection_for_many_polls(self, test_driver: Apcupsd) -> None:
        """Status and events ride one kept-alive connection, poll after poll."""
        async with ApcupsdSource(apcupsd_config(server=test_driver.server)) as source:
            for _ in range(5):
                (event,) = await source.read()
                assert isinstance(event, Reading)
                log = await asyncio.to_thread(nis_query, test_driver.port, b"events")
                assert event.text["LASTEVENT"] == log[-1].strip()
            assert source.client.connects == 1

    async def test_exposition(self, test_driver: Apcupsd) -> None:
        """/metrics: power_* and apcupsd_exporter's names with ``ups``; promtool finds nothing."""
        cfg = apcupsd_config(name="rack", server=test_driver.server, interval="1s")
        async with serving([cfg]) as served:
            await until(lambda: _up(served, "rack"), timeout=10)
            body = (await served.get("/metrics")).body
        check_metrics(body)
        assert value(body, "power_device_up", device="rack") == 1.0
        assert value(body, "power_input_voltage_volts", device="rack") == 229.5
        assert value(body, "power_status", device="rack", flag="online") == 1.0
        assert value(body, "power_status", device="rack", flag="on_battery") == 0.0
        assert value(body, "power_battery_runtime_seconds", device="rack") is None
        ups = {"device": "rack", "ups": "testups"}
        assert value(body, "apcupsd_battery_time_left_seconds", **ups) == 72000.0
        assert value(body, "apcupsd_ups_load_percent", **ups) == 40.5
        assert value(body, "apcupsd_battery_number_transfers_total", **ups) == 0.0
        assert value(body, "apcupsd_status_value", key="HUMIDITY", **ups) == 50.1
        info = {"hostname": _hostname(body), "model": "Test Driver", "status": "ONLINE NOBATT"}
        assert value(body, "apcupsd_info", device="rack", ups="testups", **info) == 1.0


def _up(served: Served, device: str) -> bool:
    state = served.store.get(device)
    return state is not None and state.up


def _hostname(body: bytes) -> str:
    for line in body.decode().splitlines():
        if line.startswith("apcupsd_info{"):
            return line.split('hostname="', 1)[1].split('"', 1)[0]
    return ""


class TestPcnet:
    """``UPSTYPE pcnet``: PowerChute datagrams drive on-line, on-battery and back."""

    async def test_on_battery_and_back(self, apcupsd: Callable[..., Apcupsd]) -> None:
        """The flag, the transfer counter and the time on battery follow within one interval."""
        daemon = apcupsd("pcnet", upsname="pcnet")
        values = {"x4C": "231.0", "x66": "100.0", "x6A": "0042:", "x50": "20.0"}
        daemon.send_pcnet(0x08, x01="Smart-UPS 1500", **values)
        await asyncio.to_thread(daemon.wait_status, "STATUS", "ONLINE")
        cfg = apcupsd_config(name="pc", server=daemon.server, interval=f"{INTERVAL}s")
        ups = {"device": "pc", "ups": "pcnet"}
        async with serving([cfg]) as served:
            await until(lambda: _up(served, "pc"), timeout=10)
            body = (await served.get("/metrics")).body
            assert value(body, "power_battery_runtime_seconds", device="pc") == 42 * 60.0
            assert value(body, "power_status", device="pc", flag="online") == 1.0
            assert value(body, "apcupsd_battery_number_transfers_total", **ups) == 0.0

            daemon.send_pcnet(0x10, **{**values, "x4C": "0.0", "x66": "97.0"})
            await asyncio.to_thread(daemon.wait_status, "STATUS", "ONBATT")
            await self._until_metric(served, "power_status", 1.0, device="pc", flag="on_battery")
            body = (await served.get("/metrics")).body
            assert value(body, "power_status", device="pc", flag="online") == 0.0
            assert value(body, "apcupsd_battery_number_transfers_total", **ups) == 1.0
            assert value(body, "apcupsd_last_transfer_on_battery_time_seconds", **ups)
            await asyncio.to_thread(daemon.wait_status, "TONBATT", "2 ")
            await self._until_metric(
                served, "apcupsd_battery_time_on_seconds", 2.0, at_least=True, **ups
            )

            daemon.send_pcnet(0x08, **values)
            await asyncio.to_thread(daemon.wait_status, "STATUS", "ONLINE")
            await self._until_metric(served, "power_status", 1.0, device="pc", flag="online")
            body = (await served.get("/metrics")).body
            assert value(body, "power_status", device="pc", flag="on_battery") == 0.0
            assert value(body, "apcupsd_battery_time_on_seconds", **ups) == 0.0
            cumulative = value(body, "apcupsd_battery_cumulative_time_on_seconds_total", **ups)
            assert cumulative is not None
            assert cumulative >= 2.0
            assert value(body, "apcupsd_battery_number_transfers_total", **ups) == 1.0
        check_metrics(body)

    async def _until_metric(
        self, served: Served, name: str, wanted: float, *, at_least: bool = False, **labels: str
    ) -> None:
        """Scrape until a sample has the wanted value: within one interval plus MARGIN."""
        deadline = asyncio.get_running_loop().time() + INTERVAL + MARGIN
        found = None
        while asyncio.get_running_loop().time() < deadline:
            found = value((await served.get("/metrics")).body, name, **labels)
            if found is not None and (found >= wanted if at_least else found == wanted):
                return
            await asyncio.sleep(0.05)
        pytest.fail(f"{name}{labels} is {found}, not {wanted} within {INTERVAL + MARGIN:g} s")


class TestCommlost:
    """A second apcupsd reading the first (UPSTYPE net) loses it when the first stops."""

    async def test_commlost_is_down_then_back(self, apcupsd: Callable[..., Apcupsd]) -> None:
        """COMMLOST: power_device_up 0, reason stale; the master back: up again."""
        master = apcupsd("test", upsname="master")
        slave = apcupsd("net", upsname="slave", device=master.server)
        await asyncio.to_thread(slave.wait_status, "STATUS", "ONLINE")
        cfg = apcupsd_config(name="far", server=slave.server, interval=f"{INTERVAL}s")
        async with serving([cfg]) as served:
            await until(lambda: _up(served, "far"), timeout=10)
            master.stop()
            await asyncio.to_thread(slave.wait_status, "STATUS", "COMMLOST")
            await until(lambda: not _up(served, "far"), timeout=INTERVAL + MARGIN)
            body = (await served.get("/metrics")).body
            assert value(body, "power_device_up", device="far") == 0.0
            errors = value(body, "power_exporter_read_errors_total", device="far", reason="stale")
            assert errors is not None
            assert errors >= 1
            master.start()
            await asyncio.to_thread(slave.wait_status, "STATUS", "ONLINE")
            await until(lambda: _up(served, "far"), timeout=INTERVAL + MARGIN)

    async def test_commlost_read_is_a_stale_fault(self, apcupsd: Callable[..., Apcupsd]) -> None:
        """One read of a daemon in COMMLOST is a DeviceFault of that device, not an exception."""
        master = apcupsd("test", upsname="master")
        slave = apcupsd("net", upsname="slave", device=master.server)
        await asyncio.to_thread(slave.wait_status, "STATUS", "ONLINE")
        master.stop()
        await asyncio.to_thread(slave.wait_status, "STATUS", "COMMLOST")
        event = await read_one(slave.server, name="far")
        assert isinstance(event, DeviceFault)
        assert event.device == "far"
        assert isinstance(event.error, StaleError)


class TestTwoOfEverything:
    """Two apcupsd entries, and one that cannot be reached: a fault stays with its device."""

    async def test_faults_stay_with_their_device(self, apcupsd: Callable[..., Apcupsd]) -> None:
        """Two daemons and a closed port; one daemon stops: only its device goes down."""
        one = apcupsd("test", upsname="one")
        two = apcupsd("test", upsname="two")
        closed = f"127.0.0.1:{free_port()}"
        devices = [
            apcupsd_config(name=name, server=server, interval=f"{INTERVAL}s", timeout="1s")
            for name, server in (("a", one.server), ("b", two.server), ("c", closed))
        ]
        async with serving(devices) as served:
            await until(lambda: _up(served, "a") and _up(served, "b"), timeout=10)
            body = (await served.get("/metrics")).body
            assert value(body, "power_device_up", device="c") == 0.0
            assert value(body, "power_exporter_read_errors_total", device="c", reason="connect")
            assert value(body, "apcupsd_ups_load_percent", device="a", ups="one") == 40.5
            assert value(body, "apcupsd_ups_load_percent", device="b", ups="two") == 40.5
            one.stop()
            await until(lambda: not _up(served, "a"), timeout=INTERVAL * 2 + 1 + MARGIN)
            assert _up(served, "b")
            body = (await served.get("/metrics")).body
            assert value(body, "power_device_up", device="b") == 1.0
            assert value(body, "power_input_voltage_volts", device="b") == 229.5
            one.start()
            await until(lambda: _up(served, "a"), timeout=10)
            assert not _up(served, "c")

    async def test_restart_reconnects(self, apcupsd: Callable[..., Apcupsd]) -> None:
        """While apcupsd is gone a read is a ConnectError; once back, the same source reads."""
        daemon = apcupsd("test")
        async with ApcupsdSource(apcupsd_config(server=daemon.server)) as source:
            assert isinstance((await source.read())[0], Reading)
            daemon.stop()
            with pytest.raises(ConnectError):
                await source.read()
            daemon.start()
            assert isinstance((await source.read())[0], Reading)


class TestCommandLine:
    """``read apcupsd://host:port`` and ``discover host:port`` as real processes."""

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run power-exporter with arguments."""
        return subprocess.run(
            [sys.executable, "-m", "power_exporter", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def test_read(self, test_driver: Apcupsd) -> None:
        """``read apcupsd://127.0.0.1:PORT`` prints the reading as JSON."""
        result = self.run("read", f"apcupsd://{test_driver.server}")
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert (doc["device"], doc["source"]) == ("127.0.0.1", "apcupsd")
        assert doc["measures"]["power_input_voltage_volts"] == 229.5
        assert doc["status"]["online"] is True
        assert doc["raw"]["LOADPCT"] == 40.5

    def test_discover(self, test_driver: Apcupsd) -> None:
        """``discover host:port`` prints a snippet the loader accepts, named after UPSNAME."""
        result = self.run("discover", test_driver.server)
        assert result.returncode == 0, result.stderr
        devices = yaml.safe_load(result.stdout)["devices"]
        found = [d for d in devices if d["source"] == "apcupsd"]
        assert found == [{"name": "testups", "source": "apcupsd", "server": test_driver.server}]
        assert validate({"devices": found}).devices[0].source == "apcupsd"
