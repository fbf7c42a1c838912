"""Every dashboard query in a real Prometheus over a real exporter reading every source kind.

One exporter runs in this process (the real runtime, store, renderer and aiohttp app) with a
device of each kind, each behind what the project accepts as its peer: a real upsd with
dummy-ups replaying a DDL dump (``nut``), a DDL dump replayed in process (``replay``), the
Tripp Lite HID report replay at the transport seam (``tripplite``), the fake EcoFlow cloud
speaking the signed REST API (``ecoflow``), the stand-in UDP meter (``udp_meter``), a real
apcupsd with its test driver (``apcupsd``) and snmpsim serving an APC card's recording
(``snmp``). A real
Prometheus scrapes it; every panel query of the dashboard must run, and return data whenever
the families it needs are served.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from power_exporter.config import validate
from power_exporter.exposition.text import Renderer
from power_exporter.http import make_app
from power_exporter.runtime import Runtime
from power_exporter.sources.registry import KINDS
from power_exporter.sources.tripplite import source as tripplite_source
from power_exporter.sources.udp_meter.protocol import Measurement
from power_exporter.store import Store
from tests.e2e.test_prometheus import Prometheus, fetch, free_port, running, wait_for
from tests.ops.paths import DASHBOARD, ROOT
from tests.ops.test_dashboard import PENDING, panels
from tests.peers import require_binary
from tests.peers.apcupsd import Apcupsd
from tests.peers.snmpsim import FIXTURES as SNMP_FIXTURES
from tests.peers.snmpsim import start_snmpsim
from tests.peers.upsd import Upsd, ups_name
from tests.sources.ecoflow import data as ecoflow_data
from tests.sources.ecoflow.fake_cloud import FakeCloud
from tests.sources.tripplite.replay import ReplayTransport, ReplayUps, info
from tests.sources.udp_meter.standin import StandInMeter, start_meter

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator

NUT_DUMP = ROOT / "tests" / "fixtures" / "nut-ddl" / "APC__Smart-UPS_1000__snmp-ups__2.7.4__02.dev"
REPLAY_DUMP = ROOT / "examples" / "demo" / "rack-ups.dev"
STATION = "R331ZEB4ZEAL0001"
SNMP_CARD = "librenms_apc_smt750x-nmc2"  # the recording, and so the community
JOB = "power"
# Queries that may rightly be empty although their families are served.
MAY_BE_EMPTY = {
    # Only while a device is down: the last known value, marked stale.
    "unless on (device)": "a stale value, shown only while the device is down",
    # Labelled families of issue 13: the `phase` label is not exported yet.
    'phase!=""': "per-phase series come with the labelled families",
}


Kinds = tuple[Prometheus, str, "Callable[[], None]"]


class Exporter:
    """The exporter's event loop, in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


async def _tick(meter: StandInMeter) -> None:
    """Run the meter's clock and charge counter on, as a live meter's (else it goes stale)."""
    while True:
        await asyncio.sleep(0.5)
        now = meter.measurement
        meter.measurement = Measurement(
            timestamp_us=now.timestamp_us + 500_000,
            charge_mas=now.charge_mas + now.current_ma * 0.5,
            current_ma=now.current_ma,
        )


async def _start(
    upsd: Upsd, ups: str, port: int, apc: Apcupsd, snmp_agent: str
) -> tuple[Runtime, web.AppRunner, Any, Any]:
    cloud = await FakeCloud().start()
    cloud.add(STATION, ecoflow_data.delta2())
    meter: StandInMeter = await start_meter()
    ticking = asyncio.create_task(_tick(meter))
    devices: list[dict[str, object]] = [
        {"name": "rack", "source": "nut", "server": upsd.server, "ups": ups},
        {"name": "replayed", "source": "replay", "file": str(REPLAY_DUMP)},
        {"name": "desk", "source": "tripplite"},
        {
            "name": "station",
            "source": "ecoflow",
            "serial": STATION,
            "access_key": cloud.access_key,
            "secret_key": cloud.secret_key,
            "host": cloud.url,
        },
        {"name": "meter", "source": "udp_meter", "address": f"127.0.0.1:{meter.port}"},
        {"name": "backroom", "source": "apcupsd", "server": apc.server},
        {"name": "card", "source": "snmp", "host": snmp_agent, "community": SNMP_CARD},
    ]
    config = validate({"devices": [device | {"interval": "1s"} for device in devices]})
    store = Store()
    runtime = Runtime(config.devices, store)
    app = make_app(store, Renderer(store, lambda kind: KINDS[kind].naming), runtime)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    runtime.start()
    return runtime, runner, cloud, (meter, ticking)


async def _stop(runtime: Runtime, runner: web.AppRunner, cloud: Any, udp: Any) -> None:
    meter, ticking = udp
    ticking.cancel()
    await runtime.stop()
    await runner.cleanup()
    await cloud.stop()
    meter.close()


