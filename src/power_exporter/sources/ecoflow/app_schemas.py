"""Protobuf devices with schemas of their own that we decode: which messages, by SN prefix.

``protobuf_families.SCHEMAS`` calls these products "foreign" (they reuse command numbers with
other layouts); a prefix listed here has its own messages decoded, the others of its payloads
are counted as unknown. Facts: the project's EcoFlow field notes, sections 1.2 and 1.8.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

# SN prefix -> the (cmd_func, cmd_id) pairs decoded for it (see envelope.COMMANDS).
PREFIX_COMMANDS: Final[Mapping[str, frozenset[tuple[int, int]]]] = {
    "HW52": frozenset({(2, 1), (254, 32)}),  # Smart Plug: heartbeat, energy totals
}


def own_commands(serial: str) -> frozenset[tuple[int, int]] | None:
    """The pairs decoded for a device of its own schema, or None (the usual rules apply)."""
    upper = serial.upper()
    found = [prefix for prefix in PREFIX_COMMANDS if upper.startswith(prefix)]
    return PREFIX_COMMANDS[max(found, key=len)] if found else None
