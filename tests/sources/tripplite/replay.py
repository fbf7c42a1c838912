"""A replay transport: the HID seam, answering feature reports from recorded bytes.

It behaves as cython-hidapi does where the source can tell: ``get_feature_report`` returns
at most ``length`` bytes, opening a path that is not there raises ``OSError("open failed")``,
a handle of an unplugged device raises ``OSError("read error")``, a closed one
``OSError("not open")``. It also records who called what, from which thread, and whether
two calls ever overlapped on one device.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from string import hexdigits
from typing import TYPE_CHECKING, Final, TypeAlias

from power_exporter.sources.tripplite.transport import TRIPPLITE_VENDOR_ID, DeviceInfo

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    Reply: TypeAlias = bytes | BaseException | Callable[[], bytes]

FIXTURES: Final = Path(__file__).parent.parent.parent / "fixtures" / "tripplite"


def load_hex(name: str) -> list[bytes]:
    """The byte lines of a ``.hex`` fixture (``#`` comments; text after the bytes ignored)."""
    lines: list[bytes] = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        data = bytearray()
        for token in line.split():
            if len(token) != 2 or not set(token) <= set(hexdigits):
                break
            data.append(int(token, 16))
        lines.append(bytes(data))
    return lines


def example_reports() -> dict[int, bytes]:
    """The README example's replies, by report id."""
    return {reply[0]: reply for reply in load_hex("readme-example.hex")}


@dataclass(eq=False)
class ReplayUps:
    """One UPS: what enumeration says of it and how it answers."""

    info: DeviceInfo
    reports: dict[int, bytes] = field(default_factory=example_reports)
    # One-off replies per report id, used before ``reports``: bytes, an exception to raise,
    # or a function called in the reading thread.
    script: defaultdict[int, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    plugged: bool = True
    delay: float = 0.0
    calls: list[tuple[int, int]] = field(default_factory=list)
    threads: set[int] = field(default_factory=set)
    opens: int = 0
    closes: int = 0
    overlaps: int = 0
    _busy: int = 0
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, report_id: int, length: int) -> bytes:
        """Reply to one ``get_feature_report``, as the script or the recorded reports say."""
        with self._guard:
            self._busy += 1
            if self._busy > 1:
                self.overlaps += 1
        try:
            self.calls.append((report_id, length))
            self.threads.add(threading.get_ident())
            if self.delay:
                time.sleep(self.delay)
            if not self.plugged:
                raise OSError("read error")
            queued = self.script[report_id]
            if queued:
                reply = queued.popleft()
            elif report_id in self.reports:
                reply = self.reports[report_id]
            else:
                raise OSError("read error")  # hidapi, when the device stalls the request
            if isinstance(reply, BaseException):
                raise reply
            data = reply if isinstance(reply, bytes) else reply()
            return data[:length]
        finally:
            with self._guard:
                self._busy -= 1


class ReplayHandle:
    """An open replayed device."""

    def __init__(self, ups: ReplayUps) -> None:
        self.ups = ups
        self.open = True

    def get_feature_report(self, report_id: int, length: int) -> bytes:
        """The UPS's reply, if this handle is still open."""
        if not self.open:
            raise OSError("not open")
        return self.ups.answer(report_id, length)

    def close(self) -> None:
        """Close, counting it once."""
        if self.open:
            self.open = False
            self.ups.closes += 1


class ReplayTransport:
    """Devices by path; unplug and plug them back (at the same path or another)."""

    def __init__(self, *devices: ReplayUps) -> None:
        self.devices: dict[str, ReplayUps] = {ups.info.path: ups for ups in devices}
        self.enumerations = 0
        # What enumeration says instead, when set (a device listed twice, or not at all).
        self.listing: list[DeviceInfo] | None = None
        self.enumerate_error: OSError | None = None

    def enumerate(self, vendor_id: int) -> list[DeviceInfo]:
        """The plugged-in devices of that vendor."""
        self.enumerations += 1
        if self.enumerate_error is not None:
            raise self.enumerate_error
        if self.listing is not None:
            return list(self.listing)
        return [
            ups.info
            for ups in self.devices.values()
            if ups.plugged and ups.info.vendor_id == vendor_id
        ]

    def open(self, path: str) -> ReplayHandle:
        """Open a plugged-in device, or fail as hidapi does."""
        ups = self.devices.get(path)
        if ups is None or not ups.plugged:
            raise OSError("open failed")
        ups.opens += 1
        return ReplayHandle(ups)

    def unplug(self, path: str) -> ReplayUps:
        """Pull the cable of the device at ``path``."""
        ups = self.devices[path]
        ups.plugged = False
        return ups

    def plug(self, path: str, at: str | None = None) -> ReplayUps:
        """Plug the device back, at its old path or ``at`` another."""
        ups = self.devices.pop(path)
        if at is not None:
            ups.info = replace(ups.info, path=at)
        self.devices[ups.info.path] = ups
        ups.plugged = True
        return ups


def info(
    path: str = "/dev/hidraw0",
    *,
    serial: str = "2E12345678",
    product_id: int = 0x2012,
    product: str = "TRIPP LITE SMART1500LCD",
    manufacturer: str = "Tripp Lite",
    usb_port: str = "",
) -> DeviceInfo:
    """A TrippLite's enumeration entry."""
    return DeviceInfo(
        path=path,
        vendor_id=TRIPPLITE_VENDOR_ID,
        product_id=product_id,
        serial=serial,
        manufacturer=manufacturer,
        product=product,
        release=0x0100,
        interface=0,
        usb_port=usb_port,
    )


def with_reports(changes: Mapping[int, bytes]) -> dict[int, bytes]:
    """The example's replies with some replaced."""
    return {**example_reports(), **changes}
