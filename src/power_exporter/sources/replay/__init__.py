"""Replayed NUT dumps (``.dev``/``.seq``), served through the NUT tables and raw names."""

from __future__ import annotations

from typing import Final

from power_exporter.sources.base import SourceKind
from power_exporter.sources.nut.naming import NUT_NAMING
from power_exporter.sources.replay.source import ReplayConfig, open_source

KIND: Final = SourceKind(
    name="replay",
    config=ReplayConfig,
    open=open_source,
    naming=NUT_NAMING,  # a replayed dump is a NUT device: same raw names, same family objects
    description="a NUT .dev/.seq dump replayed as a UPS (file: PATH), e.g. for a demo",
)

__all__ = ["KIND", "ReplayConfig"]
