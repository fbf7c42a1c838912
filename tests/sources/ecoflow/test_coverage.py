"""The coverage table of docs/ecoflow.md, checked against the code and counted.

Each row claims what we make of a family on the developer API and on the app API; every
claim is checked here (a family table exists and devices.json names it for the row's SN
prefixes; a protobuf family said not decoded has no decoder; a raw-only family has no table),
and the sentence under the table must give the true count of families decoded by us against
the union of those tolwi/hassio-ecoflow-cloud and foxthefox/ioBroker.ecoflow-mqtt cover.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from power_exporter.sources.ecoflow import devices, families, more_families
from power_exporter.sources.ecoflow.protobuf_families import Schema, commands_for, schema_of

DOC = Path(__file__).resolve().parents[3] / "docs" / "ecoflow.md"
TABLES = set(families.FAMILIES) | set(more_families.FAMILIES)
STATES = {"normalized", "raw", "—"}


@dataclass(frozen=True)
class Row:
    family: str
    prefixes: tuple[str, ...]
    table: str
    developer: str
    app: str
    tolwi: bool
    foxthefox: bool

    @property
    def ours(self) -> bool:
        return self.developer != "—" or self.app != "—"


def coverage() -> tuple[list[Row], str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Coverage\n", 1)[1].split("\n## ", 1)[0]
    rows: list[Row] = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 7 or cells[0] in {"family", "---"} or set(cells[0]) <= {"-", " "}:
            continue
        prefixes = tuple(p.strip() for p in cells[1].split(",") if not p.startswith("("))
        rows.append(
            Row(
                cells[0],
                prefixes,
                cells[2],
                cells[3],
                cells[4],
                cells[5] == "yes",
                cells[6] == "yes",
            )
        )
    return rows, section


ROWS, SECTION = coverage()


def serial(prefix: str) -> str:
    return prefix + "Z" * (16 - len(prefix))


def test_table_is_found() -> None:
    """The table parses: every row has known states and the union is not empty."""
    assert len(ROWS) >= 20
    for row in ROWS:
        assert {row.developer, row.app} <= STATES, row.family
        assert row.tolwi or row.foxthefox, f"{row.family}: neither integration covers it"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.family)
def test_claims_match_the_code(row: Row) -> None:
    """A named table exists and is the one the SN prefixes resolve to; the rest follows."""
    if row.table == "power_station":
        for prefix in row.prefixes:
            assert schema_of(serial(prefix)) in {Schema.POWER_STATION, Schema.UNKNOWN}, prefix
            assert commands_for(serial(prefix)), prefix
        return
    if row.table:
        assert row.table in TABLES, row.table
        for prefix in row.prefixes:
            assert devices.resolve(serial(prefix)).family == row.table, prefix
    else:
        assert "normalized" not in {row.developer, row.app}, row.family
        for prefix in row.prefixes:
            assert devices.resolve(serial(prefix)).family is None, prefix
    for prefix in row.prefixes:
        decoders = commands_for(serial(prefix))
        if row.app == "—" and schema_of(serial(prefix)) is Schema.FOREIGN:
            assert decoders == {}, f"{prefix}: said not decoded on the app API"
        if row.app == "normalized" and schema_of(serial(prefix)) is Schema.FOREIGN:
            assert decoders, f"{prefix}: said decoded on the app API"


def test_count_is_true() -> None:
    """The sentence under the table gives our count against the union of both integrations."""
    union = [row for row in ROWS if row.tolwi or row.foxthefox]
    ours = [row for row in union if row.ours]
    normalized = [row for row in union if "normalized" in {row.developer, row.app}]
    words = " ".join(SECTION.split())
    match = re.search(r"We decode (\d+) of the (\d+) families .*?, (\d+) of them normalized", words)
    assert match, "the count sentence"
    counted = (int(match[1]), int(match[2]), int(match[3]))
    assert counted == (len(ours), len(union), len(normalized))
    assert len(ours) >= len(union), [row.family for row in union if not row.ours]
