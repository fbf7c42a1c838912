"""Fuzz targets: every parser of outside data, fed arbitrary bytes.

Each target takes bytes and returns ``"accepted"`` or the reason it rejected them, from the
errors the parser is allowed to raise (a ``DecodeError``, a ``ConfigError``...). Any other
exception escapes: that is a crash, a bug. The same targets run a few hundred inputs each in
``make test`` (tests/fuzz/test_fuzz.py, hypothesis) and a million each in ``make fuzz``
(bench/fuzz.py, atheris, coverage-guided).
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from power_exporter.config import load
from power_exporter.errors import ConfigError, DecodeError, SourceError
from power_exporter.sources.apcupsd.naming import APCUPSD_NAMING
from power_exporter.sources.apcupsd.protocol import FrameBuffer, parse_events, parse_status
from power_exporter.sources.apcupsd.table import apcupsd_reading
from power_exporter.sources.ecoflow import envelope
from power_exporter.sources.ecoflow.envelope import PayloadError
from power_exporter.sources.ecoflow.flatten import flatten
from power_exporter.sources.nut import lines
from power_exporter.sources.nut.reading import nut_reading
from power_exporter.sources.replay.devfile import parse_dev
from power_exporter.sources.tripplite import reports
from power_exporter.sources.tripplite.table import REPORTS
from power_exporter.sources.udp_meter.protocol import MeasurementError, decode_measurement

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_DIGITS = re.compile(r"(?<![-\w])\d+\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_FILE = re.compile(r"^(?:\S*\.(?:yaml|dev):(?:\d+:)?\s*|report \d+ \([^)]*\): )")
_EXCERPT = re.compile(r":\s+(?=['\"]|[0-9a-f]{2}(?: [0-9a-f]{2})*$|\d+ bytes)")


def reason(exc: Exception) -> str:
    """A rejection reason without the input's bytes: the error's class and its message's gist."""
    if isinstance(exc, PayloadError):
        return f"PayloadError: {exc.why}"  # its own word for counting
    if isinstance(exc, MeasurementError):
        return f"MeasurementError: {exc.problem}"
    message = (exc.message if isinstance(exc, ConfigError) else str(exc)).split("\n", 1)[0]
    message = _FILE.sub("", message)  # "fuzz.yaml:3: field:" and "report 24 (input.voltage): "
    message = _EXCERPT.split(message, maxsplit=1)[0]  # what follows ": '...", ": 0a ff"...
    if message[:1] in {"'", '"'}:  # "'x y' is not a NUT variable name"
        message = "… " + message.rsplit("' ", 1)[-1]
    message = _QUOTED.sub("'…'", _DIGITS.sub("N", message))
    return f"{type(exc).__name__}: {message[:80]}"


def nut_line(data: bytes) -> str:
    """One line from upsd: decode, split into words; the fast path must agree with the slow."""
    try:
        words = lines.split_words(lines.decode_line(data))
    except DecodeError as exc:
        return reason(exc)
    text = lines.decode_line(data).rstrip(" \t")
    if lines._SIMPLE_LINE.fullmatch(text):
        # A trailing escaped backslash forces the general path; it adds one word, dropped here.
        general = lines.split_words(text + " \\\\")[:-1]
        assert general == words, (text, words, general)
    return "accepted"


def nut_variables(data: bytes) -> str:
    """A UPS's variables as ``LIST VAR`` gives them, through the NUT tables into a Reading."""
    variables: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(" ")
        variables[name] = value
    try:
        nut_reading("fuzz", "nut", variables, 1.0)
    except SourceError as exc:
        return reason(exc)
    return "accepted"


def dev_file(data: bytes) -> str:
    """A .dev/.seq dump file."""
    try:
        parse_dev(data.decode("utf-8", "replace"), "fuzz.dev")
    except DecodeError as exc:
        return reason(exc)
    return "accepted"


