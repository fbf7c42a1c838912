"""A small blocking Python API, as handy as the seed's.

::

    from power_exporter.sources.tripplite import Battery, battery_paths

    with Battery() as battery:            # the first TrippLite found
        state = battery.get()             # the seed's JSON structure
        state["status"]["ac present"]

    for path in battery_paths():          # every TrippLite, e.g. ["/dev/hidraw0", ...]
        with Battery(path) as battery:
            print(battery.get())

Unlike the seed, the paths are listed when asked (not once at import), and any path may be
opened (a udev symlink too). Failures raise :class:`~power_exporter.errors.SourceError`:
``ConnectError`` where the seed raised ``OSError`` for I/O (close and open again to
recover, as the seed's README shows), ``DecodeError`` for a reply to another report.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from power_exporter.errors import ConnectError
from power_exporter.sources.tripplite.reports import read_state
from power_exporter.sources.tripplite.source import other_protocol_note, unique_by_path
from power_exporter.sources.tripplite.transport import (
    TRIPPLITE_VENDOR_ID,
    HidapiTransport,
    HidHandle,
    HidTransport,
)

if TYPE_CHECKING:
    from types import TracebackType

    from power_exporter.sources.tripplite.reports import State

log = logging.getLogger(__name__)


def battery_paths(transport: HidTransport | None = None) -> list[str]:
    """The HID paths of every TrippLite (USB vendor 09ae) present now."""
    found = (transport or HidapiTransport()).enumerate(TRIPPLITE_VENDOR_ID)
    return [info.path for info in unique_by_path(found)]


class Battery:
    """One TrippLite UPS: ``open()``, ``get()``, ``close()``, or use it in ``with``."""

    def __init__(self, path: str | None = None, *, transport: HidTransport | None = None) -> None:
        self.path = path
        self._transport: HidTransport = transport or HidapiTransport()
        self._handle: HidHandle | None = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Battery({self.path!r})"

    def open(self) -> None:
        """Open the UPS (the first one found when no path was given)."""
        try:
            found = unique_by_path(self._transport.enumerate(TRIPPLITE_VENDOR_ID))
        except OSError as exc:
            if self.path is None:
                raise ConnectError(f"cannot list USB HID devices: {exc}") from exc
            found = []  # a given path may still open
        if self.path is None:
            if not found:
                raise ConnectError("No TrippLite devices found.")
            self.path = found[0].path
        info = next((i for i in found if i.path == self.path), None)
        note = other_protocol_note(info)
        if note:
            log.warning("%s:%s; trying anyway", self.path, note)
        try:
            self._handle = self._transport.open(self.path)
        except OSError as exc:
            raise ConnectError(f"cannot open {self.path}: {exc}{note}") from exc

    def close(self) -> None:
        """Close the UPS; closing twice is harmless."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    def get(self) -> State:
        """Every value, in the seed's JSON structure (``device_id`` is the path)."""
        if self._handle is None or self.path is None:
            raise ConnectError(f"{self!r} is not open")
        try:
            return read_state(self._handle, self.path)
        except OSError as exc:
            raise ConnectError(f"{self.path}: {exc}") from exc
