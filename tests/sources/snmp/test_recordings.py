"""Every recording read from a real snmpsim: normalized values, flags, identity, raw names."""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING, Final

import pytest

from power_exporter.exposition.text import Renderer
from power_exporter.model import Flag, Labels, Measure, Reading
from power_exporter.sources.registry import KINDS
from power_exporter.sources.snmp.engine import ENGINES
from power_exporter.sources.snmp.source import SnmpSource
from power_exporter.store import Store
from tests.peers import require_binary
from tests.peers.promtool import INSTALL, check_metrics
from tests.sources.snmp.conftest import APC, v2c, v3

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.sources.snmp.config import SnmpConfig
    from tests.peers.snmpsim import Snmpsim

M = Measure
L1: Final[Labels] = (("phase", "L1"),)
L2: Final[Labels] = (("phase", "L2"),)
L3: Final[Labels] = (("phase", "L3"),)


def outlets(values: str) -> dict[Labels, float]:
    """One series per outlet, numbered from 1, from the values written in a row."""
    return {(("outlet", str(n)),): float(v) for n, v in enumerate(values.split(), 1)}


# AP8641, outlets 1..24: rPDU2OutletMeteredStatusCurrent (tenths of A, as amperes here),
# rPDU2OutletMeteredStatusPower (W), rPDU2OutletSwitchedStatusState (on 2 -> 1, off 1 -> 0).
AP8641_CURRENT: Final = "0.9 0.5 0.4 0.7 0.4 0.6 0.4 0 0.4 0 0 0 0 0 0 0 0 0.5 0.5 0.5 0 0.4 0.5 0"
AP8641_POWER: Final = "163 4 81 125 71 96 66 0 66 0 0 0 0 0 0 0 0 83 101 97 0 78 86 0"
AP8641_ON: Final = "1 1 1 1 1 1 1 0 1 0 0 0 0 0 0 0 1 1 1 1 1 1 1 0"


class Expected:
    """What one recording must read as."""

    def __init__(
        self,
        profile: str,
        measures: Mapping[Measure, float],
        flags: frozenset[Flag],
        identity: tuple[str, str, str, str],
        *,
        labelled: Mapping[Measure, Mapping[Labels, float]] | None = None,
        dropped: Mapping[Measure, str] | None = None,
    ) -> None:
        self.profile = profile
        self.measures = measures
        self.flags = flags
        self.identity = identity
        self.labelled = labelled or {}
        self.dropped = dropped or {}


