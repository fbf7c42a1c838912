"""What the renderer keeps per device and per block of devices (see text.py).

A device's *row* holds the text of its sample lines in each family's slot ("" where it has
none); a *block* of up to ``BLOCK`` devices keeps its rows joined per family, so a scrape
joins a few long byte strings per family rather than one short string per device and family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from power_exporter.model import DeviceIdentity, Flag
    from power_exporter.store import DeviceState

BLOCK: Final = 32  # devices per block


@dataclass(slots=True)
class Row:
    """One device's row, and what it was rendered from."""

    state: DeviceState  # the state this row was rendered from
    block: Block
    name: str
    row: list[str]
    labels: str  # '{device="..."' (each line adds its other labels and "} value")
    reading_version: int = -1
    stats_version: int = -1
    # Tuples: of ints only, the garbage collector stops tracking them (a list it walks for ever).
    reading_slots: tuple[int, ...] = ()
    stats_slots: tuple[int, ...] = ()
    info: tuple[DeviceIdentity | None, str] = (None, "")
    status_key: tuple[frozenset[Flag], frozenset[Flag]] | None = None
    status_text: str = ""

    @classmethod
    def make(cls, state: DeviceState, block: Block, labels: str, slots: int) -> Row:
        """A device's empty row, in ``block``, with its rendered ``device`` label."""
        return cls(state=state, block=block, name=state.name, row=[""] * slots, labels=labels)

    def put(self, texts: dict[int, str], old: tuple[int, ...]) -> tuple[int, ...]:
        """Set the row's slots to ``texts``, clearing the ``old`` slots not among them."""
        row = self.row
        for slot in old:
            row[slot] = ""
        if texts and max(texts) >= len(row):
            row.extend([""] * (max(texts) + 1 - len(row)))
        for slot, text in texts.items():
            row[slot] = text
        return tuple(texts)


@dataclass(slots=True, eq=False)
class Block:
    """Up to ``BLOCK`` devices and their rows joined family by family."""

    devices: list[Row] = field(default_factory=list)
    columns: list[bytes] = field(default_factory=list)

    def rebuild(self) -> None:
        """Join the rows of the block family by family."""
        rows = (device.row for device in self.devices)
        self.columns = ["".join(column).encode() for column in zip_longest(*rows, fillvalue="")]
