"""The charge counter carries on over the meter's reboots and never goes back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from power_exporter.sources.udp_meter.counter import ChargeCounter
from power_exporter.sources.udp_meter.protocol import Measurement


def _m(timestamp_s: float, charge_mas: float) -> Measurement:
    return Measurement(timestamp_us=int(timestamp_s * 1e6), charge_mas=charge_mas, current_ma=1.0)


class TestChargeCounter:
    """Reboots are seen by the timestamp going back or the charge dropping."""

    def test_follows_the_meter(self) -> None:
        """Without reboots the counter is the meter's own count."""
        counter = ChargeCounter()
        assert counter.total_mas == 0.0
        for second, charge in [(1, 100.0), (2, 250.0), (3, 250.0), (4, 900.0)]:
            assert counter.update(_m(second, charge)) is False
            assert counter.total_mas == charge
        assert counter.reboots == 0

    def test_reboot_carries_on(self) -> None:
        """After a reboot the counter adds the new count to where it was (no freeze)."""
        counter = ChargeCounter()
        counter.update(_m(100, 50_000.0))
        assert counter.update(_m(1, 300.0)) is True
        assert counter.total_mas == 50_300.0
        counter.update(_m(2, 700.0))
        assert counter.total_mas == 50_700.0
        assert counter.reboots == 1

    def test_reboot_seen_by_charge_drop(self) -> None:
        """A charge drop with a timestamp that went on (a reboot missed in between) is a reboot."""
        counter = ChargeCounter()
        counter.update(_m(5, 4_000.0))
        assert counter.update(_m(9, 100.0)) is True
        assert counter.total_mas == 4_100.0

    def test_repeat_is_no_reboot(self) -> None:
        """The same measurement twice (a responder repeating itself) changes nothing."""
        counter = ChargeCounter()
        counter.update(_m(5, 4_000.0))
        assert counter.update(_m(5, 4_000.0)) is False
        assert counter.total_mas == 4_000.0

    def test_two_reboots(self) -> None:
        """Every reboot adds what the meter had counted before it."""
        counter = ChargeCounter()
        for second, charge in [(10, 1_000.0), (1, 10.0), (20, 2_000.0), (2, 5.0)]:
            counter.update(_m(second, charge))
        assert counter.total_mas == 3_005.0
        assert counter.reboots == 2

    @given(
        st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=10**12),
                st.floats(min_value=0.0, max_value=1e12, allow_nan=False),
            ),
            max_size=50,
        )
    )
    def test_never_goes_back(self, sequence: list[tuple[int, float]]) -> None:
        """Whatever the meter sends, the counter never decreases."""
        counter = ChargeCounter()
        before = counter.total_mas
        for timestamp, charge in sequence:
            counter.update(Measurement(timestamp_us=timestamp, charge_mas=charge, current_ma=0.0))
            assert counter.total_mas >= before
            before = counter.total_mas
