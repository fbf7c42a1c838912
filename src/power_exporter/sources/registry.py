"""Every kind of device the exporter knows: one line per kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.sources.base import SourceKind


def _kinds() -> Mapping[str, SourceKind]:
    from power_exporter.sources import (  # noqa: PLC0415 (kinds import sources.base)
        apcupsd,
        ecoflow,
        nut,
        replay,
        snmp,
        tripplite,
        udp_meter,
    )

    kinds: tuple[SourceKind, ...] = (
        nut.KIND,
        replay.KIND,
        tripplite.KIND,
        ecoflow.KIND,
        udp_meter.KIND,
        apcupsd.KIND,
        snmp.KIND,
    )
    return {kind.name: kind for kind in kinds}


KINDS: Final[Mapping[str, SourceKind]] = _kinds()
