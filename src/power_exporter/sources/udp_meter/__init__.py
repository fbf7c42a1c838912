"""UDP power meters (seed 003): protobuf measurement datagrams, polled or pushed."""

from __future__ import annotations

from typing import Final

from power_exporter.sources.base import SourceKind
from power_exporter.sources.udp_meter.config import KIND as KIND_NAME
from power_exporter.sources.udp_meter.config import UdpMeterConfig, from_env
from power_exporter.sources.udp_meter.naming import UdpMeterNaming
from power_exporter.sources.udp_meter.source import open_source

KIND: Final = SourceKind(
    name=KIND_NAME,
    config=UdpMeterConfig,
    open=open_source,
    naming=UdpMeterNaming(),
    description="UDP power meter: protobuf measurements, polled with DATA_REQUEST or pushed",
    from_env=from_env,
)

__all__ = ["KIND", "UdpMeterConfig", "from_env", "open_source"]
