"""The configuration of a ``source: tripplite`` entry.

Which UPSes an entry reads, and what their devices are named:

- ``path: auto`` (the default): every HID device of USB vendor 09ae, each a device named
  ``<name>/<serial>`` (``<name>/<node>``, e.g. ``ups/hidraw0``, for one without a usable
  serial), even when there is only one, so that plugging in a second UPS renames nothing;
- ``path: auto`` with ``serial: X``: only the UPS with that serial, named exactly
  ``<name>``, followed across unplugging and renumbering;
- ``path: /dev/hidraw0`` (or a udev symlink such as ``/dev/ups-desk``): that device,
  named exactly ``<name>``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from power_exporter.sources.base import DeviceConfig

AUTO = "auto"


class TrippliteConfig(DeviceConfig):
    """A TrippLite UPS (or every one) on local USB HID."""

    source: Literal["tripplite"]
    path: str = Field(default=AUTO, min_length=1)
    serial: str | None = Field(default=None, min_length=1)

    @field_validator("serial")
    @classmethod
    def _serial_needs_auto(cls, serial: str | None, info: ValidationInfo) -> str | None:
        if serial is not None and info.data.get("path", AUTO) != AUTO:
            raise ValueError("serial picks a UPS among those found with path: auto; give one")
        return serial

    @property
    def fan_out(self) -> bool:
        """Whether every UPS found is a device of its own (``path: auto`` without serial)."""
        return self.path == AUTO and self.serial is None

    @property
    def fans_out(self) -> bool:
        """A fan-out entry, for sharding (see ``DeviceConfig.fans_out``)."""
        return self.fan_out
