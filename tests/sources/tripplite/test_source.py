"""The tripplite source over the replay transport: naming, faults, reopening, concurrency."""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
from typing import TYPE_CHECKING

import pytest

from power_exporter.config import validate
from power_exporter.errors import ConfigError, ConnectError, DecodeError
from power_exporter.model import DeviceFault, Flag, Measure, Reading, Roster
from power_exporter.sources.tripplite import KIND, TrippliteConfig, TrippliteSource
from power_exporter.sources.tripplite.table import KNOWN_FLAGS
from tests.sources.tripplite.replay import ReplayTransport, ReplayUps, info, with_reports

if TYPE_CHECKING:
    from collections.abc import Sequence

    from power_exporter.model import Event

HOST = "host.example"


def config(**keys: object) -> TrippliteConfig:
    """A validated tripplite entry named ``ups``, through the core's loader."""
    cfg = validate({"devices": [{"name": "ups", "source": "tripplite", **keys}]}).devices[0]
    assert isinstance(cfg, TrippliteConfig)
    return cfg


def source(transport: ReplayTransport, **keys: object) -> TrippliteSource:
    """A source on the replay transport."""
    return TrippliteSource(config(**keys), transport, hostname=HOST)


async def poll(src: TrippliteSource) -> list[Event]:
    """One read's events for devices (without the roster a fan-out entry sends)."""
    return [e for e in await src.read() if not isinstance(e, Roster)]


def readings(events: Sequence[Event]) -> dict[str, Reading]:
    """The readings of a poll, by device."""
    return {e.device: e for e in events if isinstance(e, Reading)}


def faults(events: Sequence[Event]) -> dict[str, DeviceFault]:
    """The faults of a poll, by device."""
    return {e.device: e for e in events if isinstance(e, DeviceFault)}


class TestConfig:
    """The keys of a tripplite entry."""

    def test_defaults(self) -> None:
        """The path defaults to auto, every UPS found being a device of its own."""
        cfg = config()
        assert cfg.path == "auto"
        assert cfg.serial is None
        assert cfg.fan_out

    def test_unknown_key(self) -> None:
        """Extra keys are refused, naming the field."""
        with pytest.raises(ConfigError, match=r"devices\[0\]\.port: unknown key"):
            config(port=3493)

    def test_serial_needs_auto(self) -> None:
        """A serial picks among the UPSes found, so it cannot go with an explicit path."""
        with pytest.raises(ConfigError, match=r"devices\[0\]\.serial: .*serial picks a UPS"):
            config(path="/dev/hidraw0", serial="X")

    def test_kind_opens_only_its_config(self) -> None:
        """The registry's factory makes a source of a tripplite config and refuses others."""
        assert isinstance(KIND.open(config()), TrippliteSource)
        with pytest.raises(TypeError):
            KIND.open(TrippliteConfig.__base__(name="x", source="other"))  # type: ignore[misc]


