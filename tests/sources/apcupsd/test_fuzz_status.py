"""A bounded fuzz run of the NIS framing and status parser with inputs near the real format.

Arbitrary bytes go through the same target in tests/fuzz (``make fuzz`` runs it a million
times with atheris); here hypothesis builds framed replies from real keys and odd values, so
that inputs get past the framing to the table.
"""

from __future__ import annotations

import struct
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import apcupsd_reply

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = st.sampled_from(
    [
        "APC",
        "STATUS",
        "STATFLAG",
        "LINEV",
        "LOADPCT",
        "BCHARGE",
        "TIMELEFT",
        "XONBATT",
        "BATTDATE",
        "NOMPOWER",
        "DRIVER",
        "NEWKEY",
        "END APC",
    ]
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "ONLINE ",
            "SHUTTING DOWN",
            "COMMLOST",
            "0x05040010 Status Flag",
            "0xFFFFFFFFFFFFFFFF",
            "17.0 Percent Load Capacity",
            "1e999 Volts",
            "-0.0 Minutes",
            "N/A",
            "Thu Feb 30 01:34:21 PST 2012",
            "2026-13-45 99:99:99 +9999",
            "99/99/99",
            "TEST UPS Driver",
        ]
    ),
    st.floats().map(lambda x: f"{x!r} Volts"),
    st.text(max_size=20),
)
SEEN: Counter[str] = Counter()


def framed(lines: list[str]) -> bytes:
    """Lines as one NIS reply (status), then an empty events reply."""
    out = b""
    for line in lines:
        payload = line.encode("utf-8", "surrogatepass")[:0xFFFF]
        out += struct.pack(">H", len(payload)) + payload
    return out + b"\x00\x00\x00\x00"


@FAST
@given(st.lists(st.tuples(KEYS, VALUES), max_size=15))
def test_status_near_the_format(pairs: list[tuple[str, str]]) -> None:
    """Any status made of real keys and odd values: a Reading or a named rejection."""
    lines = ["APC      : 001,001,0001\n"] + [f"{key:<9}: {value}\n" for key, value in pairs]
    SEEN[apcupsd_reply(framed(lines))] += 1


def test_some_accepted() -> None:
    """The run above got past the parser to a Reading at least once (run last)."""
    if not SEEN:
        pytest.skip("run with the test above")
    assert SEEN["accepted"] > 0, SEEN
