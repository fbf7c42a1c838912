"""The ``replay`` source: a NUT dump file served as if a UPS were behind it.

A relative ``file`` is taken from the config file's folder (the loader passes it as ``base_dir``).
The file is parsed again whenever its modification time or size changes; a sequence (a file
with ``TIMER`` lines) starts over when the file changes. Values go through the NUT tables and
the NUT raw naming, so a replayed dump exposes exactly what the real UPS would.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field, ValidationInfo, field_validator

from power_exporter.errors import ConnectError, DecodeError, SourceError
from power_exporter.model import DeviceFault, Event
from power_exporter.sources.base import DeviceConfig
from power_exporter.sources.nut.config import beside_config
from power_exporter.sources.nut.table import ProblemLog, nut_reading
from power_exporter.sources.replay.devfile import DevScript, parse_dev

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

log = logging.getLogger(__name__)


class ReplayConfig(DeviceConfig):
    """A NUT ``.dev``/``.seq`` dump to serve as a device."""

    source: Literal["replay"]
    file: str = Field(min_length=1)

    @field_validator("file")
    @classmethod
    def _resolve_file(cls, value: str, info: ValidationInfo) -> str:
        path = beside_config(value, info)
        try:  # a file missing at start-up is a mistake; one that goes later makes the device down
            Path(path).open("rb").close()
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        return path


# path -> (mtime and size, parsed file): one entry per file, replaced when the file changes.
_PARSED: dict[str, tuple[tuple[int, int], DevScript]] = {}


def _parse(data: bytes, path: str) -> DevScript:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DecodeError(f"{path}:{line}: not UTF-8 text") from exc
    return parse_dev(text, path)


class ReplaySource:
    """A polled source that answers from a dump file."""

    def __init__(
        self,
        cfg: ReplayConfig,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._wall_clock = wall_clock
        self._script: DevScript | None = None
        self._stamp: tuple[int, int] | None = None
        self._started = 0.0
        self._problems = ProblemLog()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._script = self._stamp = None

    def _load(self) -> DevScript:
        path = self.cfg.file
        try:
            stat = os.stat(path)  # noqa: PTH116 - one stat gives both mtime and size
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._script is not None and stamp == self._stamp:
                return self._script
            shared = _PARSED.get(path)
            if shared is not None and shared[0] == stamp:
                script = shared[1]  # many devices replaying one file share one parse
            else:
                with open(path, "rb") as handle:  # noqa: PTH123
                    script = _parse(handle.read(), path)
                _PARSED[path] = (stamp, script)
        except OSError as exc:
            raise ConnectError(f"cannot read replay file {path}: {exc.strerror or exc}") from exc
        if self._script is not None:
            log.info("%s: %s changed, replaying it from the start", self.cfg.name, path)
        self._script, self._stamp, self._started = script, stamp, self._clock()
        return script

    async def read(self) -> Sequence[Event]:
        """Read the dump's values as they are now (a sequence moves on with time)."""
        script = self._load()
        values = script.values_at(self._clock() - self._started)
        try:
            reading, problems = nut_reading(self.cfg.name, "replay", values, self._wall_clock())
        except SourceError as exc:
            return [DeviceFault(self.cfg.name, exc)]
        self._problems.note(self.cfg.name, problems)
        return [reading]


def open_source(cfg: DeviceConfig) -> ReplaySource:
    """Open a ReplaySource (the registry's ``open``)."""
    if not isinstance(cfg, ReplayConfig):
        raise TypeError(f"the replay kind needs a ReplayConfig, not {type(cfg).__name__}")
    return ReplaySource(cfg)