class TestReading:
    """What a good poll gives."""

    async def test_example_reading(self) -> None:
        """One UPS with a serial: device <name>/<serial>, with measures, flags, raw and text."""
        async with source(ReplayTransport(ReplayUps(info()))) as src:
            events = await poll(src)
        (reading,) = events
        assert isinstance(reading, Reading)
        assert reading.device == "ups/2E12345678"
        identity = reading.identity
        assert (identity.source, identity.vendor, identity.model, identity.serial) == (
            "tripplite",
            "Tripp Lite",
            "TRIPP LITE SMART1500LCD",
            "2E12345678",
        )
        assert dict(identity.labels) == {"hostname": HOST}
        assert reading.measures == {
            Measure.INPUT_VOLTAGE: 117.2,
            Measure.INPUT_FREQUENCY: 59.7,
            Measure.OUTPUT_VOLTAGE: 117.2,
            Measure.OUTPUT_POWER: 324.0,
            Measure.NOMINAL_APPARENT_POWER: 1500.0,
            Measure.BATTERY_CHARGE: 1.0,
            Measure.BATTERY_RUNTIME: 1004.0,
        }
        assert reading.flags == {Flag.ONLINE, Flag.LOW_BATTERY, Flag.FULLY_CHARGED}
        assert reading.known_flags == KNOWN_FLAGS
        assert len(reading.raw) == 18  # the seed's 17 and missing reports
        assert reading.raw["missing reports"] == 0
        assert reading.raw["input.frequency"] == 59.7
        assert dict(reading.text) == {"device_id": "/dev/hidraw0"}

    async def test_hostname_is_the_fqdn(self) -> None:
        """Without an explicit hostname the label is socket.getfqdn(), as the seed's."""
        transport = ReplayTransport(ReplayUps(info()))
        async with TrippliteSource(config(), transport) as src:
            (reading,) = await poll(src)
        assert isinstance(reading, Reading)
        assert reading.identity.labels["hostname"] == socket.getfqdn()

    async def test_reads_run_in_worker_threads(self) -> None:
        """The blocking hidapi calls never run on the event loop's thread."""
        ups = ReplayUps(info())
        async with source(ReplayTransport(ups)) as src:
            await src.read()
        assert ups.threads
        assert threading.get_ident() not in ups.threads

    async def test_close_on_exit(self) -> None:
        """Leaving the source closes every device it opened."""
        ups = ReplayUps(info())
        async with source(ReplayTransport(ups)) as src:
            await src.read()
            await src.read()
            assert (ups.opens, ups.closes) == (1, 0)
        assert ups.closes == 1

    async def test_invalid_value_dropped_and_logged_once(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A health of 255 % is no ratio: the measure goes, the raw value stays, one warning."""
        ups = ReplayUps(info(), with_reports({52: bytes([52, 255])}))
        caplog.set_level(logging.INFO)
        async with source(ReplayTransport(ups)) as src:
            first = readings(await src.read())["ups/2E12345678"]
            await src.read()
            assert src.dropped_values["ups/2E12345678"] == 2
            ups.reports[52] = bytes([52, 97])
            again = readings(await src.read())["ups/2E12345678"]
        assert Measure.BATTERY_CHARGE not in first.measures
        assert first.raw["health"] == 255.0
        assert again.measures[Measure.BATTERY_CHARGE] == 0.97
        warnings = [r for r in caplog.records if "dropping invalid values" in r.message]
        assert len(warnings) == 1
        assert "battery_charge sentinel: 2.55" in warnings[0].message
        assert any("valid again: battery_charge" in r.message for r in caplog.records)


class TestNaming:
    """Device names: by serial, by node, or exactly the configured name."""

    async def test_without_serial_by_node(self) -> None:
        """A UPS with no serial is named by its node."""
        transport = ReplayTransport(ReplayUps(info("/dev/hidraw3", serial="")))
        async with source(transport) as src:
            assert set(readings(await src.read())) == {"ups/hidraw3"}

    async def test_same_serial_twice_by_node(self) -> None:
        """Two UPSes reporting one serial are told apart by node."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="000000")),
            ReplayUps(info("/dev/hidraw1", serial="000000")),
        )
        async with source(transport) as src:
            assert set(readings(await src.read())) == {"ups/hidraw0", "ups/hidraw1"}

    async def test_listed_twice_read_once(self) -> None:
        """A device enumeration lists twice (two collections) is one UPS."""
        ups = ReplayUps(info())
        transport = ReplayTransport(ups)
        transport.listing = [ups.info, ups.info]
        async with source(transport) as src:
            assert list(readings(await src.read())) == ["ups/2E12345678"]
        assert ups.opens == 1

    async def test_serial_picks_one_named_exactly(self) -> None:
        """path: auto with serial: that UPS only, named exactly the configured name."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="AAA")),
            ReplayUps(info("/dev/hidraw1", serial="BBB")),
        )
        async with source(transport, serial="BBB") as src:
            (reading,) = await poll(src)
        assert isinstance(reading, Reading)
        assert reading.device == "ups"
        assert reading.text["device_id"] == "/dev/hidraw1"

    async def test_serial_absent(self) -> None:
        """The UPS of that serial missing is a fault of the configured device."""
        transport = ReplayTransport(ReplayUps(info(serial="AAA")))
        async with source(transport, serial="BBB") as src:
            (fault,) = await poll(src)
        assert isinstance(fault, DeviceFault)
        assert fault.device == "ups"
        assert isinstance(fault.error, ConnectError)
        assert "serial BBB: not on the USB bus" in str(fault.error)

    async def test_explicit_path_named_exactly(self) -> None:
        """An explicit path is one device, named exactly the configured name."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="AAA")),
            ReplayUps(info("/dev/hidraw1", serial="BBB")),
        )
        async with source(transport, path="/dev/hidraw1") as src:
            (reading,) = await poll(src)
        assert isinstance(reading, Reading)
        assert (reading.device, reading.identity.serial) == ("ups", "BBB")

    async def test_explicit_path_not_listed(self, caplog: pytest.LogCaptureFixture) -> None:
        """A path enumeration does not list as a TrippLite is read anyway, with one warning."""
        ups = ReplayUps(info("/dev/hidraw7"))
        transport = ReplayTransport(ups)
        transport.listing = []
        async with source(transport, path="/dev/hidraw7") as src:
            first = await poll(src)
            await src.read()
        assert isinstance(first[0], Reading)
        assert first[0].identity.vendor == ""
        assert first[0].identity.labels["hostname"] == HOST
        warned = [r for r in caplog.records if "not listed as a TrippLite" in r.message]
        assert len(warned) == 1


