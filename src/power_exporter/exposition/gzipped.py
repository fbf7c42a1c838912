"""A gzip body whose devices part is compressed once per version of the page, not per scrape.

The page's devices part (nearly all of it) is the same list of pieces until a device changes
(:meth:`Renderer.render_split`); what follows it (tasks, probes, the process) changes at every
scrape but is small. The devices part is compressed as raw deflate ending in a full flush (byte
aligned, no reference to what follows), the rest as a second raw deflate stream, and the two
are framed as one gzip member: the checksum of the whole is the devices part's, carried on over
the rest. A scrape of an unchanged fleet then compresses a few kilobytes instead of megabytes.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

try:  # ISA-L's deflate is four times as fast as zlib's at the same ratio (bench/RESULTS.md)
    from isal.isal_zlib import DEFLATED, Z_FULL_FLUSH, compressobj, crc32
except ImportError:  # pragma: no cover (a platform without isal wheels)
    from zlib import DEFLATED, Z_FULL_FLUSH, compressobj, crc32  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

LEVEL: Final = 1  # a 2.4 MB page: ~2 ms at level 1 with ISA-L, and ~14x smaller
_RAW: Final = -15  # raw deflate, 32 KiB window: the gzip frame is ours
# ID1 ID2, deflate, no flags, no mtime, no extra flags, OS unknown (RFC 1952).
_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _deflated(chunks: Iterable[bytes], *, crc: int = 0, last: bool) -> tuple[bytes, int, int]:
    """Raw deflate of the chunks, ended or full-flushed (to be continued).

    Also their crc32, carried on from ``crc``, and their size.
    """
    compressor = compressobj(LEVEL, DEFLATED, _RAW)
    out: list[bytes] = []
    size = 0
    for chunk in chunks:
        out.append(compressor.compress(chunk))
        crc = crc32(chunk, crc)
        size += len(chunk)
    out.append(compressor.flush() if last else compressor.flush(Z_FULL_FLUSH))
    return b"".join(out), crc, size


class GzipCache:
    """The compressed devices part of the last page of each format, kept until it changes."""

    def __init__(self) -> None:
        # openmetrics -> (the devices part it was made from, its deflate, crc32, size)
        self._last: dict[bool, tuple[Sequence[bytes], bytes, int, int]] = {}

    def body(
        self, page: Sequence[bytes], rest: Iterable[bytes], *, openmetrics: bool
    ) -> list[bytes]:
        """The gzip body of ``page`` then ``rest``, as pieces to send in turn."""
        last = self._last.get(openmetrics)
        if last is None or last[0] is not page:  # the renderer made a new page: a device changed
            last = (page, *_deflated(page, last=False))
            self._last[openmetrics] = last
        _page, head, crc, size = last
        tail, crc, tail_size = _deflated(rest, crc=crc, last=True)
        trailer = struct.pack("<II", crc, (size + tail_size) & 0xFFFFFFFF)
        return [_HEADER, head, tail, trailer]