_SHM: Final = "/dev/shm"
_CONFIG_DIR: Final = Path(
    tempfile.mkdtemp(prefix="fuzz-config-", dir=_SHM if os.path.isdir(_SHM) else None)  # noqa: PTH112
)


def config(data: bytes) -> str:
    """A YAML configuration file: a Config or a ConfigError, never anything else."""
    path = _CONFIG_DIR / "fuzz.yaml"
    path.write_bytes(data)
    try:
        load(path, environ={"FUZZ": "x"})
    except ConfigError as exc:
        return reason(exc)
    return "accepted"


class _Replies:
    """A HID handle answering each feature report with the next slice of the input."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_feature_report(self, report_id: int, length: int) -> bytes:
        """Take a control byte, then the reply.

        Bit 7 set sends the bytes as they are (any id), clear puts the right report id in
        front; the control byte also chooses the reply's length.
        """
        if not self.data:
            return b""
        control, rest = self.data[0], self.data[1:]
        size = control % (length + 3)
        reply, self.data = rest[:size], rest[size:]
        return reply if control & 0x80 else bytes([report_id]) + reply


def hid_reports(data: bytes) -> str:
    """Feature report replies of a TrippLite UPS, decoded into the seed's state and measures."""
    try:
        state = reports.read_state(_Replies(data), "fuzz")  # type: ignore[arg-type]
    except (DecodeError, OSError) as exc:
        return reason(exc)
    raw = reports.raw_values(state)
    reports.measures_of(raw)
    reports.flags_of(raw)
    assert len(raw) >= len(REPORTS)
    return "accepted"


def udp_datagram(data: bytes) -> str:
    """One UDP meter datagram (protobuf): a checked Measurement or a MeasurementError."""
    try:
        measurement = decode_measurement(data)
    except MeasurementError as exc:
        return reason(exc)
    assert math.isfinite(measurement.charge_mas), data
    assert math.isfinite(measurement.current_ma), data
    return "accepted"


def ecoflow_payload(data: bytes) -> str:
    """One EcoFlow MQTT payload: JSON, or a protobuf envelope (raw or base64), decoded."""
    try:
        decoded = envelope.decode(data)
    except PayloadError as exc:
        return reason(exc)
    if isinstance(decoded, envelope.JsonPayload):
        flatten(decoded.document)  # what the source does with it next
    return "accepted"


def ecoflow_json(data: bytes) -> str:
    """Any JSON value through EcoFlow's flattening (depth and size limits included)."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "not JSON (not the flattener's to refuse)"
    try:
        flat = flatten(value)
    except DecodeError as exc:
        return reason(exc)
    assert all(math.isfinite(number) for number in flat.numbers.values())
    return "accepted"


def apcupsd_reply(data: bytes) -> str:
    """Bytes from an apcupsd NIS: frames (cut anywhere, same replies), status, Reading, raw."""
    whole = FrameBuffer()
    try:
        whole.feed(data)
    except DecodeError as exc:
        return reason(exc)
    replies = whole.take()
    cut = FrameBuffer()
    for position in range(0, len(data), 7):
        cut.feed(data[position : position + 7])
    assert cut.take() == replies, "framing depends on how the bytes arrive"
    if not replies:
        return "no complete reply"
    try:
        status = parse_status(replies[0])
        events = parse_events(replies[1]) if len(replies) > 1 else []
        reading, _problems = apcupsd_reading("fuzz", status, events, 1.0)
    except SourceError as exc:
        return reason(exc)
    assert all(math.isfinite(sample.value) for sample in APCUPSD_NAMING.samples(reading))
    return "accepted"


TARGETS: Final[Mapping[str, Callable[[bytes], str]]] = {
    "nut_line": nut_line,
    "nut_variables": nut_variables,
    "dev_file": dev_file,
    "config": config,
    "hid_reports": hid_reports,
    "udp_datagram": udp_datagram,
    "ecoflow_payload": ecoflow_payload,
    "ecoflow_json": ecoflow_json,
    "apcupsd_reply": apcupsd_reply,
}
