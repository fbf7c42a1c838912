"""The NUT naming's caches: a warm naming names every reading as a fresh one does."""

from __future__ import annotations

from pathlib import Path

import pytest

from power_exporter.sources.base import RawSample
from power_exporter.sources.nut.naming import NutNaming
from power_exporter.sources.nut.reading import nut_reading
from power_exporter.sources.replay.devfile import parse_dev

DUMPS = sorted((Path(__file__).parents[2] / "fixtures" / "nut-ddl").glob("*.dev"))


def values_of(path: Path) -> dict[str, str]:
    return parse_dev(path.read_text(errors="replace"), str(path)).values_at(0.0)


def named(samples: object) -> list[tuple[str, str, float, tuple[tuple[str, str], ...]]]:
    assert isinstance(samples, list)
    out = []
    for sample in samples:
        assert isinstance(sample, RawSample)
        out.append((sample.family.name, sample.family.help, sample.value, sample.labels))
    return out


def test_a_warm_naming_names_every_dump_as_a_fresh_one() -> None:
    assert DUMPS
    warm = NutNaming()
    for _ in range(2):  # the second pass is answered from the caches
        for path in DUMPS:
            reading, _ = nut_reading("ups", "nut", values_of(path), 1.0)
            assert named(warm.samples(reading)) == named(NutNaming().samples(reading)), path


@pytest.mark.parametrize(
    ("status", "on"),
    [("OL", {"OL"}), ("OB LB", {"OB", "LB"}), ("OL CHRG", {"OL", "CHRG"})],
)
def test_status_and_states_follow_each_reading(status: str, on: set[str]) -> None:
    naming = NutNaming()
    values = {**values_of(DUMPS[0]), "ups.beeper.status": "enabled"}
    for status_now, beeper in (("OB", "disabled"), (status, "enabled")):
        reading, _ = nut_reading(
            "ups", "nut", {**values, "ups.status": status_now, "ups.beeper.status": beeper}, 1.0
        )
        samples = named(naming.samples(reading))
    flags = {
        dict(labels)["flag"]
        for name, _, value, labels in samples
        if name == "network_ups_tools_ups_status" and value == 1.0
    }
    assert flags == on
    beeper_on = [
        dict(labels)["state"]
        for name, _, value, labels in samples
        if name == "network_ups_tools_ups_beeper_status" and value == 1.0
    ]
    assert beeper_on == ["enabled"]


def test_one_family_object_per_name_while_cached() -> None:
    naming = NutNaming()
    assert naming.family("input.L1-N.voltage") is naming.family("input.L1-N.voltage")
    # Two variables with one name: one family, the first one's.
    first = naming.family("input.L1-N.voltage")
    assert naming.family("input.L1.N.voltage") is first
