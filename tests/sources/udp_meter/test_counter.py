"""The charge counter carries on over the meter's reboots and never goes back."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from power_exporter.sources.udp_meter.counter import ChargeCounter, ImplausibleChargeError
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


class TestPlausibility:
    """With a max_current, steps beyond what the meter could count are refused."""

    def test_budget_fills_with_our_time(self) -> None:
        """At 1 A, 90 As need 30 s more than the 60 s burst; a refusal changes nothing."""
        counter = ChargeCounter(max_current_ma=1000.0)
        counter.update(_m(10, 5_000.0), now=0.0)
        with pytest.raises(ImplausibleChargeError):
            counter.update(_m(11, 5_000.0 + 90_000.0), now=1.0)
        assert (counter.total_mas, counter.rejected) == (5_000.0, 1)
        counter.update(_m(40, 5_000.0 + 90_000.0), now=30.0)
        assert counter.total_mas == 95_000.0

    def test_many_small_forged_steps_add_up_to_the_bound(self) -> None:
        """A flood of steps each within the burst cannot exceed max_current over time."""
        counter = ChargeCounter(max_current_ma=1000.0)
        counter.update(_m(1, 0.0), now=0.0)
        charge, accepted = 0.0, 0
        for n in range(1, 1001):  # 1000 datagrams of 10 As within 10 s of our time
            try:
                counter.update(_m(1 + n, charge + 10_000.0), now=n / 100.0)
            except ImplausibleChargeError:
                continue
            charge += 10_000.0
            accepted += 1
        assert counter.total_mas <= 1000.0 * (60.0 + 10.0)
        assert accepted < 1000

    def test_not_finite_total(self) -> None:
        """A total that would overflow to infinity is refused even without a limit on steps."""
        counter = ChargeCounter(max_current_ma=1e308)
        counter.update(_m(1, 1.7e308), now=0.0)
        counter.update(_m(0.5, 1.0), now=1.0)  # a reboot: the offset takes 1.7e308
        with pytest.raises(ImplausibleChargeError):
            counter.update(_m(0.6, 1.7e308), now=2.0)
        assert math.isfinite(counter.total_mas)
