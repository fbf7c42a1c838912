"""The command line's hooks: ``read tripplite[:PATH]`` and ``discover``.

``power-exporter read tripplite`` prints what the seed's ``tripplite`` command printed, byte
for byte: ``json.dumps(..., indent=4, sort_keys=True)`` of the seed's structure, one object
for one UPS and a list for several, so ``jq '.status."ac present"'`` scripts keep working.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from power_exporter.sources.tripplite.config import AUTO
from power_exporter.sources.tripplite.identity import key_name, keyed
from power_exporter.sources.tripplite.reports import seed_json, state_from_raw
from power_exporter.sources.tripplite.transport import TRIPPLITE_VENDOR_ID, HidapiTransport

if TYPE_CHECKING:
    from collections.abc import Sequence

    from power_exporter.model import Reading
    from power_exporter.sources.tripplite.transport import HidTransport

SCHEME: Final = "tripplite"


def render_read(readings: Sequence[Reading]) -> str:
    """The seed's JSON of these readings."""
    return seed_json([state_from_raw(r.raw, r.text) for r in readings])


def target_config(target: str) -> dict[str, object]:
    """``tripplite`` (every UPS) or ``tripplite:PATH`` (one) as a device config."""
    _, _, rest = target.partition(":")
    path = rest.removeprefix("//") or AUTO
    return {"name": SCHEME, "source": SCHEME, "path": path}


async def discover(
    where: str | None, transport: HidTransport | None = None
) -> list[dict[str, object]]:
    """A config entry for each TrippLite on this host's USB (``where`` names another host)."""
    if where is not None:
        return []  # USB is only ever local
    found = await asyncio.to_thread((transport or HidapiTransport()).enumerate, TRIPPLITE_VENDOR_ID)
    entries: list[dict[str, object]] = []
    for key, info in keyed(found).items():
        kind, _, value = key.partition(":")
        # A serial follows the UPS anywhere; without one, only an entry of its own path can
        # name it (a port is not a config key: path: auto names it <name>/usb-<port>).
        entry: dict[str, object] = {"serial": value} if kind == "serial" else {"path": info.path}
        entries.append({"name": f"{SCHEME}-{key_name(key)}", "source": SCHEME, **entry})
    return entries
