"""Configuration messages written for people, with the real source kinds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.config import load
from power_exporter.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def problems(tmp_path: Path, text: str) -> list[ConfigError]:
    """Every problem ``load`` finds in a file holding ``text``."""
    path = tmp_path / "power.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert all(problem.file == str(path) for problem in caught.value.problems)
    return list(caught.value.problems)


class TestMessages:
    def test_a_number_where_a_string_goes_says_quote_it(self, tmp_path: Path) -> None:
        """``ups: 1500`` is a UPS named 1500 that YAML read as a number: say how to write it."""
        found = problems(tmp_path, "devices:\n  - name: a\n    source: nut\n    ups: 1500\n")
        assert [(p.line, p.field, p.message) for p in found] == [
            (4, "devices[0].ups", 'a string is expected: quote it: ups: "1500"')
        ]

    def test_a_numeric_password_is_not_echoed(self, tmp_path: Path) -> None:
        """The quoting hint for a secret key never repeats the secret."""
        text = (
            "devices:\n  - name: a\n    source: nut\n    ups: u\n"
            "    username: mon\n    password: 918273\n"
        )
        found = problems(tmp_path, text)
        assert [(p.line, p.field) for p in found] == [(6, "devices[0].password")]
        assert "quote it" in found[0].message
        assert "918273" not in str(found[0])

    def test_an_unknown_source_lists_the_sources(self, tmp_path: Path) -> None:
        """No ``source:`` names every source that exists."""
        (found,) = problems(tmp_path, "devices:\n  - name: a\n    ups: x\n")
        assert found.field == "devices[0].source"
        for kind in ("ecoflow", "nut", "replay", "tripplite", "udp_meter"):
            assert kind in found.message
        assert "None" not in found.message

    def test_a_missing_password_file_points_at_its_key(self, tmp_path: Path) -> None:
        """An unreadable ``password_file`` is reported at that key's line, not the item's."""
        text = (
            "devices:\n"
            "  - name: a\n"  # 2: the item
            "    source: nut\n"
            "    ups: u\n"
            "    username: mon\n"
            "    password_file: absent-secret\n"  # 6: the key
        )
        (found,) = problems(tmp_path, text)
        assert (found.line, found.field) == (6, "devices[0].password_file")
        assert f"cannot read {tmp_path / 'absent-secret'}" in found.message

    def test_a_missing_replay_file(self, tmp_path: Path) -> None:
        """A replay ``file:`` that does not exist is a configuration error, not a down device."""
        text = "devices:\n  - name: demo\n    source: replay\n    file: absent.dev\n"
        (found,) = problems(tmp_path, text)
        assert (found.line, found.field) == (4, "devices[0].file")
        assert "No such file" in found.message

    def test_an_unreadable_secret_file_of_ecoflow(self, tmp_path: Path) -> None:
        """EcoFlow's ``*_file`` keys are checked the same way, at their own line."""
        text = (
            "devices:\n  - name: garage\n    source: ecoflow\n    serial: R331\n"
            "    access_key: ak\n    secret_key_file: absent\n"
        )
        (found,) = problems(tmp_path, text)
        assert (found.line, found.field) == (6, "devices[0].secret_key_file")
        assert "cannot read" in found.message

    def test_a_good_file_with_a_bare_number_interval(self, tmp_path: Path) -> None:
        """A bare number is seconds, the documented rule for every duration."""
        dump = tmp_path / "ups.dev"
        dump.write_text("battery.charge: 100\nups.status: OL\n")
        path = tmp_path / "power.yaml"
        path.write_text(
            f"devices:\n  - name: a\n    source: replay\n    file: {dump}\n    interval: 7\n"
        )
        assert load(path).devices[0].interval == 7.0
