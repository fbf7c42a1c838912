"""An ePDU behind a real upsd: no status flags, outlets and phases as labels, promtool-clean."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from prometheus_client.parser import text_string_to_metric_families

from power_exporter.exposition.text import Renderer
from power_exporter.model import Reading
from power_exporter.sources.nut.source import NutSource
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.peers.promtool import check_metrics
from tests.sources.nut.conftest import nut_config

if TYPE_CHECKING:
    from tests.peers.upsd import Upsd

PDU: Final = "eaton-epdu-ma-1p"
# power_outlet_* family -> the NUT quantity of outlet.<n>.<quantity> it comes from
OUTLET_FAMILIES: Final = {
    "power_outlet_current_amperes": "current",
    "power_outlet_power_watts": "realpower",
    "power_outlet_apparent_power_voltamperes": "power",
    "power_outlet_voltage_volts": "voltage",
}


async def pdu_page(upsd: Upsd) -> tuple[bytes, dict[str, list[tuple[dict[str, str], float]]]]:
    """The page of the ePDU alone, and its samples by name."""
    async with NutSource(nut_config(name="pdu", server=upsd.server, ups=PDU)) as source:
        (reading,) = await source.read()
    assert isinstance(reading, Reading)
    store = Store()
    store.update(reading, unit="pdu", interval=15)
    page = Renderer(store, lambda kind: KINDS[kind].naming).render()
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(page.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return page, found


class TestEpdu:
    """The Eaton ePDU MA 1P dump (24 outlets, two phases' power, no ups.status)."""

    async def test_no_status_flags(self, ddl_upsd: Upsd) -> None:
        """No ups.status: no power_status and no raw status series, rather than all at 0."""
        assert ddl_upsd.upsc(PDU).get("ups.status", "") == ""
        page, found = await pdu_page(ddl_upsd)
        check_metrics(page)
        assert "power_status" not in found
        assert "network_ups_tools_ups_status" not in found
        assert found["power_device_up"] == [({"device": "pdu"}, 1.0)]

    async def test_outlets_as_labels(self, ddl_upsd: Upsd) -> None:
        """Every outlet.N.<quantity> upsc shows is power_outlet_*{outlet="N"}; status on is 1."""
        oracle = ddl_upsd.upsc(PDU)
        _page, found = await pdu_page(ddl_upsd)
        count = int(float(oracle["outlet.count"]))
        for family, quantity in OUTLET_FAMILIES.items():
            got = {labels["outlet"]: value for labels, value in found[family]}
            want = {
                str(n): float(oracle[f"outlet.{n}.{quantity}"])
                for n in range(1, count + 1)
                if f"outlet.{n}.{quantity}" in oracle
            }
            assert got == want, family
            assert all(set(labels) == {"device", "outlet"} for labels, _ in found[family])
        on = {labels["outlet"]: value for labels, value in found["power_outlet_on"]}
        assert on == {
            str(n): 1.0 if oracle[f"outlet.{n}.status"] == "on" else 0.0
            for n in range(1, count + 1)
        }
        total = sum(value for _, value in found["power_outlet_power_watts"])
        assert total == sum(float(oracle[f"outlet.{n}.realpower"]) for n in range(1, count + 1))
        # the raw series keep DRuggeri's names
        assert ({"device": "pdu"}, float(oracle["outlet.1.current"])) in found[
            "network_ups_tools_outlet_1_current"
        ]

    async def test_phases_beside_single_phase(self, ddl_upsd: Upsd) -> None:
        """input.L1.* and input.L2.* are phase-labelled series; the whole-input ones stay."""
        oracle = ddl_upsd.upsc(PDU)
        _page, found = await pdu_page(ddl_upsd)
        power = {labels["phase"]: value for labels, value in found["power_input_phase_power_watts"]}
        assert power == {
            "L1": float(oracle["input.L1.realpower"]),
            "L2": float(oracle["input.L2.realpower"]),
        }
        voltage = found["power_input_phase_voltage_volts"]
        assert voltage == [({"device": "pdu", "phase": "L1"}, float(oracle["input.L1.voltage"]))]
        assert found["power_input_voltage_volts"] == [
            ({"device": "pdu"}, float(oracle["input.voltage"]))
        ]
        assert found["power_input_power_watts"] == [
            ({"device": "pdu"}, float(oracle["input.realpower"]))
        ]


class TestVarFilter:
    """``vars: {include, exclude}``: glob patterns choose the raw series; power_* stay whole."""

    async def test_include_and_exclude(self, ddl_upsd: Upsd) -> None:
        """Only battery.* and ups.* (not *.nominal) keep a raw series; measures unchanged."""
        ups = "eaton-5px-2000"
        cfg = nut_config(
            name="f",
            server=ddl_upsd.server,
            ups=ups,
            vars={"include": ["battery.*", "ups.*"], "exclude": ["*.nominal"]},
        )
        async with NutSource(cfg) as source:
            (filtered,) = await source.read()
        async with NutSource(nut_config(name="f", server=ddl_upsd.server, ups=ups)) as source:
            (whole,) = await source.read()
        assert isinstance(filtered, Reading)
        assert isinstance(whole, Reading)
        want = {
            name
            for name in whole.raw
            if name.startswith(("battery.", "ups.")) and not name.endswith(".nominal")
        }
        assert set(filtered.raw) == want
        assert "ups.realpower.nominal" in whole.raw
        assert "input.voltage" in whole.raw
        assert dict(filtered.measures) == dict(whole.measures)
