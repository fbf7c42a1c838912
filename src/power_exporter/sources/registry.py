"""Every kind of device the exporter knows: one line per kind.

A kind is imported the first time it is looked up (a device of that kind is configured, or a
command lists every kind), so a kind nobody configured costs no memory: its configuration
model is never built and its libraries (protobuf, MQTT, hidapi) are never loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from power_exporter.sources.base import SourceKind

MODULES: Final[Mapping[str, str]] = {
    "nut": "power_exporter.sources.nut",
    "replay": "power_exporter.sources.replay",
    "tripplite": "power_exporter.sources.tripplite",
    "ecoflow": "power_exporter.sources.ecoflow",
    "udp_meter": "power_exporter.sources.udp_meter",
    "apcupsd": "power_exporter.sources.apcupsd",
    "snmp": "power_exporter.sources.snmp",
}
"""Kind name -> the module whose ``KIND`` describes it."""


class LazyKinds(Mapping[str, "SourceKind"]):
    """Kind name -> SourceKind, each kind's module imported at its first lookup."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = modules
        self._loaded: dict[str, SourceKind] = {}

    def __getitem__(self, name: str) -> SourceKind:
        kind = self._loaded.get(name)
        if kind is None:
            module = importlib.import_module(self._modules[name])  # KeyError: not a kind
            kind = self._loaded[name] = module.KIND
            if kind.name != name:  # pragma: no cover - a wrong line in MODULES
                raise RuntimeError(f"{self._modules[name]} describes {kind.name}, not {name}")
        return kind

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


KINDS: Final[Mapping[str, SourceKind]] = LazyKinds(MODULES)
