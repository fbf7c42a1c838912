r"""apcupsd's Network Information Server (NIS) protocol: frames, replies and status lines.

Every message, both ways, is a 2-byte big-endian length and that many bytes; a message of
length 0 ends a reply. The client sends a command (``status``, ``events``); the server
answers with one message per line and the end mark, and then waits for the next command on
the same connection. A ``status`` line is ``KEY`` padded to 9 characters, ``: ``, the value
and a newline (``LINEV    : 229.5 Volts``); the reply starts with an ``APC`` line and ends
with ``END APC``. An unknown command is answered ``Invalid command\n\0``; ``events`` without
an event log ``Not available\n\0``.

:class:`FrameBuffer` is the only code that splits bytes into frames, fed by the client from
its socket and by the fuzz target from arbitrary bytes; :func:`parse_status` the only code
that turns the lines of a reply into keys and values.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

from power_exporter.errors import DecodeError

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_PORT: Final = 3551
MAX_REPLY_FRAMES: Final = 10_000
"""More lines than any reply has (a status has ~60, the event log keeps ~10 kB of lines)."""
MAX_REPLY_BYTES: Final = 1 << 20
"""Largest reply we accept, in bytes."""
FIRST_KEY: Final = "APC"
LAST_KEY: Final = "END APC"
_HEADER: Final = struct.Struct(">H")
MAX_FRAME: Final = 0xFFFF
_ANSWERS_WITHOUT_DATA: Final = ("Invalid command", "Not available")


def encode_command(command: str) -> bytes:
    """One command as a frame (``status``, ``events``)."""
    payload = command.encode("ascii")
    if not payload or len(payload) > MAX_FRAME:
        raise ValueError(f"not a NIS command: {command!r}")
    return _HEADER.pack(len(payload)) + payload


class FrameBuffer:
    """Bytes in, whole replies out: each reply is the list of its frames' payloads."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._frames: list[bytes] = []
        self._size = 0
        self._replies: list[list[bytes]] = []

    def feed(self, data: bytes) -> None:
        """Add received bytes and split off every complete frame.

        Raises DecodeError when a reply grows past :data:`MAX_REPLY_FRAMES` or
        :data:`MAX_REPLY_BYTES` (a peer that is not an apcupsd, or one gone wrong).
        """
        self._data += data
        position = 0
        while len(self._data) - position >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._data, position)
            end = position + _HEADER.size + length
            if end > len(self._data):
                break
            if length == 0:
                self._replies.append(self._frames)
                self._frames, self._size = [], 0
            else:
                self._frames.append(bytes(self._data[position + _HEADER.size : end]))
                self._size += length
                if len(self._frames) > MAX_REPLY_FRAMES or self._size > MAX_REPLY_BYTES:
                    raise DecodeError(
                        f"reply from apcupsd too long: over {len(self._frames)} lines,"
                        f" {self._size} bytes (not an apcupsd NIS?)"
                    )
            position = end
        del self._data[:position]

    def take(self) -> list[list[bytes]]:
        """Return the replies completed so far, oldest first, and forget them."""
        replies, self._replies = self._replies, []
        return replies

    @property
    def pending(self) -> int:
        """Bytes received that belong to no complete reply yet."""
        return len(self._data) + self._size


def decode_line(frame: bytes) -> str:
    """One frame as text: ASCII mostly, Latin-1 where not UTF-8, without newline and NULs."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        text = frame.decode("latin-1")
    return text.rstrip("\x00").rstrip("\r\n")


def parse_status(frames: Sequence[bytes]) -> dict[str, str]:
    """Turn the lines of a ``status`` reply into ``KEY -> value`` (value stripped of padding).

    Keys are as apcupsd spells them (``END APC``, ``CUMONBATT``); a key given twice keeps
    its first value; a line without a colon, or with an empty key, is skipped. Raises
    DecodeError when the reply is not a status at all (empty, ``Invalid command``, or a first
    line that is not ``APC``).
    """
    if not frames:
        raise DecodeError("empty status reply from apcupsd")
    first = decode_line(frames[0])
    if first.startswith(_ANSWERS_WITHOUT_DATA):
        raise DecodeError(f"apcupsd answered {first[:40]!r} to status")
    status: dict[str, str] = {}
    for frame in frames:
        key, colon, value = decode_line(frame).partition(":")
        key = key.strip()
        if colon and key and key not in status:
            status[key] = value.strip()
    if FIRST_KEY not in status:
        raise DecodeError(f"not an apcupsd status reply: it starts {first[:40]!r}")
    return status


def parse_events(frames: Sequence[bytes]) -> list[str]:
    """The lines of an ``events`` reply (none when apcupsd keeps no event log)."""
    lines = [decode_line(frame).strip() for frame in frames]
    if len(lines) == 1 and lines[0].startswith(_ANSWERS_WITHOUT_DATA):
        return []
    return [line for line in lines if line]
