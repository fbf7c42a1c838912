"""Replay files that would hang or flood the exporter are refused, and /healthz still answers."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

from power_exporter.config import load
from power_exporter.errors import ConfigError, DecodeError
from power_exporter.exposition.text import Renderer
from power_exporter.http import make_app
from power_exporter.runtime import Runtime
from power_exporter.sources.nut.naming import NUT_NAMING
from power_exporter.sources.replay.devfile import parse_dev
from power_exporter.sources.replay.source import ReplayConfig
from power_exporter.store import Store
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

GOOD = "ups.status: OL\nbattery.charge: 87\n"
SENTINEL = "SENTINEL-token-3b9d"


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return "not a regular file"


def _zero(path: Path) -> str:
    path.symlink_to("/dev/zero")
    return "not a regular file"


def _directory(path: Path) -> str:
    path.mkdir()
    return "not a regular file"


def _oversize(path: Path) -> str:
    path.write_text(GOOD + "ups.model: x\n" * 200, encoding="utf-8")  # 2.6 kB > 1 KiB
    return "more than max_file_size (1024 bytes)"


def _last_error(store: Store) -> str:
    state = store.get("r")
    return state.last_error if state is not None else ""


class TestRefused:
    @pytest.mark.parametrize("make", [_fifo, _zero, _directory])
    def test_check_config(self, tmp_path: Path, make: Callable[[Path], str]) -> None:
        """A FIFO, /dev/zero or a folder as ``file:`` is a config error naming the field."""
        make(tmp_path / "bad.dev")
        config = tmp_path / "power.yaml"
        config.write_text(
            "devices:\n  - {name: r, source: replay, file: bad.dev}\n", encoding="utf-8"
        )
        with pytest.raises(ConfigError, match="not a regular file") as caught:
            load(config)
        assert caught.value.field == "devices[0].file"

    @pytest.mark.parametrize("make", [_fifo, _zero, _directory, _oversize])
    async def test_at_run_time_while_healthz_answers(
        self, tmp_path: Path, make: Callable[[Path], str]
    ) -> None:
        """A good file swapped for a bad one: the device goes down saying why; /healthz is 200."""
        path = tmp_path / "ups.dev"
        path.write_text(GOOD, encoding="utf-8")
        cfg = ReplayConfig.model_validate(
            {
                "name": "r",
                "source": "replay",
                "file": str(path),
                "interval": "100ms",
                "max_file_size": "1KiB",
            }
        )
        store = Store()
        runtime = Runtime([cfg], store)
        runner = web.AppRunner(make_app(store, Renderer(store, lambda _kind: NUT_NAMING), runtime))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/healthz"
        runtime.start()
        try:
            await until(lambda: (state := store.get("r")) is not None and state.up)
            path.unlink()
            expected = make(path)
            await until(lambda: expected in _last_error(store))
            timeout = aiohttp.ClientTimeout(total=5)  # generous for a loaded 2-core machine
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for _ in range(3):
                    async with session.get(url) as response:
                        assert response.status == 200
        finally:
            await runtime.stop()
            await runner.cleanup()
        state = store.get("r")
        assert state is not None
        assert not state.up


class TestNoEcho:
    @pytest.mark.parametrize(
        "text", [f"{SENTINEL}$x\n", f"{SENTINEL}:x\n", f"a.b: 1\n{SENTINEL}%\n"]
    )
    def test_parse_errors_show_no_content(self, text: str) -> None:
        """A token file given as a replay file: the error names the file and line, not a word."""
        with pytest.raises(DecodeError) as caught:
            parse_dev(text, "token")
        assert str(caught.value).startswith("token:")
        assert "SENTINEL" not in str(caught.value)
