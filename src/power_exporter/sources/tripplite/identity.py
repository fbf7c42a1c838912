"""Which UPS is which: stable keys and device names for what enumeration lists.

A UPS is known by the first of these that names it alone among the units found:

1. its serial (``serial:2E12345678``), unless it is a placeholder (:mod:`.products`);
2. its USB port path (``port:1-2``), which survives a USB reset and hidraw renumbering,
   though not a move to another port;
3. its HID path (``path:/dev/hidraw0``), when sysfs says nothing of the port.

Units whose product id this source refuses (serial over USB) are never keyed.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Final

from power_exporter.sources.tripplite.products import product, usable_serial

if TYPE_CHECKING:
    from collections.abc import Sequence

    from power_exporter.sources.tripplite.transport import DeviceInfo

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._:-]+")
# The key's kind and what goes before its value in a device name.
_NAME_PREFIX: Final = {"serial": "", "port": "usb-", "path": ""}


def sub_name(text: str) -> str:
    """A serial or path as the part of a device name after ``<name>/``."""
    return _UNSAFE.sub("_", os.path.basename(text.strip())).strip("_") or "unnamed"  # noqa: PTH119 (paths as hidapi gives them, not files)


def key_name(key: str) -> str:
    """The part of a device name after ``<name>/`` for a key (``port:1-2`` -> ``usb-1-2``)."""
    kind, _, value = key.partition(":")
    return _NAME_PREFIX.get(kind, "") + sub_name(value)


def same_node(infos: Sequence[DeviceInfo], path: str) -> DeviceInfo | None:
    """The device listed at ``path``, which may be a udev symlink to its hidraw node."""
    wanted = Path(path).resolve()
    return next((info for info in infos if Path(info.path).resolve() == wanted), None)


def unique_by_path(infos: Sequence[DeviceInfo]) -> list[DeviceInfo]:
    """Enumeration without repeats (hidapi lists a device once per top-level collection)."""
    seen: dict[str, DeviceInfo] = {}
    for info in infos:
        seen.setdefault(info.path, info)
    return list(seen.values())


def refused(infos: Sequence[DeviceInfo]) -> list[DeviceInfo]:
    """The units listed that this source cannot read (their product's refusal says why)."""
    return [info for info in unique_by_path(infos) if product(info.product_id).refusal]


def keyed(infos: Sequence[DeviceInfo]) -> dict[str, DeviceInfo]:
    """Each readable UPS by its stable key (see the module's docstring)."""
    unique = [i for i in unique_by_path(infos) if not product(i.product_id).refusal]
    serials = Counter(s for i in unique if (s := usable_serial(i.serial)))
    ports = Counter(i.usb_port for i in unique if i.usb_port)
    keys: dict[str, DeviceInfo] = {}
    for info in unique:
        serial = usable_serial(info.serial)
        if serial and serials[serial] == 1:
            keys[f"serial:{serial}"] = info
        elif info.usb_port and ports[info.usb_port] == 1:
            keys[f"port:{info.usb_port}"] = info
        else:
            keys[f"path:{info.path}"] = info
    return keys


def protocol_note(info: DeviceInfo | None) -> str:
    """What to add to a failure of a product known to speak another protocol at times."""
    if info is None:
        return ""
    note = product(info.product_id).note
    return f" ({info.usb_id} {note})" if note else ""