EXPECTED: Final[Mapping[str, Expected]] = {
    # APC Smart-UPS X 750, NMC2: HighPrec tenths, runtime in TimeTicks (10976200 = 109762 s).
    APC: Expected(
        "apc-ups",
        {
            M.BATTERY_CHARGE: 1.0,  # upsHighPrecBatteryCapacity 1000 (tenths of %)
            M.BATTERY_TEMPERATURE: 22.8,
            M.BATTERY_VOLTAGE: 54.7,
            M.INPUT_VOLTAGE: 120.0,
            M.INPUT_FREQUENCY: 60.0,
            M.OUTPUT_VOLTAGE: 120.0,
            M.OUTPUT_FREQUENCY: 60.0,
            M.LOAD: 0.0,
            M.OUTPUT_CURRENT: 0.0,
        },
        frozenset({Flag.ONLINE}),  # upsBasicOutputStatus 2 onLine
        ("APC", "Smart-UPS X 750", "AS1907242163", "UPS 09.8 (ID20)"),
        # 10976200 TimeTicks = 109762 s = 30.5 h at no load: past the shared plausibility
        # table's 24 h for a UPS, so it stays raw only.
        dropped={M.BATTERY_RUNTIME: "out_of_range"},
    ),
    # Riello NetMan 204: UPS-MIB, 3-line tables, -1 for the unsupported input current.
    "librenms_netmanplus_204": Expected(
        "ups-mib",
        {
            M.BATTERY_RUNTIME: 8100.0,  # 135 minutes
            M.BATTERY_CHARGE: 1.0,
            M.BATTERY_VOLTAGE: 122.5,
            M.BATTERY_TEMPERATURE: 37.0,
            M.INPUT_FREQUENCY: 50.1,
            M.INPUT_VOLTAGE: 242.0,
            M.INPUT_POWER: 0.0,
            M.OUTPUT_FREQUENCY: 50.1,
            M.OUTPUT_VOLTAGE: 231.0,
            M.OUTPUT_CURRENT: 1.1,
            M.OUTPUT_POWER: 184.0,
            M.LOAD: 0.08,
        },
        frozenset({Flag.ONLINE}),  # upsOutputSource 3 normal
        ("RPS SpA", "", "", ""),
        # Three rows in each line table (no NumLines to say fewer are used): one series each.
        labelled={
            M.INPUT_PHASE_VOLTAGE: {L1: 242.0, L2: 0.0, L3: 0.0},
            M.INPUT_PHASE_POWER: {L1: 0.0, L2: 0.0, L3: 0.0},
            M.OUTPUT_PHASE_VOLTAGE: {L1: 231.0, L2: 0.0, L3: 0.0},
            M.OUTPUT_PHASE_CURRENT: {L1: 1.1, L2: 0.0, L3: 0.0},
            M.OUTPUT_PHASE_POWER: {L1: 184.0, L2: 0.0, L3: 0.0},
        },
    ),
    # CyberPower OL2200RTXL2U on an RMCARD: tenths of volts, runtime in TimeTicks.
    "librenms_cyberpower": Expected(
        "cyberpower",
        {
            M.BATTERY_CHARGE: 1.0,
            M.BATTERY_TEMPERATURE: 36.0,
            M.BATTERY_RUNTIME: 1740.0,
            M.INPUT_VOLTAGE: 119.5,
            M.INPUT_FREQUENCY: 60.0,
            M.OUTPUT_VOLTAGE: 120.2,
            M.OUTPUT_FREQUENCY: 60.0,
            M.OUTPUT_CURRENT: 6.5,
        },
        frozenset({Flag.ONLINE}),
        ("CyberPower", "OL2200RTXL2U", "ABCFT1000001", "S1A17"),
    ),
    # Tripp Lite SU3000LCD2UHV, PowerAlert: -273 °C without a probe, output source "other".
    "librenms_poweralert_ups": Expected(
        "tripplite",
        {
            M.BATTERY_RUNTIME: 6300.0,
            M.BATTERY_CHARGE: 1.0,
            M.BATTERY_VOLTAGE: 82.1,
            M.INPUT_FREQUENCY: 60.0,
            M.INPUT_VOLTAGE: 212.0,
            M.OUTPUT_FREQUENCY: 60.0,
            M.OUTPUT_VOLTAGE: 212.0,
            M.OUTPUT_CURRENT: 1.4,
            M.OUTPUT_POWER: 307.0,
            M.LOAD: 0.07,
        },
        frozenset(),
        ("Tripp Lite", "SU3000LCD2UHV", "", "20.1.0.87"),
    ),
    # Tripp Lite SMART1500RMXL2UA, PowerAlert 12: two upsAlarmBatteryBad rows in the alarm table.
    "librenms_poweralert_2": Expected(
        "tripplite",
        {
            M.BATTERY_RUNTIME: 1440.0,  # 24 minutes
            M.BATTERY_CHARGE: 1.0,
            M.BATTERY_VOLTAGE: 42.0,
            M.BATTERY_TEMPERATURE: 24.0,
            M.INPUT_FREQUENCY: 59.7,
            M.INPUT_VOLTAGE: 122.0,
            M.OUTPUT_FREQUENCY: 59.7,
            M.OUTPUT_VOLTAGE: 122.0,
            M.OUTPUT_CURRENT: 3.0,
            M.OUTPUT_POWER: 357.0,
            M.LOAD: 0.27,
        },
        frozenset({Flag.ONLINE, Flag.ALARM, Flag.REPLACE_BATTERY}),
        ("Tripp Lite", "SMART1500RMXL2UA", "", "12.06.0069"),
    ),
    # Eaton 9PX 2200i (snmpsim's own recording): XUPS, MGE sysObjectID, ABM resting.
    "snmpsim_eaton-9PX-partial-walk": Expected(
        "eaton-xups",
        {
            M.BATTERY_RUNTIME: 17218.0,  # seconds
            M.BATTERY_VOLTAGE: 78.0,
            M.BATTERY_CHARGE: 1.0,
            M.INPUT_FREQUENCY: 50.0,
            M.INPUT_VOLTAGE: 243.0,
            M.INPUT_CURRENT: 0.0,
            M.INPUT_POWER: 0.0,
            M.LOAD: 0.09,
            M.OUTPUT_FREQUENCY: 50.0,
            M.OUTPUT_VOLTAGE: 231.0,
            M.OUTPUT_CURRENT: 0.0,
            M.OUTPUT_POWER: 50.0,
            M.NOMINAL_POWER: 2200.0,
        },
        frozenset({Flag.ONLINE}),
        ("Eaton", "Eaton 9PX 2200i RT 3U", "GX13G45099", "INV: 01.17.4945"),
    ),
    # APC AP8641 rack PDU (metered by outlet, switched), snmpsim-data: one phase, two banks,
    # 24 outlets. Device power 121 (hundredths of kW), apparent 131, energy 19516 tenths of
    # kWh; phase 1: 65 tenths of A at 201 V, 122 hundredths of kW. A single phase gives no
    # phase="L1" series (the device-wide value says it all), as for a single-line UPS.
    "snmpsimdata_apc-8641": Expected(
        "apc-rpdu2",
        {
            M.OUTPUT_POWER: 1210.0,
            M.OUTPUT_APPARENT_POWER: 1310.0,
            M.OUTPUT_ENERGY: 1951.6 * 3.6e6,
            M.INPUT_CURRENT: 6.5,
            M.INPUT_VOLTAGE: 201.0,
            M.INPUT_POWER: 1220.0,
        },
        frozenset(),  # rPDU2DeviceStatusLoadState 2: normal
        ("APC", "AP8641", "3F3452A52295", "6.7.2"),
        labelled={
            M.OUTLET_CURRENT: outlets(AP8641_CURRENT),
            M.OUTLET_POWER: outlets(AP8641_POWER),
            M.OUTLET_ON: outlets(AP8641_ON),
        },
    ),
    # APC AP7902B switched rack PDU, snmpsim-data: it meters current only, and answers -1 for
    # its voltage, powers, power factor and energy: those are absent, not -1 V or -10 W.
    "snmpsimdata_apc-7902b": Expected(
        "apc-rpdu2",
        {M.INPUT_CURRENT: 1.6},
        frozenset(),  # rPDU2DeviceStatusLoadState 5 (no power metering): no flag
        ("APC", "AP7902B", "5A1551F39430", "6.7.2"),
        labelled={M.OUTLET_ON: outlets("1 1 1 1 1 1 1 1 0 0 0 0 0 0 0 0")},
    ),
}


