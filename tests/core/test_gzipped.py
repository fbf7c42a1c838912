"""The gzip body of /metrics: the devices part compressed once per page, the rest per scrape."""

from __future__ import annotations

import gzip
import zlib

from power_exporter.exposition.gzipped import GzipCache


def one_member(body: list[bytes]) -> bytes:
    """Decompress as a strict single-member gzip reader does (wbits 31 stops at its end)."""
    reader = zlib.decompressobj(31)
    text = reader.decompress(b"".join(body)) + reader.flush()
    assert reader.eof
    assert reader.unused_data == b""
    return text


def test_same_page_compressed_once_and_the_rest_each_time() -> None:
    """Two scrapes of one page: both decode to page + their own rest, in one gzip member."""
    cache = GzipCache()
    page = [b'power_device_up{device="ups%d"} 1\n' % n for n in range(2000)]
    first = cache.body(page, [b"power_exporter_tasks 7\n"], openmetrics=False)
    second = cache.body(page, [b"power_exporter_tasks 8\n"], openmetrics=False)
    assert first[1] is second[1]  # the devices part: the very same compressed bytes
    assert one_member(first) == b"".join(page) + b"power_exporter_tasks 7\n"
    assert one_member(second) == b"".join(page) + b"power_exporter_tasks 8\n"
    assert gzip.decompress(b"".join(second)).endswith(b"power_exporter_tasks 8\n")
    assert len(b"".join(second)) < len(b"".join(page)) // 5


def test_new_page_recompressed_and_formats_apart() -> None:
    """A new page (a device changed) is compressed anew; text and OpenMetrics keep their own."""
    cache = GzipCache()
    old = [b"a 1\n"] * 100
    new = [b"a 2\n"] * 100
    cache.body(old, [], openmetrics=False)
    assert (
        one_member(cache.body(old, [b"# EOF\n"], openmetrics=True)) == b"a 1\n" * 100 + b"# EOF\n"
    )
    assert one_member(cache.body(new, [], openmetrics=False)) == b"a 2\n" * 100
    assert one_member(cache.body(old, [b"x 0\n"], openmetrics=True)).endswith(b"a 1\nx 0\n")
    assert one_member(cache.body([], [b"x 0\n"], openmetrics=False)) == b"x 0\n"
