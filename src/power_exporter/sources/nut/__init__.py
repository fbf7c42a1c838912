"""UPSes behind Network UPS Tools: a read-only upsd client, NUT's variables as tables, raw names."""

from __future__ import annotations

from typing import Final

from power_exporter.sources.base import SourceKind
from power_exporter.sources.nut.config import NutConfig, target_config
from power_exporter.sources.nut.naming import NUT_NAMING
from power_exporter.sources.nut.source import discover, list_ups, open_source

KIND: Final = SourceKind(
    name="nut",
    config=NutConfig,
    open=open_source,
    naming=NUT_NAMING,
    description='UPSes served by a Network UPS Tools upsd (ups: NAME, or "*" for all)',
    target_schemes=("nut",),
    target_config=target_config,
    discover=discover,
)

__all__ = ["KIND", "NutConfig", "list_ups"]