async def read_one(cfg: SnmpConfig) -> tuple[Reading, str]:
    async with SnmpSource(cfg) as source:
        events = await source.read()
        assert source.profile is not None
        profile = source.profile.name
    assert len(events) == 1
    reading = events[0]
    assert isinstance(reading, Reading)
    return reading, profile


def check(reading: Reading, profile: str, expected: Expected) -> None:
    assert profile == expected.profile
    assert dict(reading.measures) == pytest.approx(dict(expected.measures))
    assert set(reading.measures) == set(expected.measures)
    assert reading.flags == expected.flags
    assert {m: dict(series) for m, series in reading.labelled.items()} == expected.labelled
    assert dict(reading.dropped) == expected.dropped
    identity = reading.identity
    assert (identity.vendor, identity.model, identity.serial, identity.firmware) == (
        expected.identity
    )


class TestRecordings:
    """Each recording's normalized values, read from a real agent."""

    @pytest.mark.parametrize("recording", sorted(EXPECTED))
    async def test_v2c(self, snmpsim: Snmpsim, recording: str) -> None:
        """SNMPv2c with GETBULK: the profile, measures, flags and identity."""
        reading, profile = await read_one(v2c(snmpsim, recording))
        check(reading, profile, EXPECTED[recording])

    @pytest.mark.parametrize("recording", sorted(EXPECTED))
    async def test_v3_auth_priv(self, snmpsim: Snmpsim, recording: str) -> None:
        """SNMPv3 authPriv (SHA-256, AES-128), the recording as the context: the same reading."""
        reading, profile = await read_one(v3(snmpsim, recording))
        check(reading, profile, EXPECTED[recording])

    async def test_v1_getnext(self, snmpsim: Snmpsim) -> None:
        """SNMPv1 walks with GETNEXT and reads the same values."""
        reading, profile = await read_one(v2c(snmpsim, APC, version="1"))
        check(reading, profile, EXPECTED[APC])

    async def test_profile_override(self, snmpsim: Snmpsim) -> None:
        """``profile:`` wins over sysObjectID: the CyberPower card read as plain UPS-MIB."""
        reading, profile = await read_one(v2c(snmpsim, "librenms_cyberpower", profile="ups-mib"))
        assert profile == "ups-mib"
        assert reading.identity.vendor == "CPS"  # upsIdentManufacturer, all it serves
        assert reading.measures == {}

    async def test_engine_shared_and_closed(self, snmpsim: Snmpsim) -> None:
        """Two devices hold one engine; it closes when the last leaves."""
        assert ENGINES.users == 0
        async with SnmpSource(v2c(snmpsim, APC)) as one, SnmpSource(v2c(snmpsim, APC)) as two:
            assert one.agent.engine is two.agent.engine
            assert ENGINES.users == 2
        assert ENGINES.users == 0


