"""A device energy total that resets mid-run, through a real Prometheus with the shipped rules.

The exporter (its real runtime, store, renderer and HTTP app, in a thread of this process)
reads a DELTA 2 Max from the fake EcoFlow cloud over the signed REST API, every second. The
device's AC-charge total (``pd.chgPowerAC``, Wh) grows, drops to almost nothing (a reboot),
and grows again. A real Prometheus, with deploy/prometheus/alerts.yml loaded, scrapes it.
The exported counter must never go back (``resets() == 0``), its samples must span exactly
the energy the device counted, and ``increase()`` over the reset must give that energy (up to
Prometheus's extrapolation to the window's edges, stated below), where a counter that
followed the device down would have added the device's whole total again.
"""

from __future__ import annotations

import contextlib
import functools
import json
from typing import TYPE_CHECKING

import pytest
import yaml
from aiohttp import web

from power_exporter.config import validate
from power_exporter.exposition.text import Renderer
from power_exporter.http import make_app
from power_exporter.runtime import Runtime
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.e2e.test_dashboard_kinds import Exporter
from tests.e2e.test_prometheus import Prometheus, fetch, free_port, running, wait_for
from tests.ops.paths import ROOT
from tests.peers import require_binary
from tests.sources.ecoflow import data
from tests.sources.ecoflow.fake_cloud import FakeCloud

if TYPE_CHECKING:
    from collections.abc import Iterator

RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
SERIAL = "R351ZEB4HF3A0360"
WH = 3600.0
DC = 21830  # pd.chgPowerDC of the capture, unchanged: part of the input energy
# The device's AC-charge total at each stage: +60 Wh, a reboot (down to 10), +60 Wh.
STAGES = (713540, 713600, 10, 70)
TRUE_WH = (713600 - 713540) + 70  # 60 before the reset, 10 + 60 after it
SERIES = 'power_input_energy_joules_total{device="station"}'


async def _start(port: int) -> tuple[Runtime, web.AppRunner, FakeCloud]:
    cloud = await FakeCloud().start()
    cloud.add(SERIAL, data.delta2max() | {"pd.chgPowerAC": STAGES[0]})
    device = {
        "name": "station",
        "source": "ecoflow",
        "serial": SERIAL,
        "access_key": cloud.access_key,
        "secret_key": cloud.secret_key,
        "host": cloud.url,
        "interval": "1s",
    }
    config = validate({"devices": [device]})
    store = Store()
    runtime = Runtime(config.devices, store)
    app = make_app(store, Renderer(store, lambda kind: KINDS[kind].naming), runtime)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    runtime.start()
    return runtime, runner, cloud


async def _stop(runtime: Runtime, runner: web.AppRunner, cloud: FakeCloud) -> None:
    await runtime.stop()
    await runner.cleanup()
    await cloud.stop()


async def _set_total(cloud: FakeCloud, value: int) -> None:
    cloud.devices[SERIAL].quota["pd.chgPowerAC"] = value


@pytest.fixture(scope="module")
def energy_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Prometheus, Exporter, FakeCloud]]:
    """A Prometheus (with the shipped rules) scraping an exporter reading one EcoFlow device."""
    prometheus = require_binary("prometheus", install="apt-get install prometheus")
    tmp = tmp_path_factory.mktemp("energy")
    with contextlib.ExitStack() as stack:
        exporter = Exporter()
        stack.callback(exporter.close)
        port = free_port()
        started = exporter.run(_start(port))
        stack.callback(lambda: exporter.run(_stop(*started)))
        config = tmp / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {
                            "job_name": "power",
                            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
                        }
                    ],
                }
            )
        )
        api = f"127.0.0.1:{free_port()}"
        command = [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address={api}",
            "--log.level=warn",
        ]
        server = stack.enter_context(running(command, tmp / "prometheus.log"))
        wait_for("Prometheus to answer", lambda: fetch(f"http://{api}/-/ready"), server)
        yield Prometheus(f"http://{api}"), exporter, started[2]


def _value(client: Prometheus, expr: str) -> float | None:
    result = client.query(expr)
    return float(result[0]["value"][1]) if result else None


def _samples_beyond(client: Prometheus, count: float) -> bool:
    return (_value(client, f"count_over_time({SERIES}[1h])") or 0.0) >= count


def test_increase_over_a_device_reset(
    energy_stack: tuple[Prometheus, Exporter, FakeCloud],
) -> None:
    """The counter never goes back; increase() over the reboot is the energy truly counted."""
    client, exporter, cloud = energy_stack
    rules = client.query("count(ALERTS) or vector(0)")  # the rule files loaded and evaluate
    assert rules is not None
    groups = json.loads(fetch(f"{client.base}/api/v1/rules"))["data"]["groups"]
    assert groups, "the shipped rules are loaded"

    def counter_at(total_wh: float) -> float | None:
        value = _value(client, SERIES)
        return value if value is not None and abs(value - total_wh * WH) < 1e-6 else None

    expected = STAGES[0] + DC
    wait_for("the first total in Prometheus", lambda: counter_at(expected))
    start = _value(client, "vector(time())")
    assert start is not None
    last = STAGES[0]
    for stage in STAGES[1:]:
        exporter.run(_set_total(cloud, stage))
        expected += stage - last if stage >= last else stage
        last = stage
        wait_for(f"the counter at {expected} Wh", functools.partial(counter_at, expected))
        # hold each stage for a few scrapes, so that every stage has samples of its own
        target = _value(client, f"count_over_time({SERIES}[1h])")
        assert target is not None
        wait_for("three more samples", functools.partial(_samples_beyond, client, target + 3))
    now = _value(client, "vector(time())")
    assert now is not None
    # from before the first stage's samples (its value is the same all along) to now
    window = f"{int(now - start) + 10}s"
    assert _value(client, f"resets({SERIES}[{window}])") == 0.0
    first_last = _value(
        client, f"max_over_time({SERIES}[{window}]) - min_over_time({SERIES}[{window}])"
    )
    assert first_last == pytest.approx(TRUE_WH * WH)
    increase = _value(client, f"increase({SERIES}[{window}])")
    assert increase is not None
    # increase() extrapolates the samples' span to the window's edges: by at most about one
    # scrape interval (1 s) at each end, over samples spanning nine seconds or more. A counter that
    # followed the device down would instead add its whole total (about 735 000 Wh) again.
    assert TRUE_WH * WH * 0.95 <= increase <= TRUE_WH * WH * 1.4
    kwh_today = _value(client, f"increase({SERIES}[1d]) / 3.6e6")
    assert kwh_today is not None
    assert kwh_today < 1.0  # 0.13 kWh truly counted, extrapolated: never the device's total
