"""Flatten EcoFlow JSON into dotted keys, as EcoFlow's signature and quota keys spell them.

``{"a": {"b": 1}}`` becomes ``a.b``, ``{"ids": [1, 2]}`` becomes ``ids[0]``, ``ids[1]``, and
``{"list": [{"id": 1}]}`` becomes ``list[0].id`` (EcoFlow's developer documentation spells
nested request parameters this way). Quota maps are already dotted (``bms_bmsStatus.soc``)
but may hold arrays (``bms_emsStatus.bmsIsConnt: [3, 0, 0]``), which flatten the same way.

EcoFlow's own documentation returns quota values as strings (``"100"``), so numeric strings
are coerced to numbers; other strings are kept as text. Limits on depth and on the number
of leaves keep a malformed or hostile payload from costing more than it is worth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from power_exporter.errors import DecodeError

if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_DEPTH: Final = 32
MAX_LEAVES: Final = 20_000

Scalar = str | int | float | bool | None


def coerce_number(value: object) -> float | None:
    """A JSON value as a finite number: numbers, booleans (0/1) and numeric strings."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        # float() also reads "nan", "inf" and "1_000"; none of those is a quota value.
        if not text or "_" in text or text.lower().lstrip("+-") in {"nan", "inf", "infinity"}:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def leaves(
    value: object, prefix: str = "", *, max_depth: int = MAX_DEPTH, max_leaves: int = MAX_LEAVES
) -> Iterator[tuple[str, Scalar]]:
    """Yield ``(dotted key, scalar)`` for every leaf of a JSON value, in document order.

    Raises :class:`DecodeError` when the value nests deeper than ``max_depth`` or has more
    than ``max_leaves`` leaves. An empty object or array yields nothing.
    """
    count = 0
    # An explicit stack instead of recursion: depth is bounded by us, not by Python.
    stack: list[tuple[str, object, int]] = [(prefix, value, 0)]
    while stack:
        key, node, depth = stack.pop()
        if isinstance(node, Mapping | list):
            if depth >= max_depth:
                raise DecodeError(f"JSON nested deeper than {max_depth} levels at {key!r}")
            children: list[tuple[str, object]]
            if isinstance(node, Mapping):
                children = [
                    (f"{key}.{name}" if key else str(name), child) for name, child in node.items()
                ]
            else:
                children = [(f"{key}[{index}]", child) for index, child in enumerate(node)]
            stack.extend((name, child, depth + 1) for name, child in reversed(children))
            continue
        count += 1
        if count > max_leaves:
            raise DecodeError(f"JSON has more than {max_leaves} values")
        if isinstance(node, str | int | float | bool) or node is None:
            yield key, node
        else:  # pragma: no cover - json.loads produces nothing else
            yield key, str(node)


@dataclass(slots=True)
class Flat:
    """A flattened payload: numeric values, text values, and the keys of neither."""

    numbers: dict[str, float] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def flatten(value: object, prefix: str = "") -> Flat:
    """Split a JSON value's leaves into numbers (numeric strings coerced) and text.

    ``null`` values and non-finite numbers go to ``skipped``.
    """
    flat = Flat()
    for key, leaf in leaves(value, prefix):
        number = coerce_number(leaf)
        if number is not None:
            flat.numbers[key] = number
        elif isinstance(leaf, str):
            flat.text[key] = leaf
        else:
            flat.skipped.append(key)
    return flat


@dataclass(slots=True)
class FlatMap:
    """A device's quota map kept flattened, merged one partial push at a time.

    A push replaces some top-level keys; each key's leaves (an array gives ``key[0]``...)
    replace the ones that key gave before, so only the push is flattened, never the whole
    map again (a DELTA 2 has 178 keys; a push a few dozen).
    """

    numbers: dict[str, float] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    _nested: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def update(self, values: Mapping[str, object]) -> None:
        """Merge top-level keys; raises :class:`DecodeError` as :func:`flatten` does."""
        numbers, text, nested = self.numbers, self.text, self._nested
        for key, value in values.items():
            if key in nested:
                for old in nested.pop(key):
                    numbers.pop(old, None)
                    text.pop(old, None)
            kind = type(value)
            if kind is int or kind is float:  # the common case first (a bool is neither)
                number = float(value)  # type: ignore[arg-type]
                if math.isfinite(number):
                    numbers[key] = number
                    if key in text:
                        del text[key]
                    continue
            self._other(key, value)
        if len(numbers) + len(text) > MAX_LEAVES:
            raise DecodeError(f"JSON has more than {MAX_LEAVES} values")

    def _other(self, key: str, value: object) -> None:
        """A value that is not a finite number: an object or array, text, a bool, or null."""
        numbers, text = self.numbers, self.text
        numbers.pop(key, None)
        text.pop(key, None)
        if isinstance(value, dict | list):
            flat = flatten(value, key)
            numbers.update(flat.numbers)
            text.update(flat.text)
            self._nested[key] = (*flat.numbers, *flat.text)
            return
        number = coerce_number(value)
        if number is not None:
            numbers[key] = number
        elif isinstance(value, str):
            text[key] = value


def _param_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def sorted_params(params: Mapping[str, object]) -> list[tuple[str, str]]:
    """Request parameters as EcoFlow signs them: keys sorted at every level, then flattened.

    Arrays keep their order (``ids[0]``, ``ids[1]``, ... ``ids[10]``); booleans are spelled
    ``true``/``false``.
    """

    def ordered(node: object) -> object:
        if isinstance(node, Mapping):
            return {str(key): ordered(node[key]) for key in sorted(node, key=str)}
        if isinstance(node, list):
            return [ordered(item) for item in node]
        return node

    return [(key, _param_text(leaf)) for key, leaf in leaves(ordered(params))]
