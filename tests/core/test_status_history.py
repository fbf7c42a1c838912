"""The history ring, the headline and the page's number formats, on their own."""

from __future__ import annotations

import re

import pytest

from power_exporter.model import DeviceIdentity, Flag, Measure, Reading
from power_exporter.status.api import DeviceView, summarize
from power_exporter.status.history import SLOTS, STEP, WINDOW, History, Ring
from power_exporter.status.spark import HEIGHT, sparkline
from power_exporter.status.words import ago, duration, percent, volts, watts
from power_exporter.store import Store

T0 = 1_700_000_000.0


def ups(name: str, when: float, charge: float = 0.8, power: float | None = 400.0) -> Reading:
    measures = {Measure.BATTERY_CHARGE: charge, Measure.LOAD: 0.3}
    if power is not None:
        measures[Measure.OUTPUT_POWER] = power
    return Reading(
        identity=DeviceIdentity(name=name, source="test"),
        taken_at=when,
        measures=measures,
        flags=frozenset({Flag.ONLINE}),
        known_flags=frozenset({Flag.ONLINE, Flag.ON_BATTERY}),
    )


class TestRing:
    def test_one_sample_per_step(self) -> None:
        """Readings every second are sampled once per step (10 s), give or take jitter."""
        ring = Ring(STEP, interval=1.0)
        kept = [ring.offer(ups("a", T0 + second + 0.2 * (second % 3))) for second in range(100)]
        assert sum(kept) == 10
        assert len(ring) == 10

    def test_bounded_and_in_order(self) -> None:
        """Past SLOTS samples the oldest go; what is left is the newest, oldest first."""
        ring = Ring(STEP)
        for index in range(SLOTS + 25):
            ring.offer(ups("a", T0 + index * STEP, charge=(index % 100) / 100))
        assert len(ring) == SLOTS
        series = ring.series(0)
        assert len(series.times) == SLOTS
        assert series.times[0] == int(T0 + 25 * STEP)
        assert series.times == sorted(series.times)
        assert series.charge[-1] == pytest.approx(((SLOTS + 24) % 100) / 100)

    def test_window(self) -> None:
        """A shorter window gives only the samples within it."""
        ring = Ring(STEP)
        for index in range(60):
            ring.offer(ups("a", T0 + index * STEP))
        series = ring.series(T0 + 50 * STEP)
        assert series.times == [int(T0 + index * STEP) for index in range(50, 60)]

    def test_missing_measures_are_none(self) -> None:
        """A device without a power measure has None where the power would be."""
        ring = Ring(STEP)
        ring.offer(ups("a", T0, power=None))
        series = ring.series(0)
        assert series.power == [None]
        assert series.load == [pytest.approx(0.3)]


class TestHistory:
    def test_fed_by_the_store(self) -> None:
        """Readings, a gap when the device goes down, the device gone when it leaves."""
        store = Store()
        history = History(store)
        store.update(ups("a", T0), unit="a", interval=5.0)
        store.update(ups("a", T0 + 5), unit="a", interval=5.0)  # within the step: not kept
        store.update(ups("a", T0 + 10, charge=0.7), unit="a", interval=5.0)
        store.mark_down("a", "connect", "refused")
        store.count_error("a", "connect", "refused")  # still down: one gap only
        series = history.series("a", WINDOW, now=T0 + 20)
        assert series is not None
        assert series.charge[:2] == [pytest.approx(0.8), pytest.approx(0.7)]
        assert len(series.times) == 3
        assert series.charge[2] is None
        store.remove("a")
        assert history.series("a") is None
        assert len(history) == 0

    def test_slow_devices_keep_their_interval(self) -> None:
        """A device read every 60 s is sampled every 60 s: its step is its interval."""
        store = Store()
        history = History(store)
        store.update(ups("a", T0), unit="a", interval=60.0)
        series = history.series("a", now=T0)
        assert series is not None
        assert series.step == 60.0

    def test_never_up_has_no_ring(self) -> None:
        """A device that never gave a reading has no history to show."""
        store = Store()
        history = History(store)
        store.register("a", source="test", unit="a", interval=5.0)
        store.mark_down("a", "connect", "refused")
        assert history.series("a") is None


