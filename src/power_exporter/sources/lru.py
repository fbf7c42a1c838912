"""A bounded cache that forgets the least recently used entry (the raw namings' caches).

A peer decides the names it sends: a upsd inventing new variable names at every poll must not
grow a cache for ever. ``functools.lru_cache`` would do, but a cache per naming object (not
per function, shared by every instance) keeps each one's bound and size visible to tests.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Generic, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")

DEFAULT_MAX_ENTRIES: Final = 50_000


class LruCache(Generic[_K, _V]):
    """At most ``max_entries`` entries; a hit makes an entry the most recently used."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("an LRU cache holds at least one entry")
        self.max_entries = max_entries
        self._entries: OrderedDict[_K, _V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: _K) -> _V | None:
        """The value of ``key``, or None."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        """Keep ``value`` under ``key``, forgetting the least recently used entry if full."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
