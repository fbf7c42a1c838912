"""EcoFlow products by serial-number prefix, and the names a device's series carry.

``devices.json`` (shipped with the package; another file with ``devices_json`` /
``ECOFLOW_DEVICES_JSON``) is the seed's format: a list of ``{"sn": prefix, "name": product,
"generalKey": key}``. Our file adds ``family``, the table of normalized measures the
product's quota keys follow (see ``families.py``). The longest matching prefix wins.

Label resolution, as seed 002 does it:

- ``device_general_key``: configured > ``generalKey`` of the prefix match > ``unknown``;
- ``device_name``: configured > the name the device list gives, when not empty and not the
  serial itself > ``<product name>-<last 4 characters of the serial>`` > the serial;
- ``product_name``: configured > the device list's ``productName`` > the prefix match's
  name > ``Unknown``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

UNKNOWN_GENERAL_KEY: Final = "unknown"
UNKNOWN_PRODUCT: Final = "Unknown"
_MAX_FILE_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class Product:
    """One row of devices.json."""

    prefix: str
    name: str
    general_key: str
    family: str | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a device's series are labelled with, and the family of its quota keys."""

    device_name: str
    product_name: str
    general_key: str
    family: str | None


class DevicesFileError(ValueError):
    """A devices.json that cannot be used."""


def parse(text: str, origin: str) -> tuple[Product, ...]:
    """Parse devices.json text; raise :class:`DevicesFileError` naming what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DevicesFileError(f"{origin}: not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise DevicesFileError(f"{origin}: must be a JSON list of {{sn, name, generalKey}}")
    products: list[Product] = []
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise DevicesFileError(f"{origin}: entry {index} is not an object")
        prefix, name = row.get("sn"), row.get("name")
        key, family = row.get("generalKey", UNKNOWN_GENERAL_KEY), row.get("family")
        if not isinstance(prefix, str) or not prefix or not isinstance(name, str):
            raise DevicesFileError(f"{origin}: entry {index} needs the strings sn and name")
        if not isinstance(key, str) or not (family is None or isinstance(family, str)):
            raise DevicesFileError(f"{origin}: entry {index}: generalKey/family must be strings")
        products.append(Product(prefix.upper(), name, key, family))
    return tuple(products)


@cache
def shipped() -> tuple[Product, ...]:
    """The devices.json shipped with the package."""
    text = resources.files(__package__).joinpath("devices.json").read_text(encoding="utf-8")
    return parse(text, "devices.json (shipped)")


@cache
def _load_file(path: str) -> tuple[Product, ...]:
    file = Path(path)
    try:
        if file.stat().st_size > _MAX_FILE_BYTES:
            raise DevicesFileError(f"{path}: larger than {_MAX_FILE_BYTES} bytes")
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DevicesFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DevicesFileError(f"{path}: not UTF-8 text") from None
    return parse(text, path)


def load(path: str | None = None) -> tuple[Product, ...]:
    """The products of ``path``, or the shipped ones; raises :class:`DevicesFileError`."""
    return shipped() if path is None else _load_file(path)


def match(serial: str, products: tuple[Product, ...]) -> Product | None:
    """The product whose prefix is the longest one the serial starts with."""
    serial = serial.upper()
    best: Product | None = None
    for product in products:
        if serial.startswith(product.prefix) and (
            best is None or len(product.prefix) > len(best.prefix)
        ):
            best = product
    return best


def resolve(
    serial: str,
    *,
    api_name: str = "",
    api_product: str = "",
    device_name: str | None = None,
    product_name: str | None = None,
    general_key: str | None = None,
    devices_json: str | None = None,
) -> Resolved:
    """Resolve the labels of a device in the seed's order (see the module docstring)."""
    try:
        found = match(serial, load(devices_json))
    except DevicesFileError as exc:  # checked when the configuration loads; changed since
        log.warning("ignoring %s", exc)
        found = None
    family = (found.family if found else None) or _shipped_family(serial)
    if not device_name:
        if api_name and api_name != serial:
            device_name = api_name
        elif found is not None:
            device_name = f"{found.name}-{serial[-4:]}"
        else:
            device_name = serial
    product_name = product_name or api_product or (found.name if found else UNKNOWN_PRODUCT)
    general_key = general_key or (found.general_key if found else UNKNOWN_GENERAL_KEY)
    return Resolved(device_name, product_name, general_key, family)


def _shipped_family(serial: str) -> str | None:
    found = match(serial, shipped())
    return found.family if found else None
