"""The JSON API and the status page, served for real on 127.0.0.1 and asked with a real client.

Devices come from the scripted kind: a fan-out entry, a device that cannot be read, and
names that need URL encoding (``+ & # %`` and a fan-out ``/``) or HTML escaping.
"""

from __future__ import annotations

import base64
import html
import json
import ssl
import time
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
import bcrypt
import jsonschema  # type: ignore[import-untyped]  # (no stubs; it ships no py.typed)
import pytest
from aiohttp import web

from power_exporter import webconfig
from power_exporter.errors import ConnectError
from power_exporter.exposition.text import Renderer
from power_exporter.http import make_app
from power_exporter.model import DeviceIdentity, Flag, Measure, Reading, Roster
from power_exporter.runtime import Runtime
from power_exporter.sources.base import NoRawNaming
from power_exporter.store import Store
from tests import scripted
from tests.ops.pki import make_pki
from tests.scripted import SCRIPTS, Script, config, reading
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

ODD = "ups+1&#2%41"  # a configured name: no spaces or slashes, anything else goes
FAN = "pdu/out+1 & #2 %2F"  # a fan-out device: its sub-name is the device's to choose
HOSTILE = 'html/<b>x</b>&"q"'  # fan-out too: a configured name has no "/"
NAMES = ("rack/a", "rack/b", "dead", ODD, FAN, HOSTILE)
SCHEMA: dict[str, Any] = json.loads(
    resources.files("power_exporter.status").joinpath("schema.json").read_text()
)
PASSWORD = "status page password"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


def validate(document: object, definition: str) -> None:
    """Fail unless ``document`` is a valid ``definition`` of the published schema."""
    schema = {**SCHEMA, "oneOf": [{"$ref": f"#/$defs/{definition}"}]}
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def on_battery(name: str, charge: float) -> Reading:
    return Reading(
        identity=DeviceIdentity(name=name, source="scripted", vendor="ACME", model="Z9"),
        taken_at=time.time(),
        measures={Measure.BATTERY_CHARGE: charge, Measure.LOAD: 0.4, Measure.OUTPUT_POWER: 300.0},
        flags=frozenset({Flag.ON_BATTERY, Flag.LOW_BATTERY}),
        known_flags=frozenset({Flag.ONLINE, Flag.ON_BATTERY, Flag.LOW_BATTERY}),
    )


def pdu(name: str) -> Reading:
    """A PDU with two outlets: measures it has several of, one per outlet."""
    return Reading(
        identity=DeviceIdentity(name=name, source="scripted", vendor="ACME", model="P2"),
        taken_at=time.time(),
        measures={Measure.INPUT_VOLTAGE: 230.0},
        labelled={Measure.OUTLET_POWER: {(("outlet", "1"),): 12.5, (("outlet", "2"),): 30.0}},
    )


class Client:
    def __init__(self, base: str, context: ssl.SSLContext | None = None) -> None:
        self.base = base
        self.context = context
        self.session = aiohttp.ClientSession()

    async def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        request = self.session.get(self.base + path, headers=headers, ssl=self.context or True)
        async with request as response:
            return response.status, dict(response.headers), await response.read()

    async def json(self, path: str) -> tuple[int, Any]:
        status, headers, body = await self.get(path)
        assert headers["Content-Type"].startswith("application/json"), headers
        return status, json.loads(body)


async def start(
    web_config: webconfig.WebConfig | None = None, client_context: ssl.SSLContext | None = None
) -> tuple[Client, Runtime, web.AppRunner]:
    """The exporter's app on the scripted devices, behind ``web_config`` if given."""
    SCRIPTS.clear()
    SCRIPTS["rack"] = Script(
        steps=[
            [
                Roster("rack", frozenset({"rack/a", "rack/b"})),
                reading("rack/a", 0.4),
                reading("rack/b", 0.6),
            ]
        ]
    )
    SCRIPTS["dead"] = Script(steps=[ConnectError("connection refused by 127.0.0.1:3493")])
    SCRIPTS[ODD] = Script(steps=[[on_battery(ODD, 0.2)]])
    SCRIPTS["pdu"] = Script(steps=[[pdu(FAN)]])
    SCRIPTS["html"] = Script(steps=[[reading(HOSTILE, 0.7)]])
    store = Store()
    devices = [config(name) for name in ("rack", "dead", ODD, "pdu", "html")]
    runtime = Runtime(devices, store, kinds=scripted.KINDS)
    middlewares = webconfig.middlewares(web_config) if web_config else ()
    app = make_app(store, Renderer(store, lambda _kind: NoRawNaming()), runtime, middlewares)
    runner = web.AppRunner(app)
    await runner.setup()
    server_context = webconfig.ssl_context(web_config) if web_config else None
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    runtime.start()
    await until(
        lambda: all(name in store for name in NAMES) and "pdu" not in store and "html" not in store
    )
    await until(lambda: (state := store.get("dead")) is not None and state.reason == "connect")
    scheme = "https" if server_context else "http"
    base = f"{scheme}://127.0.0.1:{runner.addresses[0][1]}"
    return Client(base, client_context), runtime, runner


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    harness, runtime, runner = await start()
    try:
        yield harness
    finally:
        await harness.session.close()
        await runtime.stop()
        await runner.cleanup()
        SCRIPTS.clear()


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {device["name"]: device for device in document["devices"]}


