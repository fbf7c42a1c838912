"""The seed's metric names for a UDP meter, valued from the reading."""

from __future__ import annotations

from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.udp_meter import KIND
from power_exporter.sources.udp_meter.naming import CHARGE, CURRENT, UdpMeterNaming

IDENTITY = DeviceIdentity(name="udp-meter", source="udp_meter")


class TestNaming:
    """Two families, the seed's names and HELP, the counter from the reboot-proof measure."""

    def test_families(self) -> None:
        """The counter ends in _total, the gauge does not; HELP is the seed's."""
        assert (CHARGE.name, CHARGE.kind) == (
            "powerexporter_power_consumption_ampere_seconds_total",
            "counter",
        )
        assert (CURRENT.name, CURRENT.kind) == ("powerexporter_current_ampere", "gauge")
        assert CHARGE.help == "The total power consumption given in ampere-seconds."
        assert CURRENT.help == "The electric current given in ampere."

    def test_samples(self) -> None:
        """A reading gives both samples from its measures, not from the raw since-boot count."""
        reading = Reading(
            identity=IDENTITY,
            taken_at=1.0,
            measures={Measure.CHARGE_COULOMBS: 1304.0, Measure.INPUT_CURRENT: 1.6},
            raw={"timestamp": 1e6, "energy_consumption": 304_000.0, "current": 1600.0},
        )
        samples = list(UdpMeterNaming().samples(reading))
        assert [(s.family, s.value, s.labels) for s in samples] == [
            (CHARGE, 1304.0, ()),
            (CURRENT, 1.6, ()),
        ]

    def test_absent_measure(self) -> None:
        """A measure the reading lacks gives no sample."""
        reading = Reading(identity=IDENTITY, taken_at=1.0, measures={Measure.INPUT_CURRENT: 0.5})
        assert [s.family for s in UdpMeterNaming().samples(reading)] == [CURRENT]

    def test_nothing_while_down(self) -> None:
        """The seed's series go away while the meter is down."""
        assert list(KIND.naming.down_samples(IDENTITY)) == []
