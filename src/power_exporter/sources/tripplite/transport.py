"""The one seam between this source and USB: enumerate, open, get a feature report, close.

Everything above this module speaks :class:`HidTransport`; tests replay report bytes
through a transport of their own. The real one wraps cython-hidapi (PyPI ``hidapi``),
imported on first use so that the package imports, and every other source runs, without
it. Its calls block: the source runs them in worker threads, one device at a time.

On Linux the ``hidraw`` module of that package is preferred to its ``hid`` module: it
speaks to the kernel's ``/dev/hidraw*`` nodes (the ones the shipped udev rule opens to a
group) and leaves the kernel driver attached, where ``hid`` (libusb) would detach it and
need the raw USB node instead. Elsewhere ``hid`` is the only module there is.

Transport methods raise :class:`OSError` for I/O failures, as hidapi does; the source maps
them onto the project's errors at one boundary.

Enumeration also says where each device is plugged in: its USB port path (``1-2``,
``3-1.4``: bus, then the port on each hub), read from sysfs. Unlike the hidraw node or
the USB device number, it stays the same when the UPS resets or the host renumbers its
nodes, so it names a UPS that has no serial of its own.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, cast

from power_exporter.errors import ConnectError

if TYPE_CHECKING:
    from collections.abc import Mapping

TRIPPLITE_VENDOR_ID: Final = 0x09AE
INSTALL_HINT: Final = "pip install hidapi"
# cython-hidapi's modules, best first: hidraw backend (Linux only), then its default one.
_MODULES: Final = ("hidraw", "hid") if sys.platform.startswith("linux") else ("hid",)
# hidapi's enumerate and open share process-wide state (hid_init, the global error string,
# which each call frees and replaces), so they must not run in two threads at once. Reads
# and closes touch only their own device and may run in parallel.
_HIDAPI_GLOBAL: Final = threading.Lock()
SYSFS: Final = Path("/sys")
# A USB device's name in sysfs: bus, then the port on each hub ("1-2", "3-1.4").
_USB_PORT: Final = re.compile(r"\d+-\d+(?:\.\d+)*")
# hidapi's libusb backend names a device "<bus>:<address>:<interface>", in hex.
_LIBUSB_PATH: Final = re.compile(r"([0-9a-fA-F]{4}):([0-9a-fA-F]{4}):([0-9a-fA-F]{2})")


class HidUnavailableError(ConnectError, OSError):
    """The hidapi package is not installed, so USB HID devices cannot be reached.

    An ``OSError`` too, as every failure of the seed's Python API was.
    """


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What enumeration says of one HID device (hidapi's dict, typed)."""

    path: str
    vendor_id: int
    product_id: int
    serial: str = ""
    manufacturer: str = ""
    product: str = ""
    release: int = 0
    interface: int = -1
    usb_port: str = ""  # e.g. "1-2": where it is plugged in ("" when sysfs does not say)

    @property
    def usb_id(self) -> str:
        """``vendor:product`` as lsusb prints it, e.g. ``09ae:2012``."""
        return f"{self.vendor_id:04x}:{self.product_id:04x}"


class HidHandle(Protocol):
    """An open HID device."""

    def get_feature_report(self, report_id: int, length: int) -> bytes:
        """Up to ``length`` bytes of feature report ``report_id``, byte 0 being the id."""
        ...

    def close(self) -> None:
        """Close the device; closing twice is harmless."""
        ...


class HidTransport(Protocol):
    """Finds and opens HID devices."""

    def enumerate(self, vendor_id: int) -> list[DeviceInfo]:
        """Every HID device of that USB vendor now present."""
        ...

    def open(self, path: str) -> HidHandle:
        """Open the device at ``path`` (as enumeration gave it, or a hidraw node)."""
        ...


class _HidapiDevice(Protocol):
    """The part of ``hid.device`` we use (cython-hidapi ships no type information)."""

    def open_path(self, path: bytes) -> None: ...

    def get_feature_report(self, report_num: int, max_length: int) -> list[int]: ...

    def close(self) -> None: ...


class _HidapiModule(Protocol):
    """The part of the ``hid``/``hidraw`` module we use."""

    def enumerate(self, vendor_id: int = 0, product_id: int = 0) -> list[dict[str, object]]: ...

    def device(self) -> _HidapiDevice: ...


