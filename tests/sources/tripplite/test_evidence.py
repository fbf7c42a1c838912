"""Issue 23: report meanings, on-battery, identity, product ids and partial polls, replayed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from power_exporter.errors import ConnectError
from power_exporter.model import DeviceFault, Flag, Measure, Roster
from power_exporter.sources.tripplite import TrippliteSource, api
from power_exporter.sources.tripplite.products import usable_serial
from power_exporter.sources.tripplite.reports import (
    measures_of,
    raw_values,
    read_partial,
    read_state,
)
from power_exporter.sources.tripplite.status import flags_of
from power_exporter.sources.tripplite.transport import device_info, usb_port
from tests.sources.tripplite.replay import (
    FIXTURES,
    ReplayHandle,
    ReplayTransport,
    ReplayUps,
    info,
    load_hex,
    with_reports,
)
from tests.sources.tripplite.test_source import config, faults, readings

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from power_exporter.model import Event

DDL_3016 = FIXTURES.parent / "nut-ddl" / "Tripp_Lite__SMART1500LCDT__usbhid-ups__2.6.3__01.dev"


def eco850lcd() -> dict[int, bytes]:
    """The ECO850LCD's replies on AC (numat/tripplite#10), by report id."""
    return {reply[0]: reply for reply in load_hex("eco850lcd-on-ac.hex")}


def ddl_value(key: str) -> str:
    """One value of NUT's real 09ae:3016 dump."""
    for line in DDL_3016.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    raise KeyError(key)


def decoded(reports: dict[int, bytes]) -> dict[str, float]:
    """The raw values of one strict read of these replies."""
    return raw_values(read_state(ReplayHandle(ReplayUps(info(), reports)), "/dev/hidraw0"))


def source(
    transport: ReplayTransport, clock: Callable[[], float] | None = None, **keys: object
) -> TrippliteSource:
    """A source named ``ups`` on the replay transport (on ``clock``, if given)."""
    if clock is None:
        return TrippliteSource(config(**keys), transport, hostname="h")
    return TrippliteSource(config(**keys), transport, hostname="h", clock=clock)


def roster(events: Sequence[Event]) -> frozenset[str]:
    """The devices the poll's roster names."""
    (sent,) = [e for e in events if isinstance(e, Roster)]
    return sent.devices


class TestReport52IsTheCharge:
    """Report 52 (0x34) is HID RemainingCapacity: the charge, not the health."""

    def test_nut_1747_reply(self) -> None:
        """The real SMART1500RM2UN reply ``34 64 ...`` is a charge of 100 %."""
        (reply,) = load_hex("nut-1747-report52.hex")
        raw = decoded(with_reports({52: reply}))
        measures, problems = measures_of(raw)
        assert problems == []
        assert raw["health"] == 100.0  # the seed's name and value stay
        assert measures[Measure.BATTERY_CHARGE] == 1.0
        assert Measure.BATTERY_HEALTH not in measures

    def test_eco850lcd_on_ac(self) -> None:
        """The ECO850LCD's 90 on AC is a charge of 0.9, next to 3049 s of runtime."""
        measures, _ = measures_of(decoded(eco850lcd()))
        assert measures[Measure.BATTERY_CHARGE] == 0.9
        assert measures[Measure.BATTERY_RUNTIME] == 3049.0
        assert Measure.BATTERY_HEALTH not in measures