class TestFaults:
    """Failures, and coming back from them without a restart."""

    async def test_nothing_found(self) -> None:
        """No TrippLite at all, none seen before: the whole source fails."""
        async with source(ReplayTransport()) as src:
            with pytest.raises(ConnectError, match="no TrippLite UPS found"):
                await src.read()

    async def test_enumeration_fails(self) -> None:
        """Listing failing fails path: auto, but an explicit path is opened anyway."""
        transport = ReplayTransport(ReplayUps(info()))
        transport.enumerate_error = OSError("udev unavailable")
        async with source(transport) as src:
            with pytest.raises(ConnectError, match="cannot list USB HID devices: udev unavailable"):
                await src.read()
        async with source(transport, path="/dev/hidraw0") as src:
            (reading,) = await poll(src)
        assert isinstance(reading, Reading)
        assert reading.device == "ups"

    async def test_disconnect_mid_read_then_reopen(self) -> None:
        """An OSError in the middle of a read closes the device; the next poll reopens it."""
        ups = ReplayUps(info())
        ups.script[24].append(OSError("read error"))
        async with source(ReplayTransport(ups)) as src:
            (fault,) = await poll(src)
            assert isinstance(fault, DeviceFault)
            assert isinstance(fault.error, ConnectError)
            assert "/dev/hidraw0: read error" in str(fault.error)
            assert (ups.opens, ups.closes) == (1, 1)
            assert ups.calls[-1] == (24, 3)
            (reading,) = await poll(src)
            assert isinstance(reading, Reading)
            assert reading.device == "ups/2E12345678"
            assert (ups.opens, ups.closes) == (2, 1)

    async def test_empty_replies_exhausted_reopen(self) -> None:
        """No data after the retries closes and reopens, as the seed's OSError did."""
        ups = ReplayUps(info())
        ups.script[71].extend([b""] * 4)
        async with source(ReplayTransport(ups)) as src:
            (fault,) = await poll(src)
            assert isinstance(fault, DeviceFault)
            assert "report 71 (output.power): no data in 4 replies" in str(fault.error)
            assert ups.closes == 1
            assert isinstance((await poll(src))[0], Reading)

    async def test_decode_error_keeps_device_open(self) -> None:
        """Replies that decode to nothing are a DecodeError; the device stays open."""
        ups = ReplayUps(info())
        for report_id in ups.reports:
            ups.script[report_id].append(bytes.fromhex("06 62"))
        async with source(ReplayTransport(ups)) as src:
            (fault,) = await poll(src)
            assert isinstance(fault, DeviceFault)
            assert isinstance(fault.error, DecodeError)
            assert "no report decoded; first: report 48 (config.voltage)" in str(fault.error)
            assert ups.closes == 0
            assert isinstance((await poll(src))[0], Reading)
        assert ups.opens == 1

    async def test_unplug_and_plug_back_elsewhere(self) -> None:
        """Unplugged: a ConnectError fault; back at another node: the same device reads again."""
        ups = ReplayUps(info("/dev/hidraw0"))
        transport = ReplayTransport(ups)
        async with source(transport) as src:
            assert isinstance((await poll(src))[0], Reading)
            transport.unplug("/dev/hidraw0")
            (fault,) = await poll(src)
            assert isinstance(fault, DeviceFault)
            assert fault.device == "ups/2E12345678"
            assert isinstance(fault.error, ConnectError)
            assert "not on the USB bus" in str(fault.error)
            assert ups.closes == 1
            (still,) = await poll(src)
            assert isinstance(still, DeviceFault)
            transport.plug("/dev/hidraw0", at="/dev/hidraw4")
            (back,) = await poll(src)
        assert isinstance(back, Reading)
        assert back.device == "ups/2E12345678"
        assert back.text["device_id"] == "/dev/hidraw4"
        assert ups.opens == 2

    async def test_unplug_during_read(self) -> None:
        """Pulled in the middle of a read: a fault now, then 'not on the bus' until it is back."""
        ups = ReplayUps(info())
        transport = ReplayTransport(ups)
        ups.script[27].append(lambda: transport.unplug("/dev/hidraw0").reports[27])
        async with source(transport) as src:
            (fault,) = await poll(src)
            assert isinstance(fault, DeviceFault)
            assert "read error" in str(fault.error)
            (gone,) = await poll(src)
            assert isinstance(gone, DeviceFault)
            assert "not on the USB bus" in str(gone.error)
            transport.plug("/dev/hidraw0")
            assert isinstance((await poll(src))[0], Reading)

    async def test_explicit_path_unplugged_and_back(self) -> None:
        """An explicit path that vanished fails to open; when it is back it reads again."""
        ups = ReplayUps(info("/dev/hidraw0"))
        transport = ReplayTransport(ups)
        async with source(transport, path="/dev/hidraw0") as src:
            assert isinstance((await poll(src))[0], Reading)
            transport.unplug("/dev/hidraw0")
            (fault,) = await poll(src)
            assert isinstance(fault, DeviceFault)
            assert fault.device == "ups"
            assert isinstance(fault.error, ConnectError)
            (fault,) = await poll(src)
            assert isinstance(fault, DeviceFault)
            assert "cannot open /dev/hidraw0: open failed" in str(fault.error)
            transport.plug("/dev/hidraw0")
            assert isinstance((await poll(src))[0], Reading)


