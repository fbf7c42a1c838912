"""The quota maps of the real captures in tests/fixtures/ecoflow (see PROVENANCE.md there)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

FIXTURES: Final = Path(__file__).resolve().parents[2] / "fixtures" / "ecoflow"


def _json(name: str) -> dict[str, object]:
    return _object(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


def _object(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return value


def _params(*names: str) -> dict[str, object]:
    merged: dict[str, object] = {}
    for name in names:
        text = (FIXTURES / name).read_text(encoding="utf-8")
        pushes = text.splitlines() if name.endswith(".jsonl") else [text]
        for push in pushes:
            merged.update(_object(json.loads(push)["params"]))
    return merged


def _quota_map(name: str) -> dict[str, object]:
    return _object(_object(_json(name)["data"])["quotaMap"])


def delta2() -> dict[str, object]:
    """DELTA 2, discharging 344 W (178 keys)."""
    return _quota_map("tolwi-diag__delta2__thing-property-get_reply__latestQuotas.json")


def delta2max() -> dict[str, object]:
    """DELTA 2 Max with an extra battery, charging from solar and AC (303 keys)."""
    return _quota_map("tolwi-diag__delta2max__thing-property-get_reply__latestQuotas.json")


def delta_mini() -> dict[str, object]:
    """DELTA mini: one cycle of five pushes merged."""
    return _params("tolwi-diag__deltamini__device-property-push__5-msg-cycle.jsonl")


def river_mini() -> dict[str, object]:
    """RIVER mini: its inv and pd pushes merged."""
    return _params(
        "tolwi-diag__rivermini__device-property-push__inv.json",
        "tolwi-diag__rivermini__device-property-push__pd.json",
    )


def delta_pro() -> dict[str, object]:
    """DELTA Pro, discharging 155 W (207 keys)."""
    return _json("tolwi-diag__deltapro__quota.json")


def powerstream() -> dict[str, object]:
    """PowerStream, charging its battery from two panels."""
    return _json("tolwi-diag__powerstream__quota.json")
