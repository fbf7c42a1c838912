"""Device totals that reset become counters that never go back."""

from __future__ import annotations

import itertools
import math

from power_exporter.sources.monotonic import MAX_KEYS, Total, Totals


class TestTotal:
    def test_growing_total_is_taken_as_it_is(self) -> None:
        """Without a reset the counter is the device's value."""
        total = Total()
        assert [total.update(v) for v in (10.0, 12.5, 30.0)] == [10.0, 12.5, 30.0]
        assert total.resets == 0

    def test_reset_carries_on(self) -> None:
        """A value below the last one is a new count from zero, added to what was counted."""
        total = Total()
        values = [100.0, 250.0, 300.0, 20.0, 80.0, 5.0, 15.0]
        counters = [total.update(v) for v in values]
        assert counters == [100.0, 250.0, 300.0, 320.0, 380.0, 385.0, 395.0]
        assert total.resets == 2
        assert all(b >= a for a, b in itertools.pairwise(counters))

    def test_zero_is_no_news(self) -> None:
        """A 0 (proto3 absence, a stale cache) then the old value again counts nothing twice."""
        total = Total()
        assert [total.update(v) for v in (500.0, 0.0, 500.0, 510.0)] == [500.0] * 3 + [510.0]
        assert total.resets == 0

    def test_non_finite_is_ignored(self) -> None:
        """NaN and infinities leave the counter as it was."""
        total = Total()
        total.update(7.0)
        assert total.update(math.nan) == 7.0
        assert total.update(math.inf) == 7.0


class TestTotals:
    def test_absent_key_keeps_its_part(self) -> None:
        """A total that stops coming (a pack unplugged) keeps what it counted."""
        totals = Totals()
        assert totals.update({"a": 5.0, "b": 7.0}) == {"a": 5.0, "b": 7.0}
        assert totals.update({"a": 6.0}) == {"a": 6.0, "b": 7.0}

    def test_keys_are_bounded(self) -> None:
        """A device cannot make us keep more than MAX_KEYS totals."""
        totals = Totals()
        counters = totals.update({f"k{i}": 1.0 for i in range(MAX_KEYS + 10)})
        assert len(counters) == MAX_KEYS

    def test_resets_are_counted(self) -> None:
        """Resets are counted per key and in all."""
        totals = Totals()
        totals.update({"a": 5.0, "b": 5.0})
        totals.update({"a": 1.0, "b": 6.0})
        assert totals.resets() == 1
        assert totals.resets(["b"]) == 0
        assert totals.resets(["missing"]) == 0