class TestTwoUpses:
    """Several UPSes on one host."""

    async def test_both_read_at_once(self) -> None:
        """Two UPSes are read concurrently: each waits for the other at its first report."""
        barrier = threading.Barrier(2, timeout=5)

        def meet(reply: bytes) -> bytes:
            barrier.wait()  # both reads must be under way, or this times out
            return reply

        a = ReplayUps(info("/dev/hidraw0", serial="AAA"))
        b = ReplayUps(info("/dev/hidraw1", serial="BBB"))
        for ups in (a, b):
            ups.script[48].append(functools.partial(meet, ups.reports[48]))
        async with source(ReplayTransport(a, b)) as src:
            events = await src.read()
        assert set(readings(events)) == {"ups/AAA", "ups/BBB"}
        assert a.threads.isdisjoint(b.threads)

    async def test_one_failing_leaves_the_other(self) -> None:
        """One UPS's fault is its own: the other still reads."""
        a = ReplayUps(info("/dev/hidraw0", serial="AAA"))
        b = ReplayUps(info("/dev/hidraw1", serial="BBB"))
        b.script[53].append(OSError("read error"))
        async with source(ReplayTransport(a, b)) as src:
            events = await src.read()
        assert set(readings(events)) == {"ups/AAA"}
        assert set(faults(events)) == {"ups/BBB"}

    async def test_one_device_never_read_twice_at_once(self) -> None:
        """Overlapping polls, even one abandoned by a timeout, never overlap on a device."""
        ups = ReplayUps(info(), delay=0.005)
        async with source(ReplayTransport(ups)) as src:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.01):
                    await src.read()
            results = await asyncio.gather(poll(src), poll(src))
        assert all(isinstance(event, Reading) for events in results for event in events)
        assert ups.overlaps == 0


class TestOtherProtocol:
    """Product 09ae:3016, which may speak another protocol."""

    async def test_3016_warned_once_and_named_in_failures(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """09ae:3016: one warning, a read anyway, and failures say what failed and why."""
        ups = ReplayUps(info(product_id=0x3016, product="OMNI1500LCDT"))
        ups.reports = dict.fromkeys(ups.reports, bytes.fromhex("06 78"))
        async with source(ReplayTransport(ups)) as src:
            events = [await poll(src) for _ in range(3)]
        warned = [r for r in caplog.records if "3016" in r.message and r.levelname == "WARNING"]
        assert len(warned) == 1
        assert "may speak another protocol" in warned[0].message
        assert "trying anyway" in warned[0].message
        (fault,) = events[-1]
        assert isinstance(fault, DeviceFault)
        assert isinstance(fault.error, DecodeError)
        message = str(fault.error)
        assert "report 48 (config.voltage): unexpected reply for report 6: 06 78" in message
        assert "09ae:3016 may speak another protocol" in message
        assert ups.calls[0] == (48, 2)

    async def test_3016_that_answers_is_read(self) -> None:
        """A 3016 that does speak protocol 2012 reads like any other."""
        ups = ReplayUps(info(product_id=0x3016))
        async with source(ReplayTransport(ups)) as src:
            (reading,) = await poll(src)
        assert isinstance(reading, Reading)
        assert reading.measures[Measure.OUTPUT_POWER] == 324.0
