"""What is known of each Tripp Lite USB product id, and of serials that name no unit.

One row per product id (the ``idProduct`` lsusb prints after ``09ae:``), from NUT's
``drivers/tripplite-hid.c`` device table and the seed's issues (docs/tripplite.md):

- ``0x0001`` is "serial over USB", not HID power-device class: NUT's ``usbhid-ups``
  refuses it and points to its ``tripplite_usb`` driver. This source refuses it too.
- ``0x3016`` and ``0x3024`` get NUT's ``smart1500lcdt_scale``: input and output
  frequency in hundredths (a real 0x3016 dump shows ``input.frequency: 5990.0`` from a
  NUT without that scaling). The seed reads tenths, so these divide by 10 once more.
  ``0x3016`` may also speak another protocol (numat/tripplite#3, NUT #577).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, slots=True)
class Product:
    """What a product id changes: extra divisors per native value, a warning, a refusal."""

    divisors: Mapping[str, float] = field(default_factory=dict)
    note: str = ""  # added to failures (and warned once): it may not speak protocol 2012
    refusal: str = ""  # set: never opened, with this message


GENERIC: Final = Product()
_HUNDREDTHS: Final[Mapping[str, float]] = {"input.frequency": 10.0}
_SERIAL_OVER_USB: Final = (
    "is a Tripp Lite 'serial over USB' unit, not a HID power device; this source cannot read"
    " it: use NUT's tripplite_usb driver (source: nut)"
)

PRODUCTS: Final[Mapping[int, Product]] = {
    0x0001: Product(refusal=_SERIAL_OVER_USB),
    0x3016: Product(
        divisors=_HUNDREDTHS,
        note="may speak another protocol than the 2012 one read here",
    ),
    0x3024: Product(divisors=_HUNDREDTHS),
}


def product(product_id: int) -> Product:
    """The row of a product id (the generic one for ids without special handling)."""
    return PRODUCTS.get(product_id, GENERIC)


# Serials that name no unit: Tripp Lite's unprogrammed template (a real 0x3016 reports
# it: century, year, week, unit number left as letters), and fill patterns (all zeros,
# all F, all X, all question marks or stars).
PLACEHOLDER_SERIALS: Final[frozenset[str]] = frozenset({"CCSYWWZZZZ"})
_FILL: Final = re.compile(r"([0FX?*])\1*", re.IGNORECASE)


def usable_serial(serial: str) -> str:
    """The serial if it can name one unit, else ``""``."""
    text = serial.strip()
    if not text or text.upper() in PLACEHOLDER_SERIALS or _FILL.fullmatch(text):
        return ""
    return text
