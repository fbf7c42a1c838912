"""Keep the garbage collector's pauses off the scrapes.

CPython's full collection walks every container object the collector tracks, and stops the
event loop while it does: at 10,000 devices it took 0.2-0.3 s, and landed on whatever scrape was
being answered. Two things keep it short and elsewhere:

- What lives as long as the process (the config, each entry's task, source, backoff, history
  ring and rendered row) is frozen out of the collections once every device has answered for
  the first time (:func:`freeze_when_settled`); frozen objects are still freed by reference
  counting, only the cycle search skips them. What is left to walk is mostly the current
  reading of each device.
- While a page is being sent (:func:`no_collection`), a collection that comes due waits for
  the end of the page, up to ``_DEFER`` times its usual count (so overlapping scrapes cannot
  put it off for ever), and runs right after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

    from power_exporter.store import Store

log = logging.getLogger(__name__)

# A young object is looked at once in the middle generation whatever its threshold, but the
# pause is as long as that generation is big: 10 young collections' survivors (the readings,
# which live an interval) made 30-90k objects and 20-160 ms pauses at 10,000 devices.
MIDDLE_THRESHOLD: Final = 2
_DEFER: Final = 10  # a collection may wait this many times its usual count while sending
_SETTLE_CHECK: Final = 0.5  # seconds between looks at whether every device has answered
_SETTLE_MAX: Final = 120.0  # freeze by then even if some device never answered


class _Sending:
    """How many pages are being sent, and the collector's thresholds before the first."""

    count = 0
    thresholds: tuple[int, ...] = ()


@contextlib.contextmanager
def no_collection() -> Iterator[None]:
    """While this is entered, a collection that comes due waits (boundedly) for its end.

    Then the thresholds are back, and what came due runs at the next allocation: right after
    the page, when the next scrape is furthest away.
    """
    if not _Sending.count:
        _Sending.thresholds = gc.get_threshold()
        gc.set_threshold(*(threshold * _DEFER for threshold in _Sending.thresholds))
    _Sending.count += 1
    try:
        yield
    finally:
        _Sending.count -= 1
        if not _Sending.count:
            gc.set_threshold(*_Sending.thresholds)


def shorter_pauses() -> None:
    """Collect the middle generation more often, so that each of its pauses is shorter."""
    young, _, full = gc.get_threshold()
    gc.set_threshold(young, MIDDLE_THRESHOLD, full)


def settled(store: Store) -> bool:
    """True once every device has answered once (a reading or a counted error)."""
    return all(state.last_seen is not None or state.errors for state in store)


async def freeze_when_settled(store: Store) -> None:
    """Once every device has answered (or after _SETTLE_MAX s): collect, then freeze.

    The per-device objects are made by each entry's task as it first runs and reads, after
    start-up's own freeze, so a second one is needed to take them out of the collections.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _SETTLE_MAX
    while not settled(store) and loop.time() < deadline:  # noqa: ASYNC110 (polled: no event)
        await asyncio.sleep(_SETTLE_CHECK)
    gc.collect()
    gc.freeze()
    log.debug("%d objects frozen out of the garbage collections", gc.get_freeze_count())
