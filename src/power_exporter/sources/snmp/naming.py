"""Raw SNMP series named as snmp_exporter's generator names them (its ``apcups`` module).

Every numeric object read is a gauge named after its MIB object (``upsAdvBatteryCapacity``,
``upsHighPrecOutputLoad``), with its value as the agent sent it (TimeTicks stay hundredths
of a second, tenths stay tenths), and a table's rows carry its index object as a label
(``upsInputVoltage{upsInputLineIndex="1"}``), so dashboards built on snmp_exporter keep
working. The exposition adds ``device`` in front. These names (and the index labels) are
camelCase, as the MIB spells them, which ``promtool check metrics`` flags: they are exported
only for a device configured with ``raw: true``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from power_exporter.sources.base import RawFamily, RawSample
from power_exporter.sources.snmp.reading import RAW_SEPARATOR

if TYPE_CHECKING:
    from collections.abc import Iterable

    from power_exporter.model import DeviceIdentity, Reading


@cache
def family(name: str) -> RawFamily:
    """One family object per MIB object name (the exposition wants them identical)."""
    return RawFamily(name, "gauge", f"SNMP object {name}, as the agent sent it")


class SnmpNaming:
    """Raw samples of an SNMP reading under snmp_exporter's names."""

    def samples(self, reading: Reading) -> Iterable[RawSample]:
        """One gauge per numeric object read, table rows labelled by their index object."""
        out: list[RawSample] = []
        for key in sorted(reading.raw):
            name, _, row = key.partition(RAW_SEPARATOR)
            label, _, index = row.partition("=")
            labels = ((label, index),) if row else ()
            out.append(RawSample(family(name), reading.raw[key], labels))
        return out

    def down_samples(self, identity: DeviceIdentity) -> Iterable[RawSample]:  # noqa: ARG002
        """Nothing: snmp_exporter's scrape of an agent that does not answer has no series."""
        return ()


NAMING = SnmpNaming()
