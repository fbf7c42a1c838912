"""A local stand-in for EcoFlow's app login and MQTT certification endpoints.

It speaks the shapes of ecoflow.md section 2 A2 (the responses seed 002's tests use): ``POST
/auth/login`` checks the base64 password, ``scene`` and ``userType``; ``GET
/iot-auth/app/certification`` checks the bearer token and hands out the MQTT credentials the
test's broker accepts; ``GET /app/user/device`` lists the account's
devices. Tokens and certification passwords can be expired by the test.
:func:`add_app_routes` puts the routes on any aiohttp application (the developer-API stand-in's
too).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web
from multidict import CIMultiDict

if TYPE_CHECKING:
    from collections.abc import Callable

APP_CLOUD_KEY: web.AppKey[AppCloud] = web.AppKey("app_cloud")


@dataclass(slots=True)
class AppCloud:
    """What the stand-in knows: accounts, tokens, and the current MQTT credentials."""

    users: dict[str, str] = field(default_factory=dict)  # email -> password
    user_id: str = "1234567890123456789"
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 8883
    mqtt_user: str = "app-stand-in"
    mqtt_password: str = field(default_factory=lambda: secrets.token_hex(8))
    tokens: set[str] = field(default_factory=set)
    logins: int = 0
    certifications: int = 0
    refused_logins: int = 0
    seen_headers: list[CIMultiDict[str]] = field(default_factory=list)
    # The account's devices, as the app's device list gives them (rows of sn, deviceName...).
    devices: list[dict[str, object]] = field(default_factory=list)
    device_lists: int = 0
    # Called with the new MQTT password when certification rotates it (to update the broker).
    on_rotate: Callable[[str], None] | None = None

    def expire_tokens(self) -> None:
        """Every login token stops working (certification answers 401)."""
        self.tokens.clear()

    def rotate_mqtt_password(self) -> str:
        """Issue a new certification password (the old one is what the broker will refuse)."""
        self.mqtt_password = secrets.token_hex(8)
        if self.on_rotate is not None:
            self.on_rotate(self.mqtt_password)
        return self.mqtt_password


def _answer(data: object = None, *, code: str = "0", message: str = "Success") -> web.Response:
    body: dict[str, object] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return web.json_response(body)


async def _login(request: web.Request) -> web.Response:
    cloud = request.app[APP_CLOUD_KEY]
    cloud.seen_headers.append(CIMultiDict(request.headers))
    if request.headers.get("lang") != "en_US":
        return web.json_response({"code": "400", "message": "lang header missing"}, status=400)
    try:
        body = await request.json()
        email, encoded = body["email"], body["password"]
        password = base64.b64decode(encoded, validate=True).decode()
    except (ValueError, KeyError, TypeError, binascii.Error):
        return _answer(code="400", message="malformed login request")
    if body.get("scene") != "IOT_APP" or body.get("userType") != "ECOFLOW":
        return _answer(code="400", message="unknown scene or user type")
    if cloud.users.get(email) != password:
        cloud.refused_logins += 1
        return _answer(code="-1", message="wrong account or password (stand-in)")
    cloud.logins += 1
    token = secrets.token_hex(16)
    cloud.tokens.add(token)
    return _answer({"token": token, "user": {"userId": cloud.user_id, "name": "Stand-in"}})


async def _certification(request: web.Request) -> web.Response:
    cloud = request.app[APP_CLOUD_KEY]
    cloud.seen_headers.append(CIMultiDict(request.headers))
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    if token not in cloud.tokens:
        return web.json_response({"code": "401", "message": "token expired"}, status=401)
    if request.query.get("userId") != cloud.user_id:
        return _answer(code="-1", message="userId does not match the token")
    cloud.certifications += 1
    return _answer(
        {
            "url": cloud.mqtt_host,
            "port": str(cloud.mqtt_port),
            "protocol": "mqtts",
            "certificateAccount": cloud.mqtt_user,
            "certificatePassword": cloud.mqtt_password,
        }
    )


async def _device_list(request: web.Request) -> web.Response:
    cloud = request.app[APP_CLOUD_KEY]
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    if token not in cloud.tokens:
        return web.json_response({"code": "401", "message": "token expired"}, status=401)
    cloud.device_lists += 1
    return _answer(list(cloud.devices))


def add_app_routes(app: web.Application, cloud: AppCloud) -> None:
    """Serve the app-account endpoints of ``cloud`` on ``app``."""
    app[APP_CLOUD_KEY] = cloud
    app.router.add_post("/auth/login", _login)
    app.router.add_get("/iot-auth/app/certification", _certification)
    app.router.add_get("/app/user/device", _device_list)
