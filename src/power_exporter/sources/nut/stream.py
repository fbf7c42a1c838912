"""Whole lines from upsd, one at a time or every one already received at once.

upsd answers a ``LIST VAR`` in some sixty short lines. Reading them one ``readuntil`` at a time
costs more Python than everything else a poll does, so :class:`Lines` keeps its own buffer
and can hand over, in one piece, every complete line received so far: the caller parses that
block at once (:func:`power_exporter.sources.nut.lines.parse_var_block`). It never waits
for more than the next line, so an answer that ends in an unexpected way is read no further
than the line-by-line reader would read it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from power_exporter.errors import DecodeError
from power_exporter.sources.nut.lines import MAX_LINE

if TYPE_CHECKING:
    import asyncio

_CHUNK: Final = 64 * 1024


class DroppedError(Exception):
    """The peer closed the connection or reset it."""


class Lines:
    """Whole lines read from one stream, with the rest kept for the next call.

    What is handed over is marked by an offset into the buffer, never cut off it: a batch of
    answers is received once and each answer is copied out of it once (cutting the rest off
    after every answer would copy the batch over and over).
    """

    def __init__(self, reader: asyncio.StreamReader, where: str) -> None:
        self._reader = reader
        self._where = where
        self._buffer = b""
        self._start = 0  # what comes before was handed over

    async def line(self) -> bytes:
        """The next line, with its newline."""
        while (end := self._buffer.find(b"\n", self._start) + 1) == 0:
            await self._fill()
        line = self._buffer[self._start : end]
        self._hand_over(end)
        self._check(len(line) - 1)
        return line

    async def block(self, until: bytes | None = None) -> bytes:
        """Every complete line received so far: at least one, ending with a newline.

        With ``until`` (a whole line, newline included), no further than the first line that
        is ``until``: what follows it stays for the next call.
        """
        while (end := self._buffer.rfind(b"\n", self._start) + 1) == 0:
            await self._fill()
        if until is not None and (at := line_at(self._buffer, until, self._start, end)) >= 0:
            end = at + len(until)
        block = self._buffer[self._start : end]
        self._hand_over(end)
        if len(block) > MAX_LINE:  # only then can one of its lines be too long
            self._check(max(map(len, block.split(b"\n"))))
        return block

    def unread(self, data: bytes) -> None:
        """Put whole lines taken by :meth:`block` but not used back in front of the buffer."""
        if data:
            self._buffer = data + self._buffer[self._start :]
            self._start = 0

    def _hand_over(self, end: int) -> None:
        if end == len(self._buffer):  # all of it: let the buffer go
            self._buffer, self._start = b"", 0
        else:
            self._start = end

    async def _fill(self) -> None:
        """Read more (the buffer holds no newline); a line already too long is an error."""
        self._check(len(self._buffer) - self._start)
        chunk = await self._reader.read(_CHUNK)
        if not chunk:
            self._buffer, self._start = b"", 0
            raise DroppedError("connection closed by upsd")
        self._buffer = self._buffer[self._start :] + chunk
        self._start = 0

    def _check(self, length: int) -> None:
        """Refuse a line (without its newline) longer than MAX_LINE: the stream is lost."""
        if length > MAX_LINE:
            self._buffer, self._start = b"", 0
            message = f"line from upsd at {self._where} longer than {MAX_LINE} bytes"
            raise DecodeError(message)


def line_at(data: bytes, line: bytes, start: int = 0, end: int | None = None) -> int:
    """Where ``line`` (with its newline) starts a line of ``data[start:end]``; -1 if it does not.

    ``start`` is where a line starts.
    """
    if data.startswith(line, start, end):
        return start
    at = data.find(b"\n" + line, start, end)
    return at + 1 if at >= 0 else -1