class TestOnBattery:
    """On battery only when the status byte and the input voltage agree."""

    def test_eco850lcd_zero_status_on_mains(self) -> None:
        """All-zero status with 121.8 V in: online, not on battery (numat/tripplite#10)."""
        raw = decoded(eco850lcd())
        assert raw["status.ac present"] == 0.0
        assert flags_of(raw) == {Flag.ONLINE}

    def test_eco850lcd_zero_status_without_mains(self) -> None:
        """The same byte with no input voltage is on battery."""
        raw = decoded({**eco850lcd(), 24: bytes.fromhex("18 00 00")})
        assert flags_of(raw) == {Flag.ON_BATTERY}

    def test_ac_clear_and_discharging(self) -> None:
        """AC present clear and discharging set is on battery, even with no usable nominal."""
        raw = decoded({**eco850lcd(), 50: bytes([50, 0b1000]), 48: bytes([48, 4])})
        assert flags_of(raw) == {Flag.ON_BATTERY, Flag.DISCHARGING}

    def test_ac_bit_against_no_voltage(self) -> None:
        """AC present set but the input below the transfer point: on battery, not online."""
        raw = decoded({**eco850lcd(), 50: bytes([50, 0b10]), 24: bytes.fromhex("18 20 03")})
        assert raw["input.voltage"] == 80.0
        assert flags_of(raw) == {Flag.ON_BATTERY}

    def test_bogus_nominal_and_zero_status(self) -> None:
        """With config.voltage 4 (an OMNIVS1500LCD's) and a zero byte, nothing is claimed."""
        raw = decoded({**eco850lcd(), 48: bytes([48, 4])})
        assert flags_of(raw) == set()

    def test_shutdown_imminent_is_low_battery(self) -> None:
        """Shutdown imminent also sets low battery, as NUT raises LB on it."""
        raw = decoded({**eco850lcd(), 50: bytes([50, 0b1001]), 24: bytes.fromhex("18 00 00")})
        assert flags_of(raw) == {
            Flag.SHUTDOWN_IMMINENT,
            Flag.LOW_BATTERY,
            Flag.DISCHARGING,
            Flag.ON_BATTERY,
        }


class TestUsbPort:
    """The USB port path from sysfs, as the kernel lays it out."""

    def sysfs(self, tmp_path: Path) -> Path:
        """hidraw0 of a UPS on bus 1, port 2 (device number 5)."""
        interface = tmp_path / "devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0"
        hid = interface / "0003:09AE:2012.0005"
        hid.mkdir(parents=True)
        node = tmp_path / "class/hidraw/hidraw0"
        node.mkdir(parents=True)
        (node / "device").symlink_to(hid)
        usb = tmp_path / "bus/usb/devices"
        usb.mkdir(parents=True)
        (usb / "1-2").symlink_to(interface.parent)
        (interface.parent / "busnum").write_text("1\n")
        (interface.parent / "devnum").write_text("5\n")
        (usb / "usb1").symlink_to(interface.parent.parent)
        return tmp_path

    def test_hidraw_node(self, tmp_path: Path) -> None:
        """A hidraw node's port is the last USB device above its interface."""
        assert usb_port("/dev/hidraw0", self.sysfs(tmp_path)) == "1-2"

    def test_libusb_path(self, tmp_path: Path) -> None:
        """The libusb backend's path (bus 1, address 5, interface 0) finds the same port."""
        assert usb_port("0001:0005:00", self.sysfs(tmp_path)) == "1-2"

    def test_unknown(self, tmp_path: Path) -> None:
        """A node sysfs does not know has no port."""
        assert usb_port("/dev/hidraw9", self.sysfs(tmp_path)) == ""

    def test_enumeration_entry(self, tmp_path: Path) -> None:
        """An entry of hidapi's enumeration carries it."""
        entry = {"path": b"/dev/hidraw0", "vendor_id": 0x09AE, "product_id": 0x2012}
        assert device_info(entry, self.sysfs(tmp_path)).usb_port == "1-2"


