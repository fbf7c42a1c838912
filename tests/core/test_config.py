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
    (
        "devices:\n  - name: a\n    source: teapot\n",
        3,
        "devices[0].source",
        "unknown source 'teapot': use one of scripted",
    ),
    (
        "devices:\n  - name: a\n    interval: 5s\n",
        2,
        "devices[0].source",
        "which source reads this device? one of scripted",
    ),
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
    (
        "log_level: chatty\n",
        1,
        "log_level",
        "'chatty' is not a log level: use debug, info, warning, error or critical",
    ),
    (
        "listen: 9871\n",
        1,
        "listen",
        "quote it",
    ),
    ("listen: nowhere\n", 1, "listen", "'nowhere' is not an address to listen on"),
    ("devices: []\n", 1, "devices", "no devices configured"),
    ("listen: ':9999'\ndevices:\n", 2, "devices", "no devices configured"),
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
        "a name is one word, without spaces or '/'",
    ),
    (
        "devices:\n  - name: a\n    source: scripted\n    intervall: 5s\n",
        4,
        "devices[0].intervall",
        "unknown key (did you mean interval?)",
    ),
]


class TestLoad:
    def test_a_fleet_sized_file(self, tmp_path: Path) -> None:
        """30,000 devices (some 120,000 values) load: only values built through aliases count."""
        lines = ["devices:"]
        for i in range(30_000):
            lines += [f"  - name: ups-{i}", "    source: scripted", "    interval: 30s"]
        cfg = load(write(tmp_path, "\n".join(lines) + "\n"))
        assert len(cfg.devices) == 30_000
        assert cfg.devices[-1].name == "ups-29999"

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
        text = "listen: ${HOST:-0.0.0.0}:${PORT}\ndevices:\n  - name: a\n    source: scripted\n"
        cfg = load(write(tmp_path, text), environ={"PORT": "9100"})
        assert cfg.settings.listen == "0.0.0.0:9100"

    def test_a_missing_file(self, tmp_path: Path) -> None:
        """A file that cannot be read is a ConfigError naming it."""
        with pytest.raises(ConfigError, match="cannot read"):
            load(tmp_path / "nope.yaml")

    def test_an_empty_file_has_nothing_to_serve(self, tmp_path: Path) -> None:
        """An empty file is an error naming the file (and no placeholder, no --config hint)."""
        path = write(tmp_path, "")
        with pytest.raises(ConfigError) as caught:
            load(path)
        assert str(caught.value).startswith(f"{path}: no devices configured")
        assert "--config" not in str(caught.value)
        assert caught.value.line is None

    def test_a_bare_number_is_seconds(self, tmp_path: Path) -> None:
        """``interval: 15`` is 15 seconds, as the README says."""
        cfg = load(
            write(
                tmp_path,
                "devices:\n  - name: a\n    source: scripted\n    interval: 15\n    timeout: 2\n",
            )
        )
        assert (cfg.devices[0].interval, cfg.devices[0].timeout) == (15.0, 2.0)


class TestEveryProblem:
    def test_every_problem_of_a_file_at_once(self, tmp_path: Path) -> None:
        """All problems are reported together, in the order of the file, each located."""
        text = (
            "log_level: verbose\n"  # 1
            "listen: 9871\n"  # 2
            "devices:\n"  # 3
            "  - name: a\n"  # 4
            "    source: scripted\n"  # 5
            "    interval: soon\n"  # 6
            "    timeout: ${UNSET_HERE}\n"  # 7
            "  - name: b\n"  # 8
            "    source: teapot\n"  # 9
            "  - name: a\n"  # 10
            "    source: scripted\n"  # 11
            "  - name: c\n"  # 12
            "    source: scripted\n"  # 13
            "    colour: red\n"  # 14
        )
        path = write(tmp_path, text)
        with pytest.raises(ConfigError) as caught:
            load(path, environ={})
        found = [(p.line, p.field) for p in caught.value.problems]
        assert found == [
            (1, "log_level"),
            (2, "listen"),
            (6, "devices[0].interval"),
            (7, "devices[0].timeout"),
            (9, "devices[1].source"),
            (14, "devices[3].colour"),
        ]
        lines = str(caught.value).splitlines()
        assert len(lines) == len(found)
        assert all(line.startswith(f"{path}:") for line in lines)
        # the first problem's location stays on the error itself
        assert (caught.value.line, caught.value.field) == (1, "log_level")

    def test_an_unset_variable_is_said_once(self, tmp_path: Path) -> None:
        """An unset ${VAR} is its own problem, not also a bad value of the key."""
        path = write(
            tmp_path, "devices:\n  - name: a\n    source: scripted\n    interval: ${UNSET_HERE}\n"
        )
        with pytest.raises(ConfigError) as caught:
            load(path, environ={})
        assert [p.message for p in caught.value.problems] == [
            "environment variable UNSET_HERE is not set"
        ]

    def test_a_name_used_twice_among_other_problems(self, tmp_path: Path) -> None:
        """A duplicate device name is found even when another device is bad too."""
        text = (
            "devices:\n"
            "  - {name: a, source: scripted}\n"
            "  - {name: b, source: scripted, interval: x}\n"
            "  - {name: a, source: scripted}\n"
        )
        with pytest.raises(ConfigError) as caught:
            load(write(tmp_path, text))
        assert [(p.line, p.field) for p in caught.value.problems] == [
            (3, "devices[1].interval"),
            (4, "devices[2].name"),
        ]


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