class TestDevices:
    async def test_list_follows_the_schema(self, client: Client) -> None:
        """Every device, in the schema; the dead one down with its reason; entries kept."""
        status, document = await client.json("/api/v1/devices")
        assert status == 200
        validate(document, "DeviceList")
        devices = by_name(document)
        assert set(devices) == set(NAMES)
        dead = devices["dead"]
        assert (dead["state"], dead["reason"]) == ("down", "connect")
        assert dead["error"] == "connection refused by 127.0.0.1:3493"
        assert dead["measures"] == {}
        assert dead["last_reading"] is None
        assert (devices["rack/a"]["entry"], devices["rack/b"]["entry"]) == ("rack", "rack")
        assert devices[FAN]["entry"] == "pdu"
        assert devices[FAN]["labelled"] == {
            "outlet_power": [
                {"labels": {"outlet": "1"}, "value": 12.5},
                {"labels": {"outlet": "2"}, "value": 30.0},
            ]
        }
        assert document["units"]["outlet_power"] == "watts"
        up = devices["rack/b"]
        assert (up["state"], up["reason"], up["error"]) == ("up", None, None)
        assert up["measures"] == {"battery_charge": 0.6, "input_voltage": 230.0}
        assert up["flags"] == {"online": True, "on_battery": False}
        assert up["identity"] == {"vendor": "ACME", "model": "X1", "serial": "", "firmware": ""}
        assert up["age_seconds"] >= 0
        assert "history" not in up
        assert document["units"]["battery_charge"] == "ratio"

    async def test_summary(self, client: Client) -> None:
        """Low battery wins the headline; the counts say the rest."""
        _, document = await client.json("/api/v1/devices")
        summary = document["summary"]
        assert summary["level"] == "low"
        assert summary["headline"] == f"Low battery: {ODD}"
        assert (summary["devices"], summary["up"]) == (6, 5)
        assert summary["down"] == ["dead"]
        assert summary["on_battery"] == summary["low_battery"] == [ODD]

    @pytest.mark.parametrize("name", NAMES)
    async def test_one_device_by_its_encoded_name(self, client: Client, name: str) -> None:
        """Each name, every reserved character percent-encoded, answers that device."""
        status, document = await client.json(f"/api/v1/devices/{quote(name, safe='')}")
        assert status == 200, document
        validate(document, "OneDevice")
        assert document["device"]["name"] == name

    async def test_fan_out_slash_may_stay(self, client: Client) -> None:
        """A fan-out device's ``/`` may be sent as it is; the rest still encoded."""
        entry, _, sub = FAN.partition("/")
        status, document = await client.json(f"/api/v1/devices/{entry}/{quote(sub, safe='')}")
        assert status == 200
        assert document["device"]["name"] == FAN

    async def test_unknown_device(self, client: Client) -> None:
        """An unknown name is a 404 that names it."""
        status, document = await client.json("/api/v1/devices/nope%2Fnothing")
        assert status == 404
        validate(document, "Error")
        assert document == {"error": "unknown device", "device": "nope/nothing"}

    async def test_history_on_request(self, client: Client) -> None:
        """``?history=1h`` adds the ring: a sample of the up devices, none of the dead one."""
        status, document = await client.json("/api/v1/devices?history=1h")
        assert status == 200
        validate(document, "DeviceList")
        devices = by_name(document)
        odd = devices[ODD]["history"]
        assert odd["times"], odd
        # Stored as float32, given back as the numbers they were (0.4, not 0.4000000059604645).
        assert odd["battery_charge"][-1] == 0.2
        assert odd["load"][-1] == 0.4
        assert odd["power"][-1] == 300.0
        assert devices["rack/a"]["history"]["load"][-1] is None  # it gives no load
        assert devices["dead"]["history"]["times"] == []
        status, one = await client.json(f"/api/v1/devices/{quote(ODD, safe='')}?history=15m")
        assert status == 200
        assert one["device"]["history"]["times"] == odd["times"]

    @pytest.mark.parametrize("value", ["", "2h", "0", "-5m", "1d", "abc", "3601"])
    async def test_bad_history(self, client: Client, value: str) -> None:
        """A history beyond the hour kept, or not a duration, is a 400 that says what works."""
        status, document = await client.json(f"/api/v1/devices?history={value}")
        assert status == 400
        validate(document, "Error")
        assert "up to 1h" in document["error"]

    async def test_no_store(self, client: Client) -> None:
        """Answers are live: caches must not keep them."""
        _, headers, _ = await client.get("/api/v1/devices")
        assert headers["Cache-Control"] == "no-store"

    def test_schema_names_every_measure_and_flag(self) -> None:
        """The published schema knows every measure and flag of the model."""
        assert set(SCHEMA["$defs"]["MeasureName"]["enum"]) == {m.value for m in Measure}
        assert set(SCHEMA["$defs"]["FlagName"]["enum"]) == {f.value for f in Flag}


