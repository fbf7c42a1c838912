"""Content negotiation, links, /sd, /-/reload and reconfiguration, on real sockets."""

from __future__ import annotations

import gzip
import html
import re
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

from power_exporter.errors import ConfigError
from power_exporter.exposition.text import Renderer
from power_exporter.http import SdTarget, make_app
from power_exporter.runtime import Runtime
from power_exporter.sources.base import NoRawNaming
from power_exporter.store import Store
from tests import scripted
from tests.scripted import SCRIPTS, Script, config, reading
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

ODD = "lab/a+b&c#d%e f"
# What Prometheus 2 sends.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


async def _serve(
    store: Store, runtime: Runtime, reload: Callable[[], Awaitable[str]] | None = None
) -> tuple[web.AppRunner, str]:
    app = make_app(store, Renderer(store, lambda _kind: NoRawNaming()), runtime, reload=reload)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def base() -> AsyncIterator[str]:
    SCRIPTS.clear()
    SCRIPTS["lab"] = Script(steps=[[reading(ODD, 0.4), reading("lab/plain", 0.6)]])
    store = Store()
    runtime = Runtime([config("lab")], store, kinds=scripted.KINDS)
    runner, url = await _serve(store, runtime)
    runtime.start()
    await until(lambda: ODD in store and "lab/plain" in store)
    try:
        yield url
    finally:
        await runtime.stop()
        await runner.cleanup()
        SCRIPTS.clear()


async def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept-Encoding": "identity", **headers}
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url, headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.read()


class TestNegotiation:
    @pytest.mark.parametrize(
        ("accept", "openmetrics"),
        [
            ("application/openmetrics-text; version=1.0.0", True),
            ("application/openmetrics-text;q=0", False),
            ("application/openmetrics-text;q=0, text/plain", False),
            ("text/plain;q=0.9, application/openmetrics-text;q=0.5", False),
            (PROMETHEUS_ACCEPT, True),
            ("text/plain, application/openmetrics-text;q=0.1", False),
            ("*/*", False),
            ("", False),
        ],
    )
    async def test_accept_q_values(self, base: str, accept: str, openmetrics: bool) -> None:
        """The format with the higher q wins; q=0 means never; Vary names both headers."""
        status, headers, body = await _get(
            f"{base}/metrics", Accept=accept, **{"Accept-Encoding": "identity"}
        )
        assert status == 200
        assert headers["Content-Type"].startswith(
            "application/openmetrics-text" if openmetrics else "text/plain"
        )
        assert body.endswith(b"# EOF\n") is openmetrics
        assert headers["Vary"] == "Accept, Accept-Encoding"

    @pytest.mark.parametrize(
        ("encoding", "gzipped"),
        [
            ("gzip", True),
            ("gzip;q=0", False),
            ("gzip;q=0, identity", False),
            ("deflate, gzip;q=0.5", True),
            ("*", True),
            ("*;q=0", False),
            ("identity", False),
        ],
    )
    async def test_accept_encoding_q_values(self, base: str, encoding: str, gzipped: bool) -> None:
        """Gzip only when accepted with a q above 0, on /metrics and /probe alike."""
        for path in ("/metrics", "/probe?target=lab%2Fplain"):
            status, headers, body = await _get(base + path, **{"Accept-Encoding": encoding})
            assert status == 200
            assert (headers.get("Content-Encoding") == "gzip") is gzipped
            text = gzip.decompress(body) if gzipped else body
            assert b"power_device_up" in text
            assert headers["Vary"] == "Accept, Accept-Encoding"


class TestLinks:
    async def test_probe_links_are_url_encoded(self, base: str) -> None:
        """A device named with + & # % and a space gets a link that probes that very device."""
        _, _, page = await _get(f"{base}/")
        # The status page's links are relative (it may sit behind a proxy's path prefix).
        found = re.findall(r'href="(probe\?[^"]*)"', page.decode())
        links = ["/" + html.unescape(link) for link in found]
        assert "/probe?target=lab%2Fa%2Bb%26c%23d%25e%20f" in links
        for link in links:
            status, _, body = await _get(base + link)
            assert status == 200
            assert b"power_device_up{" in body
        odd = next(link for link in links if "%25" in link)
        _, _, body = await _get(base + odd)
        assert b'device="lab/a+b&c#d%e f"' in body


