"""The shipped recording rules give back the upsc exporter's metrics, checked by promtool."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from prometheus_client.parser import text_string_to_metric_families as parse_text

from power_exporter.exposition.text import Renderer
from power_exporter.model import Reading
from power_exporter.sources.registry import KINDS
from power_exporter.sources.replay.source import ReplayConfig, ReplaySource
from power_exporter.store import Store
from tests.peers import require_binary
from tests.sources.nut.conftest import DUMPS

if TYPE_CHECKING:
    from collections.abc import Mapping

RULES = Path(__file__).parents[3] / "examples" / "prometheus" / "upsc-exporter-names.rules.yml"
ECO = DUMPS["eaton-ellipse-eco-1600"]  # the seed's UPS family


def seed_values(dump: Mapping[str, str]) -> dict[str, float]:
    """What the upsc exporter printed for a UPS: upsc's values verbatim, status 1 iff exactly OL."""
    return {
        "ups_battery_charge_percent": float(dump["battery.charge"]),
        "ups_output_voltage_volts": float(dump["output.voltage"]),
        "ups_load_percent": float(dump["ups.load"]),
        "ups_power_status": 1.0 if dump["ups.status"] == "OL" else 0.0,
        "ups_battery_duration": float(dump["battery.runtime"]),
        "ups_delay_start": float(dump["ups.delay.start"]),
        "ups_delay_shutdown": float(dump["ups.delay.shutdown"]),
    }


async def test_old_names_from_new_series(tmp_path: Path) -> None:
    """Series rendered from two replayed Ellipse ECO dumps (OL CHRG, OL) give the old values."""
    promtool = require_binary("promtool", install="apt-get install prometheus")
    on_line = tmp_path / "eco-ol.dev"
    on_line.write_text(ECO.read_text().replace("ups.status: OL CHRG", "ups.status: OL"))
    store = Store()
    expected: dict[str, dict[str, float]] = {}
    for name, path in (("eco", ECO), ("eco-ol", on_line)):
        cfg = ReplayConfig.model_validate({"name": name, "source": "replay", "file": str(path)})
        async with ReplaySource(cfg) as source:
            (reading,) = await source.read()
        assert isinstance(reading, Reading)
        store.update(reading, unit=name, interval=15)
        expected[name] = seed_values(
            {**reading.text, **{k: str(v) for k, v in reading.raw.items()}}
        )
    assert expected["eco"]["ups_power_status"] == 0.0
    assert expected["eco-ol"]["ups_power_status"] == 1.0

    text = Renderer(store, lambda kind: KINDS[kind].naming).render().decode()
    series = [
        {"series": _series(sample.name, sample.labels), "values": repr(sample.value)}
        for family in parse_text(text)
        if family.name.startswith(("power_", "network_ups_tools_"))
        for sample in family.samples
    ]
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": metric,
                        "eval_time": "0m",
                        "exp_samples": [
                            {"labels": f'{metric}{{device="{device}"}}', "value": values[metric]}
                            for device, values in sorted(expected.items())
                        ],
                    }
                    for metric in sorted(expected["eco"])
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests))
    result = await asyncio.to_thread(
        subprocess.run,
        [promtool, "test", "rules", str(tmp_path / "test.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _series(name: str, labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"