def device(
    name: str,
    state: str = "up",
    flags: frozenset[Flag] = frozenset(),
    runtime: float | None = None,
) -> DeviceView:
    return DeviceView(
        name=name,
        entry=name,
        source="test",
        state=state,  # type: ignore[arg-type]
        reason="connect" if state == "down" else None,
        error=None,
        vendor="",
        model="",
        serial="",
        firmware="",
        interval=5.0,
        last_reading=None,
        age=None,
        measures={} if runtime is None else {Measure.BATTERY_RUNTIME: runtime},
        labelled={},
        flags=flags,
        known_flags=frozenset({Flag.ON_BATTERY, Flag.LOW_BATTERY, Flag.ONLINE}),
        history=None,
    )


class TestSummary:
    @pytest.mark.parametrize(
        ("devices", "level", "headline"),
        [
            ([device("a"), device("b")], "ok", "All on mains"),
            ([device("a"), device("b", "down")], "down", "Down: b"),
            (
                [device("a", flags=frozenset({Flag.ON_BATTERY})), device("b", "down")],
                "battery",
                "On battery: a",
            ),
            (
                [
                    device("a", flags=frozenset({Flag.ON_BATTERY})),
                    device("b", flags=frozenset({Flag.ON_BATTERY, Flag.LOW_BATTERY})),
                ],
                "low",
                "Low battery: b",
            ),
            (
                [device(n, flags=frozenset({Flag.ON_BATTERY})) for n in "abcd"],
                "battery",
                "4 on battery: a, b, c, …",
            ),
            (
                [
                    device("a", flags=frozenset({Flag.ON_BATTERY}), runtime=4320),
                    device("b", flags=frozenset({Flag.ON_BATTERY}), runtime=660),
                ],
                "battery",
                "2 on battery: a, b · 11 min left",
            ),
            ([device("a", "pending")], "pending", "Waiting for the first readings"),
            ([], "empty", "No devices configured"),
        ],
    )
    def test_headline(self, devices: list[DeviceView], level: str, headline: str) -> None:
        """The most urgent thing first: low battery, on battery, down, then all well."""
        summary = summarize(devices)
        assert (summary.level, summary.headline) == (level, headline)


class TestFormats:
    @pytest.mark.parametrize(
        ("seconds", "words"),
        [(4320, "1 h 12 min"), (1500, "25 min"), (45, "45 s"), (3600, "1 h 0 min"), (-3, "0 s")],
    )
    def test_duration(self, seconds: float, words: str) -> None:
        """Runtimes as a person says them."""
        assert duration(seconds) == words

    def test_units(self) -> None:
        """Ratios as percent, kilowatts past 1000 W, volts to the precision that matters."""
        assert percent(0.912) == "91 %"
        assert watts(594) == "594 W"
        assert watts(1530) == "1.53 kW"
        assert volts(230.6) == "231 V"
        assert volts(25.8) == "25.8 V"
        assert volts(0.0) == "0 V"
        assert ago(None) == "never"
        assert ago(75) == "1 min ago"


class TestSparkline:
    def test_gaps_break_the_line(self) -> None:
        """A None splits the path; the words give first, last, lowest and highest."""
        svg = sparkline("Charge", [0, 10, 20, 30], [1.0, 0.5, None, 0.25], percent, upper=1.0)
        assert svg.count("M") == 2 + 2  # two runs, each in the line and in the area
        assert 'aria-label="Charge: from 100 % to 25 %, lowest 25 %, highest 100 %"' in svg

    def test_no_values(self) -> None:
        """A series with no value at all draws nothing."""
        assert sparkline("Power", [0, 10], [None, None], watts) == ""

    def test_above_the_upper_bound(self) -> None:
        """A load over 100 % scales the chart rather than leaving it."""
        svg = sparkline("Load", [0, 10], [0.5, 1.5], percent, upper=1.0)
        assert "highest 150 %" in svg
        line = re.search(r'class="line" d="([^"]+)"', svg)
        assert line is not None
        heights = [float(y) for _, y in re.findall(r"([\d.]+),([\d.]+)", line[1])]
        assert all(0 <= y <= HEIGHT for y in heights), heights
        assert min(heights) > 0  # the highest point has headroom, within the chart