class TestIdentity:
    """Units without a serial of their own, named by their USB port."""

    def test_placeholder_serials(self) -> None:
        """The 3016 dump's serial, blanks and fills name no unit; real serials do."""
        assert ddl_value("ups.serial") == "CCSYWWZZZZ"
        for placeholder in ("CCSYWWZZZZ", "", "   ", "0000000000", "FFFFFFFF"):
            assert usable_serial(placeholder) == ""
        assert usable_serial("2E12345678") == "2E12345678"
        assert usable_serial("AAA") == "AAA"

    async def test_usb_reset_renumbers_a_serialless_unit(self) -> None:
        """A reset moves it from hidraw0 to hidraw3 on the same port: same device, no ghost."""
        ups = ReplayUps(info("/dev/hidraw0", serial="", usb_port="1-2"))
        transport = ReplayTransport(ups)
        async with source(transport) as src:
            first = await src.read()
            transport.unplug("/dev/hidraw0")
            transport.plug("/dev/hidraw0", at="/dev/hidraw3")
            again = await src.read()
        assert set(readings(first)) == set(readings(again)) == {"ups/usb-1-2"}
        assert faults(again) == {}
        assert roster(again) == {"ups/usb-1-2"}
        assert readings(again)["ups/usb-1-2"].text["device_id"] == "/dev/hidraw3"

    async def test_two_placeholder_serials(self) -> None:
        """Two units reporting CCSYWWZZZZ: the second plugged in renames nothing."""
        first = ReplayUps(info("/dev/hidraw0", serial="CCSYWWZZZZ", usb_port="1-1"))
        second = ReplayUps(info("/dev/hidraw1", serial="CCSYWWZZZZ", usb_port="1-2"))
        transport = ReplayTransport(first)
        async with source(transport) as src:
            alone = await src.read()
            transport.devices[second.info.path] = second
            both = await src.read()
        assert set(readings(alone)) == {"ups/usb-1-1"}
        assert set(readings(both)) == {"ups/usb-1-1", "ups/usb-1-2"}
        assert readings(both)["ups/usb-1-1"].identity.serial == ""

    async def test_two_units_one_failing(self) -> None:
        """Two serial-less units: one unplugged is down, the other reads on."""
        a = ReplayUps(info("/dev/hidraw0", serial="", usb_port="1-1"))
        b = ReplayUps(info("/dev/hidraw1", serial="", usb_port="1-2"))
        transport = ReplayTransport(a, b)
        async with source(transport) as src:
            await src.read()
            transport.unplug("/dev/hidraw1")
            events = await src.read()
        assert set(readings(events)) == {"ups/usb-1-1"}
        assert set(faults(events)) == {"ups/usb-1-2"}
        assert roster(events) == {"ups/usb-1-1"}

    async def test_vanished_unit_forgotten_after_retire_after(self) -> None:
        """Off the bus: down while within retire_after, then no longer spoken of."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="A1")), ReplayUps(info("/dev/hidraw1"))
        )
        now = [1000.0]
        async with source(transport, lambda: now[0], retire_after="1m") as src:
            await src.read()
            transport.unplug("/dev/hidraw0")
            down = await src.read()
            now[0] += 60.0
            still = await src.read()
            now[0] += 1.0
            later = await src.read()
        assert set(faults(down)) == set(faults(still)) == {"ups/A1"}
        assert roster(down) == roster(later) == {"ups/2E12345678"}
        assert faults(later) == {}


class TestProducts:
    """NUT's special cases by product id."""

    @pytest.mark.parametrize("product_id", [0x3016, 0x3024])
    async def test_frequency_in_hundredths(self, product_id: int) -> None:
        """5990 (the 3016 dump's input.frequency) is 59.90 Hz; the seed's raw value stays."""
        hundredths = int(float(ddl_value("input.frequency")))
        reply = bytes([25]) + hundredths.to_bytes(2, "little")
        assert reply == bytes.fromhex("19 66 17")
        ups = ReplayUps(info(product_id=product_id), with_reports({25: reply}))
        async with source(ReplayTransport(ups)) as src:
            (reading,) = readings(await src.read()).values()
        assert reading.measures[Measure.INPUT_FREQUENCY] == pytest.approx(59.9)
        assert reading.raw["input.frequency"] == 599.0

    async def test_serial_over_usb_refused_once(self, caplog: pytest.LogCaptureFixture) -> None:
        """09ae:0001 beside a 2012: never opened, named once in the log, the other read."""
        serial_usb = ReplayUps(info("/dev/hidraw1", serial="S1", product_id=0x0001))
        transport = ReplayTransport(ReplayUps(info()), serial_usb)
        with caplog.at_level(logging.WARNING):
            async with source(transport) as src:
                polls = [await src.read() for _ in range(3)]
        assert all(set(readings(p)) == {"ups/2E12345678"} for p in polls)
        assert serial_usb.opens == 0
        warned = [r.message for r in caplog.records if "tripplite_usb" in r.message]
        assert len(warned) == 1
        assert "09ae:0001" in warned[0]

    async def test_serial_over_usb_alone(self) -> None:
        """Only a 09ae:0001: the entry fails, saying which driver reads it."""
        transport = ReplayTransport(ReplayUps(info(product_id=0x0001)))
        async with source(transport) as src:
            with pytest.raises(ConnectError, match="tripplite_usb"):
                await src.read()

    async def test_serial_over_usb_by_path(self) -> None:
        """An entry naming a 09ae:0001 by path is down with that message, never opened."""
        ups = ReplayUps(info(product_id=0x0001))
        async with source(ReplayTransport(ups), path="/dev/hidraw0") as src:
            (fault,) = await src.read()
        assert isinstance(fault, DeviceFault)
        assert "NUT's tripplite_usb" in str(fault.error)
        assert ups.opens == 0


