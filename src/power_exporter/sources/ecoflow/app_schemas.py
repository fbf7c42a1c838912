"""Protobuf devices with schemas of their own that we decode: which messages, by SN prefix.

``protobuf_families.SCHEMAS`` calls these products "foreign" (they reuse command numbers with
other layouts); a prefix listed here has its own messages decoded, the others of its payloads
are counted as unknown. Facts: the project's EcoFlow field notes, sections 1.2 and 1.8.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from power_exporter.sources.ecoflow.app_energy_systems import ENERGY_SYSTEM_COMMANDS
from power_exporter.sources.ecoflow.envelope import COMMANDS, Command
from power_exporter.sources.ecoflow.proto import alternator_pb2, cooler_pb2, panel_pb2

if TYPE_CHECKING:
    from collections.abc import Mapping

    from google.protobuf.message import Message

_PANEL: Final = Command(
    "panel_display", panel_pb2.PanelDisplay, lambda _message: "shp3.", json_names=False
)
_OCEAN_INVERTER: Final = Command(
    "ocean_inverter_display",
    panel_pb2.OceanInverterDisplay,
    lambda _message: "ocean.",
    json_names=False,
)
_STATION_REPORTS: Final = {cmd: COMMANDS[cmd] for cmd in ((254, 22), (32, 2), (32, 50))}
# Glacier Classic's display: the stations' battery fields and its cooler's (cooler.proto)
_GLACIER_DISPLAY: Final = Command(
    "display", cooler_pb2.GlacierClassicDisplay, lambda _message: "", json_names=False
)


def _ocean_pack(message: Message) -> str:
    return f"ocean_pack[{getattr(message, 'slot', 0)}]."


_GLACIER_COMMANDS: Final = {(254, 21): _GLACIER_DISPLAY, **_STATION_REPORTS}


# OCEAN Pro's per-pack battery power (32/177): one scope per pack slot, raw only
_OCEAN_PACK: Final = Command("ocean_pack", panel_pb2.OceanPackReport, _ocean_pack)
_ALTERNATOR: Final = Command(
    "alternator_report",
    alternator_pb2.AlternatorReport,
    lambda _message: "254_21.",
    json_names=True,
)

# SN prefix -> the messages decoded for it, by (cmd_func, cmd_id).
PREFIX_COMMANDS: Final[Mapping[str, Mapping[tuple[int, int], Command]]] = {
    # Smart Plug: heartbeat, energy totals
    "HW52": {(2, 1): COMMANDS[(2, 1)], (254, 32): COMMANDS[(254, 32)]},
    # WAVE 3: display and runtime uploads numbered as the power stations' (tolwi's wave3
    # schema: 3/4 total in/out W, 242/262 charge, 254/268 remaining minutes, 361 PV W...);
    # its BMS and other reports are not decoded
    "AC71": {(254, 21): COMMANDS[(254, 21)], (254, 22): COMMANDS[(254, 22)]},
    # Glacier Classic: the same numbering in its display/runtime uploads, CMS and BMS
    # heartbeats (tolwi's glacier classic schema); its display with its cooler's fields
    **dict.fromkeys(("RF43", "RF44", "RF45"), _GLACIER_COMMANDS),
    # Smart Home Panel 3: its display upload (grid, load, legs, 32 circuits)
    # (and the OCEAN Smart Panel, the same layout with 40 circuits)
    **{prefix: {(254, 21): _PANEL} for prefix in ("HR62", "HR63", "HR6C", "HR61")},
    # OCEAN Pro inverter: its display upload (charge, PV strings, AC output), pack power
    "HR51": {(254, 21): _OCEAN_INVERTER, (32, 177): _OCEAN_PACK},
    # Alternator Charger: its report, as a heartbeat (254/21) and as a push (254/37)
    "F371": {(254, 21): _ALTERNATOR, (254, 37): _ALTERNATOR},
    # STREAM, Smart Meter, PowerOcean: app_energy_systems.py
    **ENERGY_SYSTEM_COMMANDS,
}


def own_commands(serial: str) -> Mapping[tuple[int, int], Command] | None:
    """The messages decoded for a device of its own schema, or None (the usual rules apply)."""
    upper = serial.upper()
    found = [prefix for prefix in PREFIX_COMMANDS if upper.startswith(prefix)]
    return PREFIX_COMMANDS[max(found, key=len)] if found else None