def load_hidapi(modules: tuple[str, ...] = _MODULES) -> _HidapiModule:
    """Import cython-hidapi, or say what to install."""
    missing: list[str] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{name}: {exc}")
            continue
        # The module is untyped; _HidapiModule states the signatures it documents.
        return cast("_HidapiModule", module)
    raise HidUnavailableError(
        "TrippLite USB HID support needs the hidapi package, which is not installed"
        f" ({'; '.join(missing)}); install it with: {INSTALL_HINT}"
    )


def _text(entry: Mapping[str, object], key: str) -> str:
    value = entry.get(key)
    return value.strip() if isinstance(value, str) else ""


def _number(entry: Mapping[str, object], key: str, default: int) -> int:
    value = entry.get(key)
    return value if isinstance(value, int) else default


def _read_number(file: Path) -> int | None:
    try:
        return int(file.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def _port_of_address(bus: int, address: int, sysfs: Path) -> str:
    try:
        devices = sorted((sysfs / "bus" / "usb" / "devices").iterdir())
    except OSError:
        return ""
    for device in devices:
        if (
            _USB_PORT.fullmatch(device.name)
            and _read_number(device / "busnum") == bus
            and _read_number(device / "devnum") == address
        ):
            return device.name
    return ""


def usb_port(path: str, sysfs: Path = SYSFS) -> str:
    """The USB port path (``1-2``) of a HID device as hidapi names it, or ``""``."""
    matched = _LIBUSB_PATH.fullmatch(path)
    if matched:
        return _port_of_address(int(matched[1], 16), int(matched[2], 16), sysfs)
    node = os.path.basename(path)  # noqa: PTH119 (a device path, not a file we open)
    if not node.startswith("hidraw"):
        return ""
    try:
        device = (sysfs / "class" / "hidraw" / node / "device").resolve(strict=True)
    except OSError:
        return ""
    ports = [part for part in device.parts if _USB_PORT.fullmatch(part)]
    return ports[-1] if ports else ""


def device_info(entry: Mapping[str, object], sysfs: Path | None = None) -> DeviceInfo:
    """One entry of ``hid.enumerate()`` as a :class:`DeviceInfo` (its port from ``sysfs``)."""
    raw_path = entry.get("path", b"")
    path = os.fsdecode(raw_path) if isinstance(raw_path, bytes | str) else ""
    return DeviceInfo(
        path=path,
        vendor_id=_number(entry, "vendor_id", 0),
        product_id=_number(entry, "product_id", 0),
        serial=_text(entry, "serial_number"),
        manufacturer=_text(entry, "manufacturer_string"),
        product=_text(entry, "product_string"),
        release=_number(entry, "release_number", 0),
        interface=_number(entry, "interface_number", -1),
        usb_port=usb_port(path, sysfs) if sysfs is not None and path else "",
    )


class _HidapiHandle:
    """An open ``hid.device``, answering with bytes and raising OSError only."""

    def __init__(self, device: _HidapiDevice) -> None:
        self._device = device

    def get_feature_report(self, report_id: int, length: int) -> bytes:
        try:
            return bytes(self._device.get_feature_report(report_id, length))
        except ValueError as exc:  # hidapi's "not open"
            raise OSError(str(exc)) from exc

    def close(self) -> None:
        self._device.close()


class HidapiTransport:
    """The real transport, on cython-hidapi; the module is loaded on first use."""

    def __init__(self, module: _HidapiModule | None = None, sysfs: Path = SYSFS) -> None:
        self._module = module
        self._sysfs = sysfs

    def _hid(self) -> _HidapiModule:
        if self._module is None:
            self._module = load_hidapi()
        return self._module

    def enumerate(self, vendor_id: int) -> list[DeviceInfo]:
        """Every HID device of that USB vendor, as hidapi lists them."""
        module = self._hid()
        with _HIDAPI_GLOBAL:
            entries = module.enumerate(vendor_id, 0)
        return [device_info(entry, self._sysfs) for entry in entries]

    def open(self, path: str) -> HidHandle:
        """Open one device by path."""
        device = self._hid().device()
        with _HIDAPI_GLOBAL:
            device.open_path(os.fsencode(path))
        return _HidapiHandle(device)