@pytest.fixture(scope="module")
def kinds_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kinds]:
    """A Prometheus scraping an exporter with one device of every kind."""
    prometheus = require_binary("prometheus", install="apt-get install prometheus")
    tmp = tmp_path_factory.mktemp("kinds")
    ups = ups_name(NUT_DUMP)
    upsd = Upsd(tmp / "nut", {ups: NUT_DUMP})
    apc = Apcupsd(tmp / "apcupsd")
    transport = ReplayTransport(ReplayUps(info("/dev/hidraw0")))
    with contextlib.ExitStack() as stack:
        upsd.start()
        stack.callback(upsd.stop)
        apc.start()
        stack.callback(apc.stop)
        recording = SNMP_FIXTURES / f"{SNMP_CARD}.snmprec"
        snmpsim = start_snmpsim(tmp / "snmpsim", [recording], wait_for=SNMP_CARD)
        stack.callback(snmpsim.stop)
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(tripplite_source, "HidapiTransport", lambda: transport)
        exporter = Exporter()
        stack.callback(exporter.close)
        port = free_port()
        started = exporter.run(_start(upsd, ups, port, apc, snmpsim.host))
        stack.callback(lambda: exporter.run(_stop(*started)))
        address = f"127.0.0.1:{port}"
        config = tmp / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                    "scrape_configs": [
                        {"job_name": JOB, "static_configs": [{"targets": [address]}]}
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
        _, _, cloud, _ = started
        yield Prometheus(f"http://{api}"), address, lambda: exporter.run(cloud.stop())


def _served(address: str) -> set[str]:
    text = fetch(f"http://{address}/metrics")
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    return names | {"up", "scrape_duration_seconds"}


def _queries() -> list[tuple[str, str]]:
    replacements = {
        "$__rate_interval": "1m",
        "$__range_s": "3600",
        "$__range": "1h",
        "$job": JOB,
        "$instance": ".*",
        "$device": ".*",
    }
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    out = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable in sorted(replacements, key=len, reverse=True):
                expr = expr.replace(variable, replacements[variable])
            out.append((f"{panel['title']} {target['refId']}", expr))
    return out


def test_every_kind_is_up(kinds_stack: Kinds) -> None:
    """Prometheus holds a device of every source kind, each up."""
    client, _, _ = kinds_stack

    def all_up() -> dict[str, str] | None:
        info_series = client.query("power_device_info")
        up = {s["metric"]["device"]: s["value"][1] for s in client.query("power_device_up")}
        sources = {s["metric"]["source"]: s["metric"]["device"] for s in info_series}
        ready = set(sources) == set(KINDS) and all(up.get(d) == "1" for d in sources.values())
        return sources if ready else None

    sources = wait_for("a device of every kind up", all_up)
    assert set(sources) == set(KINDS)


def test_every_panel_query_has_data(kinds_stack: Kinds) -> None:
    """Each query runs; each whose families are served returns data, for every kind at once."""
    from tests.ops.promql import metric_names  # noqa: PLC0415

    client, address, _ = kinds_stack
    test_every_kind_is_up(kinds_stack)
    served = _served(address)
    required = []
    for where, expr in _queries():
        names = metric_names(expr)
        excused = [why for marker, why in MAY_BE_EMPTY.items() if marker in expr]
        if names & PENDING:
            excused.append("issue 13's labelled families are not in the contract yet")
        if names <= served and not excused:
            required.append((where, expr))
        client.query(expr)  # every query runs, data or not
    assert len(required) > 40

    def missing() -> list[str]:
        return [where for where, expr in required if not client.query(expr)]

    def none_missing() -> bool:
        return not missing()

    with contextlib.suppress(pytest.fail.Exception):
        wait_for("every served panel with data", none_missing)
    assert missing() == []


def test_fleet_counts_every_kind(kinds_stack: Kinds) -> None:
    """The fleet's device count covers a device of each of the five kinds."""
    client, _, _ = kinds_stack
    test_every_kind_is_up(kinds_stack)
    (devices_up,) = client.query(dict(_queries())["Devices up A"])
    assert float(devices_up["value"][1]) == len(KINDS)


def test_a_down_device_shows_its_last_values(kinds_stack: Kinds) -> None:
    """The EcoFlow cloud goes away: the station is down, its charge shown as last known.

    (Last in this module: it leaves the station down.)
    """
    client, _, stop_cloud = kinds_stack
    test_every_kind_is_up(kinds_stack)
    queries = dict(_queries())
    (before,) = [s for s in client.query(queries["Charge A"]) if s["metric"]["device"] == "station"]
    assert client.query(queries["Charge B"]) == []
    stop_cloud()
    wait_for(
        "the station down in Prometheus",
        lambda: client.query('power_device_up{device="station"} == 0'),
    )

    def stale() -> list[dict[str, Any]]:
        return client.query(queries["Charge B"])

    (last,) = wait_for("the station's last charge, marked stale", stale)
    assert last["metric"] == {"device": "station"}
    assert last["value"][1] == before["value"][1]
    live = {s["metric"]["device"] for s in client.query(queries["Charge A"])}
    assert "station" not in live
    (down,) = client.query(queries["Devices down A"])
    assert down["value"][1] == "1"
    errors = queries["Read errors by reason A"]
    (rate,) = wait_for("the failed reads counted", lambda: client.query(errors))
    assert rate["metric"] == {"reason": "connect"}
