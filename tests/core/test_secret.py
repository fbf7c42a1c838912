"""Secrets: refused with control characters, never shown, redacted before any cut; ``$$``."""

from __future__ import annotations

import base64
import os
import re
from typing import TYPE_CHECKING

import pytest

from power_exporter import config as config_module
from power_exporter.errors import ConfigError
from power_exporter.sources.nut.client import NutClient
from power_exporter.sources.nut.config import NutConfig
from power_exporter.sources.secret import excerpt, read_secret_file, redact

if TYPE_CHECKING:
    from pathlib import Path

SENTINEL = "SENTINEL-7c1d"


def load(tmp_path: Path, text: str, **environ: str) -> config_module.Config:
    path = tmp_path / "power.yaml"
    path.write_text(text, encoding="utf-8")
    return config_module.load(path, environ=environ)


def refused(tmp_path: Path, text: str, **environ: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, **environ)
    return caught.value


NUT = "devices:\n  - {{name: ups, source: nut, ups: u, username: mon, {keys}}}\n"
ECOFLOW = "devices:\n  - {{name: station, source: ecoflow, serial: R331, {keys}}}\n"


class TestRefused:
    """A secret with a control character, or a secret file of two lines, is a ConfigError."""

    @pytest.mark.parametrize(
        ("text", "field"),
        [
            (NUT.format(keys=f'password: "{SENTINEL}\\there"'), "devices[0].password"),
            (NUT.format(keys=f'password: "{SENTINEL}\\nhere"'), "devices[0].password"),
            (NUT.format(keys=f'password: "{SENTINEL}\\0"'), "devices[0].password"),
            (
                ECOFLOW.format(keys=f'access_key: a, secret_key: "{SENTINEL}\\t"'),
                "devices[0].secret_key",
            ),
            (
                ECOFLOW.format(
                    keys=f'api: mqtt, user: me@example.com, password: "\\x1b{SENTINEL}"'
                ),
                "devices[0].password",
            ),
        ],
    )
    def test_control_characters(self, tmp_path: Path, text: str, field: str) -> None:
        """The error names the field and shows no part of the value."""
        error = refused(tmp_path, text)
        assert error.field == field
        assert "control character" in str(error) or "line break" in str(error)
        assert SENTINEL not in str(error)
        assert "SENTINEL" not in str(error)

    @pytest.mark.parametrize("key", ["password_file", "secret_key_file"])
    def test_two_line_file(self, tmp_path: Path, key: str) -> None:
        """A secret file of two lines is refused, naming the key and the file, not its lines."""
        secret = tmp_path / "secret"
        secret.write_text(f"{SENTINEL}\nsecond-{SENTINEL}\n", encoding="utf-8")
        text = (
            NUT.format(keys=f"{key}: {secret}")
            if key == "password_file"
            else ECOFLOW.format(keys=f"access_key: a, {key}: {secret}")
        )
        error = refused(tmp_path, text)
        assert "more than one line" in str(error)
        assert key in str(error)
        assert SENTINEL not in str(error)

    def test_fifo_and_device_files(self, tmp_path: Path) -> None:
        """A FIFO (with no writer: no hang) or a device as a secret file is refused at once."""
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        for path in (fifo, "/dev/zero"):
            error = refused(tmp_path, NUT.format(keys=f"password_file: {path}"))
            assert "not a regular file" in str(error)

    def test_a_trailing_line_break_is_dropped(self, tmp_path: Path) -> None:
        """One line with its line break (as editors write it) reads as the secret."""
        secret = tmp_path / "secret"
        secret.write_text(f"{SENTINEL}\r\n", encoding="utf-8")
        assert read_secret_file(str(secret)).get_secret_value() == SENTINEL


class TestDollars:
    """``$$`` writes a ``$``; a ``${`` that is no reference is an error showing no fragment."""

    def test_double_dollar_is_a_dollar(self, tmp_path: Path) -> None:
        """A password holding ``${`` can be written inline."""
        cfg = load(tmp_path, NUT.format(keys=f'password: "{SENTINEL}$${{x}}$$$$"'))
        device = cfg.devices[0]
        assert isinstance(device, NutConfig)
        assert device.secret_password() == f"{SENTINEL}${{x}}$$"

    def test_a_lone_reference_start_is_an_error(self, tmp_path: Path) -> None:
        """``${`` without its closing brace: the error says to write ``$$``."""
        error = refused(tmp_path, NUT.format(keys=f'password: "a${{{SENTINEL}"'))
        assert "$$" in str(error)
        assert SENTINEL not in str(error)

    def test_unset_variable_in_a_secret_is_not_named(self, tmp_path: Path) -> None:
        """A secret's text after ``${`` may be the secret itself: the error does not name it."""
        error = refused(
            tmp_path, NUT.format(keys=f'password: "a${{{SENTINEL.replace("-", "_")}}}"')
        )
        assert error.field == "devices[0].password"
        assert SENTINEL.replace("-", "_") not in str(error)

    def test_references_still_expand(self, tmp_path: Path) -> None:
        """``${VAR}`` and ``${VAR:-default}`` are as before."""
        cfg = load(tmp_path, NUT.format(keys="password: '${PW}', interval: '${IV:-7s}'"), PW="x")
        device = cfg.devices[0]
        assert isinstance(device, NutConfig)
        assert (device.secret_password(), device.interval) == ("x", 7.0)


class TestRedaction:
    def test_forms_a_peer_may_echo(self) -> None:
        """The secret, its base64 (padded or not), URL-quoted and escaped forms are masked."""
        secret = "pa ss/wörd+="
        b64 = base64.b64encode(secret.encode()).decode()
        text = f"a {secret} b {b64} c {b64.rstrip('=')} d pa%20ss%2Fw%C3%B6rd%2B%3D e"
        shown = redact(text, [secret])
        assert shown == "a *** b *** c *** d *** e"

    def test_redacted_before_the_cut(self) -> None:
        """A key straddling the cut leaves no head behind (it was cut first, then redacted)."""
        key = "K" * 10 + SENTINEL
        text = "x" * 50 + key + "y" * 40
        shown = excerpt(text, [key], limit=60)
        assert "KKKK" not in shown
        assert "***" in shown


class TestNutClient:
    def test_control_character_password(self) -> None:
        """Should one get past the configuration, the client refuses it without quoting it."""
        with pytest.raises(ValueError, match="control character") as caught:
            NutClient("127.0.0.1", username="mon", password=f"{SENTINEL}\tx")
        assert SENTINEL not in str(caught.value)
        assert not re.search(r"SENTINEL", repr(caught.value))
