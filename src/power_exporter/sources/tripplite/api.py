"""A small blocking Python API, a drop-in for the seed's.

::

    from power_exporter.sources.tripplite import Battery, battery_paths

    with Battery() as battery:            # the first TrippLite found
        state = battery.get()             # the seed's JSON structure
        state["status"]["ac present"]

    for path in battery_paths:            # every TrippLite, e.g. "/dev/hidraw0", ...
        with Battery(path) as battery:
            print(battery.get())

As in the seed, every failure is an :class:`OSError`, so the seed README's ``except
OSError:`` loop (close, open, go on) still works; they are also the project's errors:
:class:`BatteryConnectError` is a ``ConnectError`` (I/O, nothing found, not open) and
:class:`BatteryDecodeError` a ``DecodeError`` (a reply to another report, a short one).
``battery_paths`` iterates as the seed's list did and may also be called,
``battery_paths()``; unlike the seed's, it lists the paths when asked, not once at import.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self, overload

from power_exporter.errors import ConnectError, DecodeError
from power_exporter.sources.tripplite.identity import protocol_note, unique_by_path
from power_exporter.sources.tripplite.products import product
from power_exporter.sources.tripplite.reports import read_state
from power_exporter.sources.tripplite.transport import (
    TRIPPLITE_VENDOR_ID,
    HidapiTransport,
    HidHandle,
    HidTransport,
    HidUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

    from power_exporter.sources.tripplite.reports import State

log = logging.getLogger(__name__)


class BatteryConnectError(ConnectError, OSError):
    """The UPS could not be found, opened or read (an ``OSError``, as the seed raised)."""


class BatteryDecodeError(DecodeError, OSError):
    """A reply that is not the report asked (an ``OSError``, as the seed raised)."""


def list_paths(transport: HidTransport | None = None) -> list[str]:
    """The HID paths of every TrippLite (USB vendor 09ae) present now."""
    try:
        found = (transport or HidapiTransport()).enumerate(TRIPPLITE_VENDOR_ID)
    except HidUnavailableError:
        raise
    except OSError as exc:
        raise BatteryConnectError(f"cannot list USB HID devices: {exc}") from exc
    return [info.path for info in unique_by_path(found)]


class BatteryPaths:
    """The seed's ``battery_paths``: iterate it (``for p in battery_paths``) or call it.

    Each use lists the TrippLites present at that moment.
    """

    def __call__(self, transport: HidTransport | None = None) -> list[str]:
        """Every TrippLite's HID path, now."""
        return list_paths(transport)

    def __iter__(self) -> Iterator[str]:
        return iter(list_paths())

    def __len__(self) -> int:
        return len(list_paths())

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return list_paths()[index]

    def __contains__(self, path: object) -> bool:
        return path in list_paths()

    def __repr__(self) -> str:
        return "battery_paths"


battery_paths = BatteryPaths()


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
        except HidUnavailableError:
            raise
        except OSError as exc:
            if self.path is None:
                raise BatteryConnectError(f"cannot list USB HID devices: {exc}") from exc
            found = []  # a given path may still open
        if self.path is None:
            readable = [i for i in found if not product(i.product_id).refusal]
            if not readable:
                why = "".join(
                    f"; {i.path} ({i.usb_id}) {product(i.product_id).refusal}" for i in found
                )
                raise BatteryConnectError(f"No TrippLite devices found.{why}")
            self.path = readable[0].path
        info = next((i for i in found if i.path == self.path), None)
        if info is not None and product(info.product_id).refusal:
            refusal = product(info.product_id).refusal
            raise BatteryConnectError(f"{self.path} ({info.usb_id}) {refusal}")
        note = protocol_note(info)
        if note:
            log.warning("%s:%s; trying anyway", self.path, note)
        try:
            self._handle = self._transport.open(self.path)
        except OSError as exc:
            raise BatteryConnectError(f"cannot open {self.path}: {exc}{note}") from exc

    def close(self) -> None:
        """Close the UPS; closing twice is harmless."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    def get(self) -> State:
        """Every value, in the seed's JSON structure (``device_id`` is the path)."""
        if self._handle is None or self.path is None:
            raise BatteryConnectError(f"{self!r} is not open")
        try:
            return read_state(self._handle, self.path)
        except DecodeError as exc:
            raise BatteryDecodeError(f"{self.path}: {exc}") from exc
        except OSError as exc:
            raise BatteryConnectError(f"{self.path}: {exc}") from exc
