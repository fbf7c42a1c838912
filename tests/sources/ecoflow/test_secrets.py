"""Sentinel keys never appear in logs, pages, reprs, errors or ``read`` output."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import sys
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from power_exporter.errors import AuthError, SourceError
from power_exporter.runtime import Runtime
from power_exporter.sources.ecoflow.account import AppAccount
from power_exporter.sources.ecoflow.source import open_source, rest_client
from power_exporter.store import Store
from tests.sources.ecoflow import data
from tests.sources.ecoflow.conftest import MQTT_ACCOUNT, MQTT_PASSWORD, config
from tests.sources.ecoflow.fake_cloud import DEVICE_LIST, QUOTA_ALL, FakeCloud, Fault, envelope
from tests.sources.ecoflow.test_exposition import render, wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from tests.peers.mosquitto import Mosquitto, TlsFiles

ACCESS = "SENTINEL-ACCESS-7d3f1a"
SECRET = "SENTINEL-SECRET-c41b9e"
SENTINELS = (ACCESS, SECRET, "7d3f1a", "c41b9e")
GOOD, OFFLINE, BROKEN = "R331ZEB4ZEAL0001", "DCABZ8ZE1234", "HW51ZEH4SF5R3047"


def assert_clean(text: str) -> None:
    """No sentinel, nor a part of one, in the text."""
    for sentinel in SENTINELS:
        assert sentinel not in text


class TestSentinels:
    """Push the sentinel keys through every path."""

    async def test_runtime_logs_and_page(
        self, caplog: pytest.LogCaptureFixture, broker: Mosquitto, tls: TlsFiles
    ) -> None:
        """Good reads, offline, bad data, retries, refusals, MQTT: logs and page are clean."""
        caplog.set_level(logging.DEBUG)
        async with (
            FakeCloud(ACCESS, SECRET) as cloud,
            FakeCloud(ACCESS, "another-secret") as refusing,
            FakeCloud("another-access", SECRET) as foreign,
        ):
            cloud.add(GOOD, data.delta2())
            cloud.add(OFFLINE, data.delta_pro(), online=0)
            cloud.add(BROKEN, data.powerstream())
            cloud.fail(QUOTA_ALL, Fault(status=503), Fault(body=b"{x"), sn=BROKEN)
            cloud.fail(DEVICE_LIST, Fault(status=429, headers={"Retry-After": "0"}))
            cloud.certifications.append(
                {
                    "certificateAccount": MQTT_ACCOUNT,
                    "certificatePassword": MQTT_PASSWORD,
                    "url": "localhost",
                    "port": str(broker.tls_port),
                }
            )
            configs = [
                config(cloud, serial="*", interval="100ms", access_key=ACCESS, secret_key=SECRET),
                config(
                    refusing, name="refused", interval="100ms", access_key=ACCESS, secret_key=SECRET
                ),
                config(
                    foreign, name="foreign", interval="100ms", access_key=ACCESS, secret_key=SECRET
                ),
                config(
                    cloud,
                    name="stream",
                    api="open_mqtt",
                    serial=GOOD,
                    ca_file=str(tls.ca),
                    access_key=ACCESS,
                    secret_key=SECRET,
                ),
            ]
            store = Store()
            runtime = Runtime(configs, store)
            runtime.start()
            try:
                await wait_for(lambda: (s := store.get(f"station/{GOOD}")) is not None and s.up)
                await wait_for(lambda: (s := store.get("stream")) is not None and s.up)
                await wait_for(lambda: (s := store.get("refused")) is not None and bool(s.errors))
                await wait_for(lambda: (s := store.get("foreign")) is not None and bool(s.errors))
                await asyncio.sleep(0.3)
                page = render(store)
            finally:
                await runtime.stop()
        assert "8521" in caplog.text  # the refusals were logged...
        assert "8513" in caplog.text
        assert_clean(caplog.text)  # ...without the keys
        assert_clean(page)
        for state in store:
            assert_clean(state.last_error)
        for cfg in configs:
            assert_clean(repr(cfg) + str(cfg) + cfg.model_dump_json())
            source = open_source(cfg)
            assert_clean(repr(source) + str(source) + repr(rest_client(cfg)))

    async def test_errors_do_not_carry_keys(self) -> None:
        """Errors quoting the server are redacted, should the server echo a key."""
        echo = envelope("9999", f"bad key {ACCESS} for {SECRET}")
        async with FakeCloud(ACCESS, "other") as cloud:
            cloud.fail(DEVICE_LIST, Fault(body=b"<html>" + ACCESS.encode()))
            cloud.fail(DEVICE_LIST, Fault(body=json.dumps(echo).encode()))
            async with rest_client(config(cloud, access_key=ACCESS, secret_key=SECRET)) as rest:
                for _ in range(3):  # not JSON, an echoing error, a refused signature
                    with pytest.raises(SourceError) as info:
                        await rest.device_list(refresh=True)
                    assert "***" in str(info.value) or "8521" in str(info.value)
                    assert_clean(str(info.value))

    async def test_excerpt_is_redacted_before_it_is_cut(self) -> None:
        """A key echoed across the 60th character of a non-JSON answer leaves no head behind."""
        async with FakeCloud(ACCESS, SECRET) as cloud:
            for offset in (45, 50, 55):
                body = b"<" * offset + f"{ACCESS} {SECRET}".encode()
                cloud.fail(DEVICE_LIST, Fault(body=body))
            async with rest_client(config(cloud, access_key=ACCESS, secret_key=SECRET)) as rest:
                for _ in range(3):
                    with pytest.raises(SourceError) as info:
                        await rest.device_list(refresh=True)
                    assert "not JSON" in str(info.value)
                    assert "SENTINEL" not in str(info.value)

    async def test_login_error_is_redacted(self) -> None:
        """An app-account login refused with a message echoing the password, in base64 too."""
        password = "SENTINEL-LOGIN-${9e0f}"
        encoded = base64.b64encode(password.encode()).decode()

        async def login(request: web.Request) -> web.Response:
            sent = await request.json()
            message = f"bad password {sent['password']} ({password}) for {sent['email']}"
            return web.json_response({"code": "-1", "message": message})

        app = web.Application()
        app.router.add_post("/auth/login", login)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            url = str(server.make_url("")).rstrip("/")
            account = AppAccount(url, "me@example.com", SecretStr(password))
            async with aiohttp.ClientSession() as session:
                with pytest.raises(AuthError) as info:
                    await account.credentials(session)
        finally:
            await server.close()
        message = str(info.value)
        assert "bad password ***" in message
        assert "SENTINEL" not in message
        assert encoded not in message
        assert encoded[:8] not in message

    async def test_read_command(self, tmp_path: Path) -> None:
        """`power-exporter read` prints the reading and debug logs, never the keys."""
        (tmp_path / "secret").write_text(SECRET + "\n", encoding="utf-8")
        async with FakeCloud(ACCESS, SECRET) as cloud:
            cloud.add(GOOD, data.delta2())
            (tmp_path / "config.yaml").write_text(
                "devices:\n"
                f"  - {{name: station, source: ecoflow, serial: {GOOD}, host: '{cloud.url}',"
                f" access_key: '${{EF_ACCESS}}', secret_key_file: secret}}\n",
                encoding="utf-8",
            )
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "power_exporter",
                "read",
                "station",
                "--config",
                str(tmp_path / "config.yaml"),
                "--log-level",
                "debug",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={"EF_ACCESS": ACCESS, "PATH": "/usr/bin:/bin"},
            )
            stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
        output = stdout.decode() + stderr.decode()
        assert process.returncode == 0, output
        assert '"pd.soc": 86.0' in output
        assert_clean(output)
