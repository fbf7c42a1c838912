"""The HTTP endpoints, served for real on 127.0.0.1 and asked with a real client."""

from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families as parse_text

from power_exporter.errors import ConnectError
from power_exporter.exposition.text import Renderer
from power_exporter.http import SdTarget, make_app
from power_exporter.runtime import Runtime
from power_exporter.sources.base import NoRawNaming
from power_exporter.store import Store
from tests import scripted
from tests.peers.promtool import check_metrics
from tests.scripted import SCRIPTS, Script, config, reading
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Served:
    def __init__(self, runtime: Runtime, base: str) -> None:
        self.runtime = runtime
        self.base = base
        self.session = aiohttp.ClientSession(auto_decompress=False)

    async def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        headers = {"Accept-Encoding": "identity", **headers}
        async with self.session.get(self.base + path, headers=headers) as response:
            return response.status, dict(response.headers), await response.read()


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    SCRIPTS.clear()
    SCRIPTS["rack"] = Script(steps=[[reading("rack/a", 0.4), reading("rack/b", 0.6)]])
    SCRIPTS["dead"] = Script(steps=[ConnectError("connection refused")])
    store = Store()
    runtime = Runtime([config("rack"), config("dead")], store, kinds=scripted.KINDS)
    app = make_app(
        store,
        Renderer(store, lambda _kind: NoRawNaming()),
        runtime,
        sd_target=SdTarget("exporter.example:9860"),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    runtime.start()
    await until(lambda: "rack/b" in store and "connect" in (store.get("dead") or store).errors)  # type: ignore[union-attr]
    harness = Served(runtime, f"http://127.0.0.1:{port}")
    try:
        yield harness
    finally:
        await harness.session.close()
        await runtime.stop()
        await runner.cleanup()
        SCRIPTS.clear()


class TestEndpoints:
    async def test_metrics_has_every_device(self, served: Served) -> None:
        """/metrics: text format, both fanned-out devices up, the dead one down; promtool-clean."""
        status, headers, body = await served.get("/metrics")
        assert status == 200
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        up = {
            s.labels["device"]: s.value
            for f in parse_text(body.decode())
            if f.name == "power_device_up"
            for s in f.samples
        }
        assert up == {"rack/a": 1.0, "rack/b": 1.0, "dead": 0.0}
        check_metrics(body)

    async def test_openmetrics_on_request(self, served: Served) -> None:
        """Accept: application/openmetrics-text gets OpenMetrics, ending in # EOF."""
        status, headers, body = await served.get(
            "/metrics", Accept="application/openmetrics-text; version=1.0.0"
        )
        assert status == 200
        assert headers["Content-Type"].startswith("application/openmetrics-text")
        assert body.endswith(b"# EOF\n")

    async def test_gzip_when_accepted(self, served: Served) -> None:
        """Accept-Encoding: gzip compresses the page."""
        _, headers, body = await served.get("/metrics", **{"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip"
        assert b"power_device_up" in gzip.decompress(body)

    async def test_probe_one_device(self, served: Served) -> None:
        """/probe?target= reads that device and shows it alone."""
        reads_before = SCRIPTS["rack"].reads
        status, _, body = await served.get(
            "/probe?target=rack/b", **{"X-Prometheus-Scrape-Timeout-Seconds": "5"}
        )
        assert status == 200
        assert SCRIPTS["rack"].reads > reads_before
        assert b'power_battery_charge_ratio{device="rack/b"} 0.6' in body
        assert b'device="rack/a"' not in body
        check_metrics(body)

    @pytest.mark.parametrize("query", ["", "?target=", "?target=nope"])
    async def test_probe_needs_a_known_target(self, served: Served, query: str) -> None:
        """A missing or unknown target is a 400 that says what is wrong."""
        status, _, body = await served.get("/probe" + query)
        assert status == 400
        assert b"target" in body

    async def test_probe_fresh_0_serves_the_stored_state(self, served: Served) -> None:
        """fresh=0 answers the background state without a read; a bad fresh= is a 400."""
        reads_before = SCRIPTS["rack"].reads
        status, _, body = await served.get("/probe?target=rack/b&fresh=0")
        assert status == 200
        assert SCRIPTS["rack"].reads == reads_before
        assert b'power_battery_charge_ratio{device="rack/b"} 0.6' in body
        status, _, body = await served.get("/probe?target=rack/b&fresh=maybe")
        assert status == 400
        assert b"fresh" in body
        _, _, metrics = await served.get("/metrics")
        assert b'power_exporter_probes_total{result="stored"} 1\n' in metrics

    async def test_service_discovery(self, served: Served) -> None:
        """/sd lists one target group per device, for /probe, at the configured address.

        A forged Host header changes nothing: targets never come from the request.
        """
        status, _, body = await served.get("/sd", Host="attacker.example:80")
        assert status == 200
        groups = json.loads(body)
        assert sorted(g["labels"]["__param_target"] for g in groups) == ["dead", "rack/a", "rack/b"]
        assert all(g["labels"]["device"] == g["labels"]["__param_target"] for g in groups)
        assert all(g["targets"] == ["exporter.example:9860"] for g in groups)
        assert all(g["labels"]["__metrics_path__"] == "/probe" for g in groups)

    async def test_landing_page(self, served: Served) -> None:
        """/ shows every device, up or down, with a probe link."""
        status, headers, body = await served.get("/")
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        page = body.decode()
        for name in ("rack/a", "rack/b", "dead"):
            assert f"<h3>{name}</h3>" in page
        assert "2 of 3 devices up" in page
        assert "connection refused" in page

    async def test_healthz(self, served: Served) -> None:
        """/healthz answers while devices are down."""
        status, _, body = await served.get("/healthz")
        assert (status, body) == (200, b"ok\n")
