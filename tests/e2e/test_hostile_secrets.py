"""Sentinel secrets that hostile peers and awkward values push at every output never show.

Beyond tests/e2e/test_secrets.py: passwords holding a tab, a line break or ``${``, a
two-line password file, an EcoFlow cloud that echoes the keys in its errors (within the first
60 characters an excerpt keeps, too), an app-account login that echoes the password (plain and
in base64), and a token file given as a replay file. The exporter runs as a real process
against a real upsd; the EcoFlow stand-ins run on their own event loop in a thread. Searched:
the debug log, ``/``, ``/metrics``, ``/sd``, ``read`` and ``check-config``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.e2e.test_prometheus import fetch, free_port, running, wait_for
from tests.peers.upsd import Upsd, dumps
from tests.sources.ecoflow.fake_cloud import DEVICE_LIST, QUOTA_ALL, FakeCloud, Fault, envelope

if TYPE_CHECKING:
    from collections.abc import Coroutine

NUT_PASSWORD = "SENTINEL-nut-${a1}"  # written inline as SENTINEL-nut-$${a1}
ACCESS = "SENTINEL-access-5e2a"
SECRET = "SENTINEL-secret-90cd"
LOGIN_PASSWORD = "SENTINEL-login-${b2}"
TOKEN = "SENTINEL-token:77f3"  # a token file, mistaken for a replay file
SERIAL = "R331ZEB4ZEAL0001"
DUMP = "eaton-5e1100iusb"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "nut-ddl"
BINARY = str(Path(sys.executable).with_name("power-exporter"))


def encoded(secret: str) -> str:
    """The base64 of a secret, as the app-account login sends it (padding dropped)."""
    return base64.b64encode(secret.encode()).decode().rstrip("=")


def assert_clean(text: str) -> None:
    """No sentinel, no base64 of a secret."""
    assert "SENTINEL" not in text
    for secret in (NUT_PASSWORD, ACCESS, SECRET, LOGIN_PASSWORD, TOKEN):
        assert encoded(secret)[:12] not in text


class Loop:
    """An event loop in a thread, for the stand-ins the exporter process talks to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def login_echo() -> tuple[web.AppRunner, str]:
    """An app-account login that refuses, quoting what it was sent; and its URL."""

    async def login(request: web.Request) -> web.Response:
        sent = await request.json()
        password = base64.b64decode(sent["password"]).decode()
        message = f"wrong password {sent['password']} ({password}) for {sent['email']}"
        return web.json_response({"code": "-1", "message": message})

    app = web.Application()
    app.router.add_post("/auth/login", login)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def echoing_cloud() -> FakeCloud:
    """The developer API, answering with errors that quote the keys."""
    cloud = FakeCloud(ACCESS, SECRET)
    cloud.add(SERIAL, {"pd.soc": 86})
    echoes = [
        Fault(body=b"<" * 50 + f"{ACCESS} {SECRET}".encode()),  # not JSON: an excerpt of it
        Fault(body=json.dumps(envelope("8521", f"bad sign {SECRET} for {ACCESS}")).encode()),
    ]
    for path in (DEVICE_LIST, QUOTA_ALL):
        cloud.fail(path, *(echoes * 500))
    return cloud


def run(*args: str) -> str:
    """Run a power-exporter command; its output."""
    result = subprocess.run(
        [BINARY, *args], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout + result.stderr + f"\n(exit {result.returncode})"


def test_refused_secrets_are_not_shown(tmp_path: Path) -> None:
    """check-config refuses a tab, a line break, a stray ``${`` and a two-line file, quietly."""
    two_lines = tmp_path / "two-lines"
    two_lines.write_text(f"{NUT_PASSWORD}\nSENTINEL-second-line\n", encoding="utf-8")
    device = "devices:\n  - {{name: u, source: nut, ups: u, username: m, {}}}\n"
    cases = {
        "tab": device.format('password: "SENTINEL-tab\\there"'),
        "newline": device.format('password: "SENTINEL-nl\\nhere"'),
        "reference": device.format('password: "SENTINEL-ref-${oops"'),
        "unset": device.format('password: "SENTINEL-${SENTINEL_UNSET}"'),
        "file": device.format(f"password_file: {two_lines}"),
        "ecoflow": (
            f"devices:\n  - {{name: s, source: ecoflow, serial: {SERIAL},"
            ' access_key: a, secret_key: "SENTINEL-k\\t"}\n'
        ),
    }
    for name, text in cases.items():
        config = tmp_path / f"{name}.yaml"
        config.write_text(text, encoding="utf-8")
        output = run("check-config", str(config))
        assert "(exit 2)" in output, output
        assert "devices[0]" in output, output
        assert_clean(output)


def test_hostile_peers_and_values(tmp_path: Path) -> None:
    """Serve, read and check a configuration whose peers echo secrets: none shows anywhere."""
    upsd = Upsd(tmp_path / "upsd", {DUMP: dumps(FIXTURES)[DUMP]}).start()
    loop = Loop()
    cloud = echoing_cloud()
    outputs: list[str] = []
    try:
        loop.run(cloud.start())
        login, login_url = loop.run(login_echo())
        token = tmp_path / "token"
        token.write_text(TOKEN + "\n", encoding="utf-8")
        config = tmp_path / "power.yaml"
        config.write_text(
            "devices:\n"
            f"  - {{name: ups, source: nut, server: '{upsd.server}', ups: {DUMP},"
            ' username: watcher, password: "SENTINEL-nut-$${a1}", interval: 1s}\n'
            f"  - {{name: station, source: ecoflow, serial: {SERIAL}, host: '{cloud.url}',"
            f" access_key: {ACCESS}, secret_key: {SECRET}, interval: 1s, http_retries: 0}}\n"
            f"  - {{name: app, source: ecoflow, api: mqtt, serial: {SERIAL}, host: '{login_url}',"
            ' user: me@example.com, password: "SENTINEL-login-$${b2}"}\n'
            f"  - {{name: token, source: replay, file: {token}, interval: 1s}}\n",
            encoding="utf-8",
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp_path / "exporter.log"
        command = [BINARY, "serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"]
        with running([*command, "--log-level", "debug"], log) as process:
            wait_for(
                "the NUT device up, the others failing",
                lambda: (
                    'power_device_up{device="ups"} 1' in (page := fetch(f"{base}/metrics"))
                    and 'device="station",reason=' in page
                    and 'device="app",reason="auth"' in page
                    and 'device="token",reason="decode"' in page
                ),
                process,
            )
            outputs.extend(fetch(base + path) for path in ("/", "/metrics", "/sd"))
        outputs.append(log.read_text(encoding="utf-8"))
        outputs.extend(
            run("read", device, "--config", str(config), "--log-level", "debug")
            for device in ("ups", "station", "app", "token")
        )
        outputs.append(run("check-config", str(config)))
        loop.run(login.cleanup())
    finally:
        loop.run(cloud.stop())
        loop.close()
        upsd.stop()
    everything = "\n".join(outputs)
    assert "network_ups_tools_battery_charge" in everything  # the good device was read...
    assert "not JSON" in everything  # ...and the echoing peers were heard
    assert "wrong password ***" in everything
    assert "put a space after" in everything
    assert_clean(everything)