class TestServiceDiscovery:
    @pytest.mark.parametrize(
        ("url", "address", "labels"),
        [
            ("http://exporter.example:9860", "exporter.example:9860", {}),
            ("https://exporter.example", "exporter.example:443", {"__scheme__": "https"}),
            ("http://[2001:db8::1]:9860/power/", "[2001:db8::1]:9860", {}),
        ],
    )
    def test_target_from_external_url(self, url: str, address: str, labels: dict[str, str]) -> None:
        """--web.external-url gives the target, its scheme and the path to /probe."""
        target = SdTarget.from_url(url)
        assert target.address == address
        expected = {"__metrics_path__": f"{target.path_prefix}/probe", **labels}
        assert target.labels() == expected
        assert SdTarget.from_url("http://x.example/power/").path_prefix == "/power"

    @pytest.mark.parametrize("url", ["exporter:9860", "ftp://x.example", "http://"])
    def test_not_a_url(self, url: str) -> None:
        """Anything but an http(s) URL with a host is refused."""
        with pytest.raises(ValueError, match="http"):
            SdTarget.from_url(url)


class TestReloadEndpoint:
    async def test_forbidden_unless_enabled(self) -> None:
        """Without --web.enable-lifecycle, POST /-/reload is 403 (as Prometheus); GET is 405."""
        store = Store()
        runner, url = await _serve(store, Runtime([], store, kinds=scripted.KINDS))
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{url}/-/reload") as response:
                    assert response.status == 403
                    assert "not enabled" in await response.text()
                async with session.get(f"{url}/-/reload") as response:
                    assert response.status == 405
        finally:
            await runner.cleanup()

    async def test_reload_answers(self) -> None:
        """Enabled, it answers what the reload did, or 500 with the configuration error."""
        store = Store()
        outcomes: list[str | ConfigError] = ["reloaded x: 1 added", ConfigError("bad", line=3)]

        async def reload() -> str:
            outcome = outcomes.pop(0)
            if isinstance(outcome, ConfigError):
                raise outcome
            return outcome

        runner, url = await _serve(store, Runtime([], store, kinds=scripted.KINDS), reload)
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{url}/-/reload") as response:
                    assert (response.status, await response.text()) == (
                        200,
                        "reloaded x: 1 added\n",
                    )
                async with session.post(f"{url}/-/reload") as response:
                    assert response.status == 500
                    assert "bad" in await response.text()
        finally:
            await runner.cleanup()


class TestReconfigure:
    async def test_kept_removed_added_changed(self) -> None:
        """Unchanged entries keep their source and state; others stop, restart or start."""
        SCRIPTS.clear()
        for name in ("keep", "drop", "change", "new"):
            SCRIPTS[name] = Script(steps=[[reading(f"{name}/a")]])
        store = Store()
        runtime = Runtime(
            [config("keep"), config("drop"), config("change")], store, kinds=scripted.KINDS
        )
        runtime.start()
        try:
            await until(lambda: all(f"{n}/a" in store for n in ("keep", "drop", "change")))
            kept_source = SCRIPTS["keep"].instances[-1]
            kept_state = store.get("keep/a")
            await until(lambda: SCRIPTS["keep"].reads >= 3)
            done = await runtime.reconfigure(
                [config("keep"), config("change", interval=0.07), config("new")]
            )
            assert (done.added, done.removed, done.changed, done.kept) == (
                ["new"],
                ["drop"],
                ["change"],
                ["keep"],
            )
            assert "drop/a" not in store
            assert SCRIPTS["drop"].closes == SCRIPTS["drop"].opens
            await until(lambda: "new/a" in store and "change/a" in store)
            assert store.get("keep/a") is kept_state
            reads = SCRIPTS["keep"].reads
            await until(lambda: SCRIPTS["keep"].reads > reads + 2)
            assert SCRIPTS["keep"].instances[-1] is kept_source
            assert SCRIPTS["keep"].opens == 1
            assert SCRIPTS["change"].opens == 2
        finally:
            await runtime.stop()
            SCRIPTS.clear()