def page(*readings: Reading) -> bytes:
    store = Store()
    for reading in readings:
        store.update(reading, unit="card", interval=15.0)
    return Renderer(store, lambda kind: KINDS[kind].naming).render()


# The only two remarks promtool (2.42, Debian 12) makes on the snmp_exporter-named families.
CAMEL_LINT: Final = re.compile(
    r"^(\w+) (metric|label) names should be written in 'snake_case' not 'camelCase'$"
)


async def every_recording(sim: Snmpsim, **keys: object) -> list[Reading]:
    """One reading of each recording, each its own device."""
    readings = []
    for recording in sorted(EXPECTED):
        cfg = v2c(sim, recording, name=recording.replace("_", "-"), **keys)
        readings.append((await read_one(cfg))[0])
    return readings


def promtool_remarks(exposition: bytes) -> tuple[int, list[str]]:
    """Promtool's exit status and its remarks on a page."""
    promtool = require_binary("promtool", install=INSTALL)
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).decode().strip().splitlines()


class TestExposition:
    """What /metrics shows of SNMP devices."""

    async def test_promtool_clean_by_default(self, snmpsim: Snmpsim) -> None:
        """By default (no ``raw:``), every recording's page passes promtool without a remark."""
        readings = await every_recording(snmpsim)
        assert all(not reading.raw for reading in readings)
        text = page(*readings)
        check_metrics(text)
        # The PDUs' labelled series and energy counter are on the page promtool accepted.
        assert b'power_outlet_power_watts{device="snmpsimdata-apc-8641",outlet="1"} 163\n' in text
        assert b'power_outlet_on{device="snmpsimdata-apc-7902b",outlet="9"} 0\n' in text
        assert b"# TYPE power_output_energy_joules_total counter\n" in text

    async def test_raw_names_as_snmp_exporter(self, snmpsim: Snmpsim) -> None:
        """``raw: true``: MIB object names, values as sent, table indexes as labels."""
        apc, _ = await read_one(v2c(snmpsim, APC, name="apc", raw=True))
        netman, _ = await read_one(v2c(snmpsim, "librenms_netmanplus_204", name="netman", raw=True))
        pdu, _ = await read_one(v2c(snmpsim, "snmpsimdata_apc-8641", name="pdu", raw=True))
        text = page(apc, netman, pdu).decode()
        assert 'upsHighPrecBatteryCapacity{device="apc"} 1000\n' in text
        assert 'upsAdvBatteryRunTimeRemaining{device="apc"} 10976200\n' in text
        assert 'upsBasicOutputStatus{device="apc"} 2\n' in text
        assert 'upsInputVoltage{device="netman",upsInputLineIndex="1"} 242\n' in text
        assert 'upsInputCurrent{device="netman",upsInputLineIndex="2"} -1\n' in text
        assert 'power_input_voltage_volts{device="netman"} 242\n' in text
        assert 'power_output_phase_power_watts{device="netman",phase="L1"} 184\n' in text
        assert (
            'rPDU2OutletMeteredStatusEnergy{device="pdu",rPDU2OutletMeteredStatusIndex="1"} 3046\n'
            in text
        )

    async def test_raw_names_only_camel_case_remarks(self, snmpsim: Snmpsim) -> None:
        """``raw: true`` on every recording: promtool flags only camelCase raw names.

        Its remarks are exactly the camelCase names of the snmp_exporter-named families and
        of their index labels; none is about a ``power_*`` family or anything else.
        """
        readings = await every_recording(snmpsim, raw=True)
        status, remarks = promtool_remarks(page(*readings))
        assert status != 0  # promtool fails a page with lint problems
        found: dict[str, set[str]] = {"metric": set(), "label": set()}
        for line in remarks:
            match = CAMEL_LINT.match(line)
            assert match is not None, f"promtool remark beyond camelCase: {line}"
            found[match.group(2)].add(match.group(1))
        keys = [key for reading in readings for key in reading.raw]
        raw_families = {key.partition("|")[0] for key in keys}
        tables = {key.partition("|")[0] for key in keys if "|" in key}
        assert found["metric"] == {name for name in raw_families if name != name.lower()}
        assert found["label"] == tables  # every table's index object is camelCase too


