"""Every kind of device the exporter knows: one line per kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from power_exporter.sources import udp_meter

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.sources.base import SourceKind


def _kinds() -> Mapping[str, SourceKind]:
    kinds: tuple[SourceKind, ...] = (udp_meter.KIND,)
    return {kind.name: kind for kind in kinds}


KINDS: Final[Mapping[str, SourceKind]] = _kinds()
