"""The ``replay`` source: a NUT dump file served as if a UPS were behind it.

A relative ``file`` is taken from the config file's folder (the loader passes it as ``base_dir``).
The file is parsed again whenever its modification time or size changes; a sequence (a file
with ``TIMER`` lines) starts over when the file changes. Only a regular file of at most
``max_file_size`` bytes is read (a FIFO would hang the reader, ``/dev/zero`` never ends), and
it is read and parsed in a worker thread, so a large file never holds up the event loop (and
``/healthz`` with it). Values go through the NUT tables and
the NUT raw naming, so a replayed dump exposes exactly what the real UPS would.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from typing import TYPE_CHECKING, Final, Literal, Self

from pydantic import ByteSize, Field, ValidationInfo, field_validator

from power_exporter.errors import ConnectError, DecodeError, SourceError
from power_exporter.model import DeviceFault, Event
from power_exporter.sources.base import DeviceConfig, beside_config
from power_exporter.sources.nut.reading import nut_reading
from power_exporter.sources.nut.table import ProblemLog
from power_exporter.sources.replay.devfile import DevScript, parse_dev

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_SIZE: Final = 16 * 1024 * 1024


class ReplayConfig(DeviceConfig):
    """A NUT ``.dev``/``.seq`` dump to serve as a device."""

    source: Literal["replay"]
    file: str = Field(min_length=1)
    # A larger file is refused (16 MiB: a real dump is a few kB); 16MiB, 512KiB or bytes.
    max_file_size: ByteSize = Field(default=ByteSize(DEFAULT_MAX_FILE_SIZE), gt=0)

    @field_validator("file")
    @classmethod
    def _resolve_file(cls, value: str, info: ValidationInfo) -> str:
        path = beside_config(value, info)
        # A file missing at start-up is a mistake; one that goes later makes the device down.
        # stat and a non-blocking open never hang, not even on a FIFO.
        try:
            mode = os.stat(path).st_mode  # noqa: PTH116
            if stat.S_ISREG(mode):
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path} is not a regular file (a FIFO, device or folder)")
        return path


# path -> (mtime and size, parsed file): one entry per file, replaced when the file changes.
_PARSED: dict[str, tuple[tuple[int, int], DevScript]] = {}
# (path, mtime and size) -> the parse in flight: devices started together that replay one file
# wait for one parse (1000 devices of one dump made 1000 parses, ~6 kB each, kept apart).
_PARSING: dict[tuple[str, tuple[int, int]], asyncio.Task[DevScript]] = {}


async def _shared_parse(path: str, stamp: tuple[int, int], limit: int) -> DevScript:
    """The file parsed once for every device that asks while the parse runs."""
    key = (path, stamp)
    task = _PARSING.get(key)
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        task = asyncio.create_task(asyncio.to_thread(_read_and_parse, path, limit))
        _PARSING[key] = task

        def finished(done: asyncio.Task[DevScript]) -> None:
            if _PARSING.get(key) is done:
                del _PARSING[key]
            if not done.cancelled():
                done.exception()  # every waiter may have given up: not an unretrieved error

        task.add_done_callback(finished)
    # A device that gives up (its timeout) leaves the parse to the others.
    script = await asyncio.shield(task)
    _PARSED[path] = (stamp, script)
    return script


def _parse(data: bytes, path: str) -> DevScript:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DecodeError(f"{path}:{line}: not UTF-8 text") from exc
    return parse_dev(text, path)


def _check_file(path: str, mode: int, size: int, limit: int) -> None:
    if not stat.S_ISREG(mode):
        raise ConnectError(
            f"replay file {path} is not a regular file (a FIFO, device or folder cannot be"
            " replayed)"
        )
    if size > limit:
        raise ConnectError(
            f"replay file {path} is {size} bytes, more than max_file_size ({limit} bytes)"
        )


def _read_and_parse(path: str, limit: int) -> DevScript:
    """Read and parse a replay file (in a worker thread: never on the event loop)."""
    # O_NONBLOCK: should the path have become a FIFO since it was checked, opening it does
    # not wait for a writer; and the file is checked again on the descriptor read from.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        _check_file(path, info.st_mode, info.st_size, limit)
        data = handle.read(limit + 1)
    _check_file(path, stat.S_IFREG, len(data), limit)  # it grew while we read it
    return _parse(data, path)


class ReplaySource:
    """A polled source that answers from a dump file."""

    __slots__ = ("_clock", "_problems", "_script", "_stamp", "_started", "_wall_clock", "cfg")

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

    async def _load(self) -> DevScript:
        path = self.cfg.file
        try:
            # One stat gives mtime and size; it never blocks, so it stays on the loop.
            info = os.stat(path)  # noqa: PTH116
            stamp = (info.st_mtime_ns, info.st_size)
            if self._script is not None and stamp == self._stamp:
                return self._script
            _check_file(path, info.st_mode, info.st_size, self.cfg.max_file_size)
            shared = _PARSED.get(path)
            if shared is not None and shared[0] == stamp:
                script = shared[1]  # many devices replaying one file share one parse
            else:
                script = await _shared_parse(path, stamp, self.cfg.max_file_size)
        except OSError as exc:
            raise ConnectError(f"cannot read replay file {path}: {exc.strerror or exc}") from exc
        if self._script is not None:
            log.info("%s: %s changed, replaying it from the start", self.cfg.name, path)
        self._script, self._stamp, self._started = script, stamp, self._clock()
        return script

    async def read(self) -> Sequence[Event]:
        """Read the dump's values as they are now (a sequence moves on with time)."""
        script = await self._load()
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