class TestPartialPolls:
    """A reply that does not decode loses its report only, and is counted."""

    def test_short_reply_keeps_the_rest(self) -> None:
        """A short input-voltage reply: nine reports kept, one error back."""
        ups = ReplayUps(info())
        ups.script[24].append(bytes.fromhex("18 94"))
        state, missing = read_partial(ReplayHandle(ups), "/dev/hidraw0")
        assert [str(e).split(":")[0] for e in missing] == ["report 24 (input.voltage)"]
        raw = raw_values(state)
        assert "input.voltage" not in raw
        assert raw["health"] == 100.0
        assert len(raw) == 16

    async def test_counted_and_logged_once(self, caplog: pytest.LogCaptureFixture) -> None:
        """Missing reports add up in the reading; the warning comes when it starts."""
        ups = ReplayUps(info())
        ups.script[24].extend([bytes.fromhex("18 94"), bytes.fromhex("18 94")])
        caplog.set_level(logging.INFO)
        async with source(ReplayTransport(ups)) as src:
            first = readings(await src.read())["ups/2E12345678"]
            second = readings(await src.read())["ups/2E12345678"]
            third = readings(await src.read())["ups/2E12345678"]
        assert Measure.INPUT_VOLTAGE not in first.measures
        assert first.measures[Measure.BATTERY_CHARGE] == 1.0
        assert (first.raw["missing reports"], second.raw["missing reports"]) == (1.0, 2.0)
        assert third.raw["missing reports"] == 2.0
        assert third.measures[Measure.INPUT_VOLTAGE] == 117.2
        assert ups.opens == 1  # never closed to reopen
        partial = [r for r in caplog.records if "partial reading" in r.message]
        assert len(partial) == 1
        assert any("read again: report 24" in r.message for r in caplog.records)


class TestSeedApi:
    """The seed README's Python usage, unchanged."""

    def test_except_oserror_loop(self) -> None:
        """The README's long-polling loop: every failure is an OSError; close, open, go on."""
        ups = ReplayUps(info())
        ups.script[48].append(OSError("read error"))
        ups.script[50].append(bytes.fromhex("06 62"))
        battery = api.Battery(transport=ReplayTransport(ups))
        battery.open()
        states, errors = [], []
        for _ in range(3):
            try:
                states.append(battery.get())
            except OSError as exc:
                errors.append(exc)
                battery.close()
                battery.open()
        assert [type(e).__name__ for e in errors] == ["BatteryConnectError", "BatteryDecodeError"]
        assert len(states) == 1
        assert states[0]["health"] == 100
        battery.close()

    def test_for_p_in_battery_paths(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``for path in battery_paths:`` iterates, as the seed's list did; calling works too."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="A1")),
            ReplayUps(info("/dev/hidraw1", serial="B1")),
        )
        monkeypatch.setattr(api, "HidapiTransport", lambda: transport)
        seen = []
        for path in api.battery_paths:
            with api.Battery(path, transport=transport) as battery:
                seen.append(battery.get()["device_id"])
        assert seen == ["/dev/hidraw0", "/dev/hidraw1"]
        assert api.battery_paths() == seen
        assert api.battery_paths[0] == "/dev/hidraw0"
        assert len(api.battery_paths) == 2
        assert "/dev/hidraw1" in api.battery_paths

    def test_no_device_is_oserror(self) -> None:
        """No TrippLite at all: an OSError with the seed's words."""
        with pytest.raises(OSError, match="No TrippLite devices found"):
            api.Battery(transport=ReplayTransport()).open()