class TestPage:
    async def test_page_escapes_and_encodes(self, client: Client) -> None:
        """Names are HTML-escaped in text and attributes, and percent-encoded in links."""
        status, headers, body = await client.get("/")
        page = body.decode()
        assert status == 200
        assert headers["Content-Type"].startswith("text/html")
        assert HOSTILE not in page
        assert "html/&lt;b&gt;x&lt;/b&gt;&amp;&quot;q&quot;" in page
        assert f'href="probe?target={quote(FAN, safe="")}"' in page
        assert f'href="api/v1/devices/{quote(ODD, safe="")}?history=1h"' in page

    async def test_page_shows_state(self, client: Client) -> None:
        """Headline, badges, the dead device's reason, fan-out entries under their heading."""
        _, _, body = await client.get("/")
        page = body.decode()
        assert html.escape(f"Low battery: {ODD}") in page
        assert "<strong>connect</strong>: connection refused by 127.0.0.1:3493" in page
        assert "</span> Low battery</li>" in page
        assert "</span> On battery</li>" in page
        assert '<section class="entry" aria-label="rack">' in page
        assert '<section class="entry" aria-label="pdu">' in page
        assert "20 %" in page  # ODD's charge

    @pytest.mark.parametrize(
        ("name", "kind"), [("status.css", "text/css"), ("status.js", "text/javascript")]
    )
    async def test_static_files(self, client: Client, name: str, kind: str) -> None:
        """The page's stylesheet and script come from the exporter itself."""
        status, headers, body = await client.get(f"/static/{name}")
        assert status == 200
        assert headers["Content-Type"].startswith(kind)
        assert (
            body == resources.files("power_exporter.status").joinpath("static", name).read_bytes()
        )
        assert (await client.get("/static/other.js"))[0] == 404


async def test_behind_tls_and_basic_auth(tmp_path: Path) -> None:
    """The page, the API and its files are served over the web config's TLS, with its password."""
    pki = make_pki(tmp_path)
    web_file = tmp_path / "web.yml"
    web_file.write_text(
        f"tls_server_config:\n  cert_file: {pki.server.cert}\n  key_file: {pki.server.key}\n"
        f"basic_auth_users:\n  homelab: {HASH}\n"
    )
    context = ssl.create_default_context(cafile=str(pki.ca))
    harness, runtime, runner = await start(webconfig.load(web_file), context)
    paths = (
        "/",
        "/api/v1/devices",
        f"/api/v1/devices/{quote(ODD, safe='')}",
        "/static/status.js",
        "/metrics",
    )
    try:
        assert harness.base.startswith("https://")
        good = "Basic " + base64.b64encode(f"homelab:{PASSWORD}".encode()).decode()
        wrong = "Basic " + base64.b64encode(b"homelab:guess").decode()
        for path in paths:
            assert (await harness.get(path))[0] == 401, path
            assert (await harness.get(path, Authorization=wrong))[0] == 401, path
            assert (await harness.get(path, Authorization=good))[0] == 200, path
    finally:
        await harness.session.close()
        await runtime.stop()
        await runner.cleanup()
        SCRIPTS.clear()
