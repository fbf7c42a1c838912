"""Whole lines from upsd, one at a time or every one already received at once.

upsd answers a ``LIST VAR`` in some sixty short lines. Reading them one ``readuntil`` at a time
costs more Python than everything else a poll does, so :class:`Lines` keeps its own buffer
and can hand over, in one piece, every complete line received so far: the caller parses that
block in one scan (:func:`power_exporter.sources.nut.lines.parse_var_block`). It never waits
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
    """Whole lines read from one stream, with the rest kept for the next call."""

    def __init__(self, reader: asyncio.StreamReader, where: str) -> None:
        self._reader = reader
        self._where = where
        self._buffer = b""

    async def line(self) -> bytes:
        """The next line, with its newline."""
        while (end := self._buffer.find(b"\n") + 1) == 0:
            await self._fill()
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        self._check(end - 1)
        return line

    async def block(self) -> bytes:
        """Every complete line received so far: at least one, ending with a newline."""
        while (end := self._buffer.rfind(b"\n") + 1) == 0:
            await self._fill()
        block, self._buffer = self._buffer[:end], self._buffer[end:]
        if len(block) > MAX_LINE:  # only then can one of its lines be too long
            self._check(max(map(len, block.split(b"\n"))))
        return block

    def unread(self, data: bytes) -> None:
        """Put whole lines taken by :meth:`block` but not used back in front of the buffer."""
        if data:
            self._buffer = data + self._buffer

    async def _fill(self) -> None:
        """Read more (the buffer holds no newline); a line already too long is an error."""
        self._check(len(self._buffer))
        chunk = await self._reader.read(_CHUNK)
        if not chunk:
            self._buffer = b""
            raise DroppedError("connection closed by upsd")
        self._buffer += chunk

    def _check(self, length: int) -> None:
        """Refuse a line (without its newline) longer than MAX_LINE: the stream is lost."""
        if length > MAX_LINE:
            self._buffer = b""
            message = f"line from upsd at {self._where} longer than {MAX_LINE} bytes"
            raise DecodeError(message)
