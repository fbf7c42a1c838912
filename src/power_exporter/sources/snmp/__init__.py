"""UPSes and PDUs on SNMP network cards (APC, Eaton, CyberPower, Tripp Lite, any UPS-MIB)."""

from __future__ import annotations

from typing import Final

from power_exporter.sources.base import SourceKind
from power_exporter.sources.snmp.config import SCHEME, SnmpConfig, target_config
from power_exporter.sources.snmp.naming import NAMING
from power_exporter.sources.snmp.source import SnmpSource, discover, open_source

KIND: Final = SourceKind(
    name="snmp",
    config=SnmpConfig,
    open=open_source,
    naming=NAMING,
    description="UPSes and PDUs on SNMP cards (v1, v2c, v3), profile chosen by sysObjectID",
    target_schemes=(SCHEME,),
    target_config=target_config,
    discover=discover,
)

__all__ = ["KIND", "SnmpConfig", "SnmpSource"]
