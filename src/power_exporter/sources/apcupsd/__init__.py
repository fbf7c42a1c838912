"""UPSes watched by apcupsd, read over its Network Information Server (NIS, TCP 3551)."""

from __future__ import annotations

from typing import Final

from power_exporter.sources.apcupsd.config import ApcupsdConfig, target_config
from power_exporter.sources.apcupsd.naming import APCUPSD_NAMING
from power_exporter.sources.apcupsd.source import discover, open_source
from power_exporter.sources.base import SourceKind

KIND: Final = SourceKind(
    name="apcupsd",
    config=ApcupsdConfig,
    open=open_source,
    naming=APCUPSD_NAMING,
    description="the UPS of an apcupsd, read from its network server (server: host[:3551])",
    target_schemes=("apcupsd",),
    target_config=target_config,
    discover=discover,
)

__all__ = ["KIND", "ApcupsdConfig"]
