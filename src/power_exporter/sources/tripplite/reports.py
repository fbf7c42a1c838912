"""Reading and decoding the feature reports of :mod:`.table`, byte for byte as the seed did.

A read asks each report with ``get_feature_report(id, size + 1)``. Byte 0 of the reply must
be the report id, or the read fails with :class:`DecodeError`; an empty reply is asked again
up to ``EMPTY_RETRIES`` times, then the read fails with ``OSError`` as the seed's did (so the
device is closed and reopened). Bytes beyond the ones a report needs are ignored.

The decoded *state* is the seed's JSON structure: ``{"config": {...}, "device_id": path,
"health": ..., "input": {...}, "output": {...}, "status": {...}, "time to empty": ...}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final, TypeAlias

from power_exporter.errors import DecodeError
from power_exporter.model import Measure, checked_measures
from power_exporter.sources.tripplite import status
from power_exporter.sources.tripplite.table import (
    DEVICE_ID,
    EMPTY_RETRIES,
    MEASURES,
    REPORTS,
    STATUS_BITS,
    Coding,
    Report,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from power_exporter.sources.tripplite.transport import HidHandle

# The status flags are worked out in .status; reports.flags_of stays for callers of old.
flags_of: Final = status.flags_of

Value: TypeAlias = int | float | bool | str | dict[str, "Value"]
State: TypeAlias = dict[str, Value]
"""The seed's JSON structure of one UPS."""


def _status(number: int) -> Value:
    bits: dict[str, Value] = {row.key: bool(number >> row.bit & 1) for row in STATUS_BITS}
    return bits


_DECODERS: Final[Mapping[Coding, Callable[[int], Value]]] = {
    Coding.INT: int,
    Coding.TENTHS: lambda number: number / 10.0,
    Coding.BITS: _status,
}


def describe(report: Report) -> str:
    """``report 24 (input.voltage)``, for messages."""
    return f"report {report.report_id} ({report.name})"


def decode(report: Report, reply: bytes) -> Value:
    """The value of one non-empty reply to ``report``."""
    if reply[0] != report.report_id:
        raise DecodeError(
            f"{describe(report)}: unexpected reply for report {reply[0]}: {reply.hex(' ')}"
        )
    if len(reply) < report.length:
        raise DecodeError(
            f"{describe(report)}: {len(reply)} bytes, {report.length} expected: {reply.hex(' ')}"
        )
    number = int.from_bytes(reply[1 : report.length], "little")
    return _DECODERS[report.coding](number)


def read_report(handle: HidHandle, report: Report) -> Value:
    """Ask one report (again while the reply is empty) and decode it."""
    for _ in range(EMPTY_RETRIES + 1):
        reply = handle.get_feature_report(report.report_id, report.length)
        if reply:
            return decode(report, reply)
    raise OSError(f"{describe(report)}: no data in {EMPTY_RETRIES + 1} replies")


def _put(state: State, path: tuple[str, ...], value: Value) -> None:
    target = state
    for part in path[:-1]:
        inner = target.setdefault(part, {})
        if not isinstance(inner, dict):  # pragma: no cover (the table has no such clash)
            raise TypeError(f"{part} is both a value and a group")
        target = inner
    target[path[-1]] = value


def read_state(handle: HidHandle, path: str) -> State:
    """Read every report of one UPS into the seed's JSON structure (blocking), all or none."""
    state: State = {DEVICE_ID: path}
    for report in REPORTS:
        _put(state, report.path, read_report(handle, report))
    return state


def read_partial(handle: HidHandle, path: str) -> tuple[State, list[DecodeError]]:
    """Read every report, keeping those that decode; the others' errors come back.

    A reply that does not decode (short, or for another report) loses that report only.
    An ``OSError`` (the device gone, no data after the retries) still ends the read.
    """
    state: State = {DEVICE_ID: path}
    missing: list[DecodeError] = []
    for report in REPORTS:
        try:
            _put(state, report.path, read_report(handle, report))
        except DecodeError as exc:
            missing.append(exc)
    return state, missing


def _get(state: Mapping[str, Value], path: tuple[str, ...]) -> Value | None:
    value: Value = dict(state)
    for part in path:
        if not isinstance(value, dict):
            raise TypeError(f"no {'.'.join(path)} in the state")
        if part not in value:
            return None
        value = value[part]
    return value


def raw_values(state: State) -> dict[str, float]:
    """Every numeric value read under its native name (status bits as 0/1)."""
    raw: dict[str, float] = {}
    for report in REPORTS:
        value = _get(state, report.path)
        if isinstance(value, dict):
            for row in STATUS_BITS:
                raw[f"{report.name}.{row.key}"] = 1.0 if value[row.key] else 0.0
        elif isinstance(value, int | float):
            raw[report.name] = float(value)
    return raw


def _status_from_raw(raw: Mapping[str, float], name: str) -> Value:
    bits: dict[str, Value] = {row.key: raw[f"{name}.{row.key}"] != 0 for row in STATUS_BITS}
    return bits


# A raw value is a float; the seed printed integers as integers and tenths as floats.
_REBUILDERS: Final[Mapping[Coding, Callable[[Mapping[str, float], str], Value]]] = {
    Coding.INT: lambda raw, name: int(raw[name]),
    Coding.TENTHS: lambda raw, name: raw[name],
    Coding.BITS: _status_from_raw,
}


def _was_read(raw: Mapping[str, float], report: Report) -> bool:
    if report.coding is Coding.BITS:
        return all(f"{report.name}.{row.key}" in raw for row in STATUS_BITS)
    return report.name in raw


def state_from_raw(raw: Mapping[str, float], text: Mapping[str, str]) -> State:
    """The seed's JSON structure again, from a reading's raw values and text.

    A report a partial poll could not read is left out (the seed printed nothing at all).
    """
    state: State = {DEVICE_ID: text.get(DEVICE_ID, "")}
    for report in REPORTS:
        if _was_read(raw, report):
            _put(state, report.path, _REBUILDERS[report.coding](raw, report.name))
    return state


def seed_json(states: Sequence[State]) -> str:
    """What the seed's ``tripplite`` command printed: one object, or a list for several."""
    document: Value | list[State] = states[0] if len(states) == 1 else list(states)
    return json.dumps(document, indent=4, sort_keys=True)


def measures_of(
    raw: Mapping[str, float], divisors: Mapping[str, float] | None = None
) -> tuple[dict[Measure, float], list[str]]:
    """The normalized measures (``divisors``: a product's extra ones), and why any was dropped."""
    extra = divisors or {}
    return checked_measures(
        (field.measure, raw[name] / field.divisor / extra.get(name, 1.0))
        for name, field in MEASURES.items()
        if name in raw
    )
