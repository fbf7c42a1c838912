"""A bounded fuzz run of every parser (``make fuzz`` runs a million inputs each)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from power_exporter import config as config_module
from power_exporter.errors import ConfigError
from tests.fuzz.targets import (
    TARGETS,
    config,
    dev_file,
    ecoflow_json,
    ecoflow_payload,
    nut_line,
    nut_variables,
)

if TYPE_CHECKING:
    from pathlib import Path

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REASONS: Counter[str] = Counter()

# Pieces of the real formats, so that inputs get past the first checks.
NUT_WORDS = st.sampled_from(
    [
        "VAR",
        "ups",
        "battery.charge",
        '"100"',
        '"a \\" b"',
        '"\\\\"',
        "\\",
        '"',
        "ERR",
        "#",
        " ",
        "\t",
    ]
)
DEV_LINES = st.sampled_from(
    [
        "battery.charge: 100",
        "ups.status: OL CHRG",
        'ups.mfr: "Ea ton"',
        "TIMER 5",
        "TIMER x",
        "# comment",
        "input.voltage: 230 # trailing",
        "a=b",
        "bad name: 1",
        '"unterminated',
        "x: \\",
        "",
    ]
)
YAML_LINES = st.sampled_from(
    [
        "devices:",
        "  - name: a",
        "    source: replay",
        "    source: nut",
        "    file: x.dev",
        "    ups: '*'",
        "    interval: 5s",
        "    interval: -1",
        "listen: ':9860'",
        "backoff_max: ${FUZZ}",
        "log_level: ${MISSING}",
        "- [",
        "  x: {",
        "&a [*a]",
        "!!python/object:os.system",
        "devices: 3",
    ]
)


@pytest.mark.parametrize("name", sorted(TARGETS))
@FAST
@given(data=st.binary(max_size=400))
def test_any_bytes(name: str, data: bytes) -> None:
    """Arbitrary bytes: accepted, or rejected with an allowed error; never a crash."""
    REASONS[f"{name}: {TARGETS[name](data)}"] += 1


@FAST
@given(st.lists(NUT_WORDS, max_size=12).map(" ".join))
def test_nut_lines_near_the_format(line: str) -> None:
    """Lines made of protocol words, quotes and escapes: the fast split equals the general one."""
    REASONS[f"nut_line: {nut_line(line.encode())}"] += 1


@FAST
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "battery.charge",
                "ups.status",
                "input.voltage",
                "battery.runtime",
                "ups.load",
                "ups.realpower.nominal",
            ]
        ),
        st.one_of(st.floats().map(repr), st.text(max_size=12)),
        max_size=6,
    )
)
def test_nut_values(variables: dict[str, str]) -> None:
    """Any values of known NUT variables: a Reading (bad values dropped) or a StaleError."""
    data = "\n".join(f"{k} {v}" for k, v in variables.items() if "\n" not in v)
    REASONS[f"nut_variables: {nut_variables(data.encode())}"] += 1


@FAST
@given(st.lists(DEV_LINES, max_size=10).map("\n".join))
def test_dev_files_near_the_format(text: str) -> None:
    """Dump files made of real and broken lines: a script or a DecodeError."""
    REASONS[f"dev_file: {dev_file(text.encode())}"] += 1


@FAST
@given(st.lists(YAML_LINES, max_size=10).map("\n".join))
def test_configs_near_the_format(text: str) -> None:
    """Config files made of real and broken lines: a Config or a ConfigError."""
    REASONS[f"config: {config(text.encode())}"] += 1


JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)


@FAST
@given(JSON)
def test_ecoflow_json_values(value: object) -> None:
    """Any JSON value through EcoFlow's flattening: leaves split, never a crash."""
    data = json.dumps({"params": value}).encode()
    REASONS[f"ecoflow_json: {ecoflow_json(data)}"] += 1
    REASONS[f"ecoflow_payload: {ecoflow_payload(data)}"] += 1


def test_rejections_are_counted_by_reason() -> None:
    """The runs above rejected inputs for named reasons, and accepted some (run last)."""
    if not REASONS:
        pytest.skip("run with the fuzz tests above")
    assert any(key.endswith(": accepted") for key in REASONS)
    assert any("Error:" in key for key in REASONS)


class TestFoundByFuzzing:
    """Inputs the fuzzers found crashing or hanging a parser, kept as regressions."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (b"&a [*a]", "an alias that contains itself"),
            (b"a: 1\n\x00", "unacceptable character"),
            (b"a: !!binary x", "failed to decode base64"),
            (b"a: !!python/object:os.system", "could not determine a constructor"),
            (b"\xff\xfe", "not UTF-8 text"),
            (
                b"a: &a [x,x,x,x,x,x,x,x,x,x]\n"
                + b"".join(
                    f"{c}: &{c} [{','.join([f'*{p}'] * 10)}]\n".encode()
                    for p, c in zip("abcdef", "bcdefg", strict=True)
                ),
                "aliases expanding out of hand",
            ),
        ],
    )
    def test_config(self, text: bytes, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each gives a ConfigError naming the problem (they raised other errors, or looped)."""
        monkeypatch.setattr(config_module, "MAX_NODES", 2000)  # the cap, reached sooner
        assert expected in config(text)

    @pytest.mark.parametrize("depth", [65, 999, 1001, 5000])
    def test_config_nested_too_deep(self, depth: int, tmp_path: Path) -> None:
        """Deep nesting is a ConfigError about depth, at any depth and with any YAML library.

        Our bound (MAX_DEPTH) answers first below the library's own; past the library's, its
        words are passed on (libyaml's limit, or Python's recursion limit without libyaml).
        """
        path = tmp_path / "deep.yaml"
        path.write_bytes(b"[" * depth + b"]" * depth)
        with pytest.raises(ConfigError) as caught:
            config_module.load(path, environ={})
        assert caught.value.file == str(path)
        assert re.search(r"deep|depth", caught.value.message), caught.value.message

    def test_config_at_our_depth_bound_is_parsed(self, tmp_path: Path) -> None:
        """A document exactly MAX_DEPTH levels deep gets past YAML (to the schema's complaint)."""
        depth = config_module.MAX_DEPTH
        path = tmp_path / "deep.yaml"
        path.write_bytes(b"[" * depth + b"]" * depth)
        with pytest.raises(ConfigError) as caught:
            config_module.load(path, environ={})
        assert not re.search(r"deep|depth", caught.value.message), caught.value.message

    def test_nut_line_is_linear(self) -> None:
        """A long line the fast split cannot take is refused at once (it was exponential)."""
        started = time.monotonic()
        assert nut_line(b"\xff\xff" + b"\xd6" * 5000 + b" \\") != ""
        assert time.monotonic() - started < 1.0
