"""Flattening quota JSON: dotted keys, array positions, numeric strings, limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from power_exporter.errors import DecodeError
from power_exporter.sources.ecoflow.flatten import FlatMap, coerce_number, flatten, leaves

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["12", "x", "", " 5 ", "nan"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner),
    max_leaves=6,
)
_PUSHES = st.lists(st.dictionaries(st.sampled_from(["pd.a", "pd.b", "inv.c"]), _VALUES), max_size=6)


class TestFlatten:
    """Leaves, numbers and text."""

    def test_nested_objects_and_arrays(self) -> None:
        """a.b, a[i], a[i].b, in document order."""
        value = {"a": {"b": 1}, "ids": [1, 2], "list": [{"id": 3}], "empty": {}, "none": []}
        assert list(leaves(value)) == [
            ("a.b", 1),
            ("ids[0]", 1),
            ("ids[1]", 2),
            ("list[0].id", 3),
        ]

    def test_quota_map_with_arrays(self) -> None:
        """Dotted quota keys stay; their arrays get positions."""
        flat = flatten({"bms_emsStatus.bmsIsConnt": [3, 0, 0], "pd.soc": 86})
        assert flat.numbers == {
            "bms_emsStatus.bmsIsConnt[0]": 3.0,
            "bms_emsStatus.bmsIsConnt[1]": 0.0,
            "bms_emsStatus.bmsIsConnt[2]": 0.0,
            "pd.soc": 86.0,
        }

    def test_numeric_strings_are_numbers(self) -> None:
        """EcoFlow's documented example sends "100"; it counts as 100."""
        flat = flatten(
            {"bmsMaster.soc": "100", "pd.remainTime": "14781", "x": " 3.5 ", "t": "2024-08-08"}
        )
        assert flat.numbers == {"bmsMaster.soc": 100.0, "pd.remainTime": 14781.0, "x": 3.5}
        assert flat.text == {"t": "2024-08-08"}

    def test_odd_values(self) -> None:
        """Booleans are 0/1; null, NaN strings and infinities are not numbers."""
        flat = flatten(
            {"on": True, "off": False, "n": None, "nan": "NaN", "inf": "inf", "big": 1e400}
        )
        assert flat.numbers == {"on": 1.0, "off": 0.0}
        assert flat.text == {"nan": "NaN", "inf": "inf"}
        assert flat.skipped == ["n", "big"]

    @pytest.mark.parametrize(
        ("value", "number"),
        [("1_000", None), ("", None), ("0x10", None), ("-5", -5.0), (7, 7.0), ([], None)],
    )
    def test_coerce_number(self, value: object, number: float | None) -> None:
        """Only plain decimal spellings coerce."""
        assert coerce_number(value) == number

    def test_too_deep(self) -> None:
        """A payload nested deeper than the limit is a DecodeError, not a RecursionError."""
        value: object = 1
        for _ in range(100_000):
            value = [value]
        with pytest.raises(DecodeError, match="nested deeper"):
            flatten({"x": value})

    def test_too_many_values(self) -> None:
        """More leaves than the limit is a DecodeError."""
        with pytest.raises(DecodeError, match="more than"):
            flatten({"x": list(range(30_000))})


class TestFlatMap:
    """A quota map merged one push at a time reads as the whole map flattened."""

    @given(_PUSHES)
    def test_same_as_flattening_the_merged_map(self, pushes: list[dict[str, object]]) -> None:
        """Numbers, text and array leaves: equal to flatten() of the merged dict, push by push."""
        merged: dict[str, object] = {}
        flat_map = FlatMap()
        for push in pushes:
            merged.update(push)
            flat_map.update(push)
            whole = flatten(merged)
            assert flat_map.numbers == whole.numbers
            assert flat_map.text == whole.text

    def test_a_shorter_array_leaves_no_old_positions(self) -> None:
        """``bmsIsConnt: [3, 0, 0]`` then ``[1]``: only ``[0]`` remains."""
        flat_map = FlatMap()
        flat_map.update({"bms_emsStatus.bmsIsConnt": [3, 0, 0]})
        flat_map.update({"bms_emsStatus.bmsIsConnt": [1]})
        assert flat_map.numbers == {"bms_emsStatus.bmsIsConnt[0]": 1.0}