class TestRowsInUse:
    """A line table's rows past its own count (upsInputNumLines) are placeholders."""

    def test_counted_rows_only(self) -> None:
        """Three input rows, one line in use: no phase series; three in use: L1..L3."""
        from power_exporter.sources.snmp.columns import oid  # noqa: PLC0415
        from power_exporter.sources.snmp.profiles import UPS_MIB  # noqa: PLC0415
        from power_exporter.sources.snmp.reading import build_reading  # noqa: PLC0415

        voltages = {oid(f"1.3.6.1.2.1.33.1.3.3.1.3.{line}"): 230 for line in (1, 2, 3)}
        for in_use, phases in ((1, {}), (3, {L1: 230.0, L2: 230.0, L3: 230.0})):
            walk = {oid("1.3.6.1.2.1.33.1.3.2.0"): in_use, **voltages}
            reading, _ = build_reading("ups", UPS_MIB, dict(walk), 0.0)
            assert dict(reading.labelled.get(M.INPUT_PHASE_VOLTAGE, {})) == phases
            assert reading.measures[M.INPUT_VOLTAGE] == 230.0


class TestEnergyTotal:
    """A rack PDU's own energy total is a counter that never goes back."""

    def test_carried_over_a_reset(self) -> None:
        """19516, then 19520, then 3 (the card's total reset): 1952.0 + 0.3 kWh, in joules."""
        from power_exporter.sources.monotonic import Totals  # noqa: PLC0415
        from power_exporter.sources.snmp.columns import oid  # noqa: PLC0415
        from power_exporter.sources.snmp.profiles import APC_RPDU2  # noqa: PLC0415
        from power_exporter.sources.snmp.reading import build_reading  # noqa: PLC0415

        energy = oid("1.3.6.1.4.1.318.1.1.26.4.3.1.9.1")
        totals = Totals()
        seen = []
        for tenths_kwh in (19516, 19520, 3):
            reading, _ = build_reading("pdu", APC_RPDU2, {energy: tenths_kwh}, 0.0, totals=totals)
            seen.append(reading.measures[M.OUTPUT_ENERGY] / 3.6e6)
            assert reading.raw["rPDU2DeviceStatusEnergy|rPDU2DeviceStatusIndex=1"] == tenths_kwh
        assert seen == pytest.approx([1951.6, 1952.0, 1952.3])
