"""Configuration: one bad file per error, each naming file, line and field."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter import config as config_module
from power_exporter.config import load
from power_exporter.errors import ConfigError
from power_exporter.sources.base import parse_duration
from tests import scripted

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def _scripted_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "KINDS", scripted.KINDS)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "power.yaml"
    path.write_text(text)
    return path


GOOD = """\
listen: "127.0.0.1:9999"
devices:
  - name: ups-a
    source: scripted
    interval: 30s
    timeout: 2500ms
  - name: ups-b
    source: scripted
"""

# (file text, line, field, words in the message)
BAD = [
    (
        "devices:\n  - name: a\n    source: scripted\n    interval: soon\n",
        4,
        "devices[0].interval",
        "not a duration",
    ),
    (
        "devices:\n  - name: a\n    source: scripted\n    colour: red\n",
        4,
        "devices[0].colour",
        "unknown key",
    ),
    ("devices:\n  - source: scripted\n", 2, "devices[0].name", "required"),
    ("devices:\n  - name: a\n    source: teapot\n", 3, "devices[0].source", "unknown or missing"),
    (
        "devices:\n  - name: a\n    source: scripted\n  - name: a\n    source: scripted\n",
        4,
        "devices[1].name",
        "used twice",
    ),
    ("listen: [1\n", 2, "", "not valid YAML"),
    (
        "devices:\n  - name: a\n    source: scripted\n    interval: -3\n",
        4,
        "devices[0].interval",
        "positive",
    ),
    ("log_level: chatty\n", 1, "log_level", "String should match"),
    (
        "devices:\n  - name: a\n    source: scripted\n    timeout: ${NOPE_NOT_SET}\n",
        4,
        "devices[0].timeout",
        "NOPE_NOT_SET is not set",
    ),
    ("devices: 3\n", 1, "devices", "must be a list"),
    (
        "devices:\n  - name: a\n    name: b\n    source: scripted\n",
        3,
        "devices[0].name",
        "duplicate key",
    ),
    (
        "devices:\n  - name: has space\n    source: scripted\n",
        2,
        "devices[0].name",
        "String should match",
    ),
]


class TestLoad:
    def test_a_good_file(self, tmp_path: Path) -> None:
        """Durations parse, defaults apply, order is kept."""
        cfg = load(write(tmp_path, GOOD))
        assert cfg.settings.listen == "127.0.0.1:9999"
        assert [(d.name, d.interval, d.timeout) for d in cfg.devices] == [
            ("ups-a", 30.0, 2.5),
            ("ups-b", 15.0, 10.0),
        ]

    @pytest.mark.parametrize(("text", "line", "field", "words"), BAD)
    def test_bad_files_name_file_line_and_field(
        self, tmp_path: Path, text: str, line: int, field: str, words: str
    ) -> None:
        """Each bad file raises one ConfigError pointing at the offending spot."""
        path = write(tmp_path, text)
        with pytest.raises(ConfigError) as caught:
            load(path, environ={})
        error = caught.value
        assert error.file == str(path)
        assert error.line == line
        assert error.field == field
        assert words in error.message
        assert str(error).startswith(f"{path}:{line}:")

    def test_environment_interpolation(self, tmp_path: Path) -> None:
        """${VAR} and ${VAR:-default} expand inside strings."""
        text = "listen: ${HOST:-0.0.0.0}:${PORT}\n"
        cfg = load(write(tmp_path, text), environ={"PORT": "9100"})
        assert cfg.settings.listen == "0.0.0.0:9100"

    def test_a_missing_file(self, tmp_path: Path) -> None:
        """A file that cannot be read is a ConfigError naming it."""
        with pytest.raises(ConfigError, match="cannot read"):
            load(tmp_path / "nope.yaml")

    def test_an_empty_file_has_no_devices(self, tmp_path: Path) -> None:
        """An empty file is valid and configures nothing."""
        assert load(write(tmp_path, "")).devices == ()


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("30s", 30.0),
            ("5m", 300.0),
            ("1.5h", 5400.0),
            ("250ms", 0.25),
            (7, 7.0),
            ("1d", 86400.0),
        ],
    )
    def test_forms(self, text: object, seconds: float) -> None:
        """Every documented form of a duration."""
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "5 parsecs", True, "0s", None])
    def test_rejects(self, text: object) -> None:
        """Nonsense is refused with a message."""
        with pytest.raises(ValueError, match="duration"):
            parse_duration(text)
