"""Keep the C allocator from handing large buffers back to the kernel after every scrape.

A scrape of 1000 devices builds a ~2.4 MB page. glibc serves allocations that large with a
fresh ``mmap`` and returns them on ``free``, so every scrape page-faults its page in again
(about 600 faults, ~1 ms in a virtual machine: measured in bench/RESULTS.md). Raising the
mmap and trim thresholds keeps such buffers in the heap for reuse. Only for glibc; elsewhere
(musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import platform
from typing import Final

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
# 32 MiB is the largest threshold glibc's own dynamic adjustment would reach; pages of up to
# 10,000 devices (~24 MB) stay below it.
MMAP_THRESHOLD: Final = 32 * 1024 * 1024
TRIM_THRESHOLD: Final = 64 * 1024 * 1024


def tune() -> bool:
    """Raise glibc's mmap and trim thresholds; True when it was done."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mmap_set: int = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        trim_set: int = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    except (OSError, AttributeError) as exc:
        log.debug("cannot tune the allocator: %s", exc)
        return False
    return mmap_set == 1 and trim_set == 1
