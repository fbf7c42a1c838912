"""Frames, replies and status lines of apcupsd's NIS, without a server."""

from __future__ import annotations

import struct

import pytest

from power_exporter.errors import DecodeError
from power_exporter.sources.apcupsd.protocol import (
    MAX_REPLY_FRAMES,
    FrameBuffer,
    encode_command,
    parse_events,
    parse_status,
)


def framed(*payloads: bytes) -> bytes:
    """Payloads as NIS messages (a b"" payload is the end mark)."""
    return b"".join(struct.pack(">H", len(p)) + p for p in payloads)


class TestFrames:
    """The 2-byte big-endian framing."""

    def test_command(self) -> None:
        """A command is its length in two bytes, big-endian, and its bytes."""
        assert encode_command("status") == b"\x00\x06status"
        with pytest.raises(ValueError, match="not a NIS command"):
            encode_command("")

    def test_split_anywhere(self) -> None:
        """Replies come out whole however the bytes are cut, in order."""
        data = framed(
            b"APC      : 001\n", b"STATUS   : ONLINE \n", b"", b"Not available\n\x00", b""
        )
        for cut in range(len(data) + 1):
            buffer = FrameBuffer()
            buffer.feed(data[:cut])
            replies = buffer.take()
            buffer.feed(data[cut:])
            replies += buffer.take()
            assert replies == [
                [b"APC      : 001\n", b"STATUS   : ONLINE \n"],
                [b"Not available\n\x00"],
            ]
            assert buffer.pending == 0

    def test_too_many_lines(self) -> None:
        """A reply that never ends is refused once it passes the line limit."""
        buffer = FrameBuffer()
        with pytest.raises(DecodeError, match="too long"):
            buffer.feed(framed(*([b"x"] * (MAX_REPLY_FRAMES + 1))))


class TestReplies:
    """What a reply's lines say."""

    def test_status(self) -> None:
        """Keys as apcupsd spells them (``END APC``), values without padding or newline."""
        got = parse_status(
            [
                b"APC      : 001,003,0090\n",
                b"STATUS   : ONLINE \n",
                b"XONBATT  : 2026-12-03 09:55:26 +0000  \n",
                b"no colon here\n",
                b"STATUS   : ONBATT\n",
                b"END APC  : 2026-12-03 09:55:28 +0000  \n",
            ]
        )
        assert got == {
            "APC": "001,003,0090",
            "STATUS": "ONLINE",
            "XONBATT": "2026-12-03 09:55:26 +0000",
            "END APC": "2026-12-03 09:55:28 +0000",
        }

    @pytest.mark.parametrize(
        ("frames", "message"),
        [
            ([], "empty"),
            ([b"Invalid command\n\x00"], "Invalid command"),
            ([b"STATUS   : ONLINE\n"], "not an apcupsd status"),
            ([b"\xff\xfe : x"], "not an apcupsd status"),
        ],
    )
    def test_not_a_status(self, frames: list[bytes], message: str) -> None:
        """Anything but a status reply is a DecodeError saying what came."""
        with pytest.raises(DecodeError, match=message):
            parse_status(frames)

    def test_events(self) -> None:
        """Event lines as given; ``Not available`` is no events."""
        assert parse_events([b"2026-12-03 09:55:26 +0000  Power failure.\n"]) == [
            "2026-12-03 09:55:26 +0000  Power failure."
        ]
        assert parse_events([b"Not available\n\x00"]) == []
