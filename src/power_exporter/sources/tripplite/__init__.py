"""TrippLite UPSes on USB HID, without NUT (seed 004, numat/tripplite).

``source: tripplite`` reads the feature reports of TrippLite's protocol 2012 through
hidapi (``pip install hidapi``), exports the seed's ``tripplite_*`` metrics
beside the normalized ones, and ``power-exporter read tripplite`` prints the seed's JSON.
:class:`Battery` and :func:`battery_paths` are the seed's Python API.
"""

from __future__ import annotations

from power_exporter.sources.base import SourceKind
from power_exporter.sources.tripplite.api import (
    Battery,
    BatteryConnectError,
    BatteryDecodeError,
    battery_paths,
)
from power_exporter.sources.tripplite.commands import (
    SCHEME,
    discover,
    render_read,
    target_config,
)
from power_exporter.sources.tripplite.config import TrippliteConfig
from power_exporter.sources.tripplite.naming import NAMING
from power_exporter.sources.tripplite.source import TrippliteSource, open_source

KIND = SourceKind(
    name="tripplite",
    config=TrippliteConfig,
    open=open_source,
    naming=NAMING,
    description="TrippLite UPSes on local USB HID (hidapi), read-only",
    target_schemes=(SCHEME,),
    target_config=target_config,
    render_read=render_read,
    discover=discover,
)

__all__ = [
    "KIND",
    "Battery",
    "BatteryConnectError",
    "BatteryDecodeError",
    "TrippliteConfig",
    "TrippliteSource",
    "battery_paths",
]
