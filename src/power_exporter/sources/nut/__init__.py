"""UPSes behind Network UPS Tools: a read-only upsd client, NUT's variables as tables, raw names.

``KIND`` is built at its first use (the registry's lookup of ``nut``): the replay kind imports
this package for its tables and raw naming only, and so does without the upsd client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from power_exporter.sources.base import SourceKind
    from power_exporter.sources.nut.config import NutConfig

__all__ = ["KIND", "NutConfig", "list_ups"]


def _kind() -> SourceKind:
    from power_exporter.sources.base import SourceKind  # noqa: PLC0415 (at first use)
    from power_exporter.sources.nut.config import (  # noqa: PLC0415
        NutConfig,
        target_config,
    )
    from power_exporter.sources.nut.naming import NUT_NAMING  # noqa: PLC0415
    from power_exporter.sources.nut.source import discover, open_source  # noqa: PLC0415

    return SourceKind(
        name="nut",
        config=NutConfig,
        open=open_source,
        naming=NUT_NAMING,
        description='UPSes served by a Network UPS Tools upsd (ups: NAME, or "*" for all)',
        target_schemes=("nut",),
        target_config=target_config,
        discover=discover,
    )


def __getattr__(name: str) -> object:
    """``KIND``, ``NutConfig`` and ``list_ups``, imported when first asked for."""
    if name == "KIND":
        kind = globals()["KIND"] = _kind()
        return kind
    if name == "NutConfig":
        from power_exporter.sources.nut.config import NutConfig  # noqa: PLC0415

        return NutConfig
    if name == "list_ups":
        from power_exporter.sources.nut.source import list_ups  # noqa: PLC0415

        return list_ups
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
