"""An EcoFlow app account: login, MQTT certification, and the life of those credentials.

Facts (the project's EcoFlow notes, section 2 A2): ``POST /auth/login`` with the password
base64-encoded, ``scene: IOT_APP``, ``userType: ECOFLOW``, headers ``lang: en_US``; then
``GET /iot-auth/app/certification?userId=`` with ``authorization: Bearer <token>``, which
returns the MQTT broker, port, user and password. A response is good when HTTP says 200 and
its ``code`` is ``"0"`` (or its ``message`` is ``Success``).

The MQTT client id is ``ANDROID_<UUID>_<userId>``, made once per account for the life of the
process: EcoFlow is reported to limit the distinct client ids an account may use per day.

Certification credentials expire. When the broker refuses them, :meth:`AppAccount.refused`
drops them; the next :meth:`AppAccount.credentials` logs in again at once. Further failures
in a row wait 30, 60, 180, then 300 s (tolwi's PR #785 schedule) before the next login, so a
wrong password costs one clear error and a login every five minutes, not a storm. The password
is held as a ``SecretStr`` and appears in no message, log or repr.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import aiohttp

from power_exporter.errors import AuthError, ConnectError, ProtocolError, SourceError
from power_exporter.sources.ecoflow.rest import DeviceInfo
from power_exporter.sources.secret import excerpt

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping

    from pydantic import SecretStr

log = logging.getLogger(__name__)

LOGIN_PATH: Final = "/auth/login"
CERTIFICATION_PATH: Final = "/iot-auth/app/certification"
# The app's list of the account's devices (the same bearer token as certification).
DEVICE_LIST_PATH: Final = "/app/user/device"
_WHAT: Final = {
    LOGIN_PATH: "login",
    CERTIFICATION_PATH: "certification",
    DEVICE_LIST_PATH: "device list",
}
DEFAULT_HOST: Final = "api.ecoflow.com"  # seed 002's login default (its REST default differs)
BACKOFF: Final = (30.0, 60.0, 180.0, 300.0)
_MESSAGE_LIMIT: Final = 200  # characters of EcoFlow's error message an error shows
_HTTP_OK: Final = 200
_HTTP_REFUSED: Final = frozenset({401, 403})
_HTTP_BUSY: Final = 429
_HTTP_SERVER_ERROR: Final = 500
_HEADERS: Final = {"lang": "en_US"}


def base_url(host: str) -> str:
    """``api.ecoflow.com`` -> ``https://api.ecoflow.com``; a full URL is used as it is."""
    host = host.rstrip("/")
    return host if "://" in host else f"https://{host}"


def masked(user: str) -> str:
    """An account name fit for logs: ``me@example.com`` -> ``m***@example.com``."""
    local, at, domain = user.partition("@")
    return f"{local[:1]}***{at}{domain}"


@dataclass(frozen=True, slots=True)
class MqttCredentials:
    """What certification returned: where the broker is and how to log in to it."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    user_id: str
    client_id: str


@dataclass(slots=True)
class _Login:
    token: str = field(repr=False)
    user_id: str
    name: str


class AppAccount:
    """One EcoFlow app account (shared by every device configured with it)."""

    def __init__(self, url: str, user: str, password: SecretStr) -> None:
        self.url = url
        self.user = user
        self.password = password
        self.failures = 0
        self._login: _Login | None = None
        self._credentials: MqttCredentials | None = None
        self._client_id: str | None = None
        self._proven = False  # the current credentials have been taken by the broker
        self._lock = asyncio.Lock()
        self._last_error = ""

    def __repr__(self) -> str:
        return f"AppAccount({self.url!r}, {masked(self.user)!r})"

    def next_delay(self) -> float:
        """Seconds to wait before the next login attempt (0 after success or a first refusal)."""
        if self.failures == 0:
            return 0.0
        return BACKOFF[min(self.failures, len(BACKOFF)) - 1]

    def client_id(self, user_id: str) -> str:
        """``ANDROID_<UUID>_<userId>``, the same for this account as long as the process lives."""
        if self._client_id is None or not self._client_id.endswith(f"_{user_id}"):
            self._client_id = f"ANDROID_{str(uuid.uuid4()).upper()}_{user_id}"
        return self._client_id

    def refused(self) -> None:
        """The broker refused the credentials: drop them and the login token.

        Credentials that worked before have expired: the next login is at once. Fresh ones
        refused count as a failure, and the next login waits for the backoff.
        """
        if self._credentials is not None and not self._proven:
            self.failures += 1
        self._credentials = None
        self._login = None
        self._proven = False

    def worked(self) -> None:
        """The broker took the credentials: forget past failures."""
        if self.failures:
            log.info("EcoFlow account %s works again", masked(self.user))
        self.failures = 0
        self._proven = True
        self._last_error = ""

    async def credentials(
        self, session: aiohttp.ClientSession, *, ssl_context: ssl.SSLContext | None = None
    ) -> MqttCredentials:
        """The MQTT credentials, logging in and certifying when there are none."""
        async with self._lock:
            if self._credentials is not None:
                return self._credentials
            try:
                self._credentials = await self._fetch(session, ssl_context)
                self._proven = False
            except SourceError as exc:
                self.failures += 1
                message = str(exc)
                if message != self._last_error:  # one clear line per new cause, no traceback
                    log.error("%s; next attempt in %.0f s", message, self.next_delay())  # noqa: TRY400
                else:
                    log.debug("%s (again); next attempt in %.0f s", message, self.next_delay())
                self._last_error = message
                raise
            return self._credentials

    async def device_list(
        self, session: aiohttp.ClientSession, *, ssl_context: ssl.SSLContext | None = None
    ) -> dict[str, DeviceInfo]:
        """The devices bound to the account, by serial (``GET /app/user/device``)."""
        async with self._lock:
            fresh = self._login is None
            if self._login is None:
                self._login = await self._log_in(session, ssl_context)
            token = self._login.token
        headers = {"authorization": f"Bearer {token}"}
        try:
            data = await self._call(session, "GET", DEVICE_LIST_PATH, ssl_context, headers=headers)
        except AuthError:
            async with self._lock:
                self._login = None
            if fresh:
                raise
            return await self.device_list(session, ssl_context=ssl_context)
        return devices_of(data)

    async def _fetch(
        self, session: aiohttp.ClientSession, ssl_context: ssl.SSLContext | None
    ) -> MqttCredentials:
        fresh = self._login is None
        if self._login is None:
            self._login = await self._log_in(session, ssl_context)
        try:
            data = await self._certify(session, ssl_context, self._login)
        except AuthError:
            self._login = None
            if fresh:
                raise
            # The token we kept has expired: log in again once, now.
            self._login = await self._log_in(session, ssl_context)
            data = await self._certify(session, ssl_context, self._login)
        login = self._login
        try:
            host, port = str(data["url"]), int(str(data["port"]))
            username, password = str(data["certificateAccount"]), str(data["certificatePassword"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"EcoFlow certification lacks {exc}") from None
        log.info("EcoFlow account %s certified for MQTT at %s:%d", masked(self.user), host, port)
        client_id = self.client_id(login.user_id)
        return MqttCredentials(host, port, username, password, login.user_id, client_id)

    async def _certify(
        self, session: aiohttp.ClientSession, ssl_context: ssl.SSLContext | None, login: _Login
    ) -> Mapping[str, object]:
        return await self._call(
            session,
            "GET",
            CERTIFICATION_PATH,
            ssl_context,
            params={"userId": login.user_id},
            headers={"authorization": f"Bearer {login.token}"},
        )

    async def _log_in(
        self, session: aiohttp.ClientSession, ssl_context: ssl.SSLContext | None
    ) -> _Login:
        secret = self.password.get_secret_value().encode()
        body = {
            "email": self.user,
            "password": base64.b64encode(secret).decode("ascii"),
            "scene": "IOT_APP",
            "userType": "ECOFLOW",
        }
        data = await self._call(session, "POST", LOGIN_PATH, ssl_context, json_body=body)
        try:
            user = data["user"]
            if not isinstance(user, dict):
                raise TypeError("user")  # noqa: TRY301 (one mapping for every malformed shape)
            return _Login(str(data["token"]), str(user["userId"]), str(user.get("name", "")))
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"EcoFlow login answer lacks {exc}") from None

    async def _call(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        ssl_context: ssl.SSLContext | None,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: object = None,
    ) -> Mapping[str, object]:
        what = _WHAT.get(path, path)
        try:
            async with session.request(
                method,
                self.url + path,
                params=params,
                headers={**_HEADERS, **(headers or {})},
                json=json_body,
                ssl=ssl_context if ssl_context is not None else True,
            ) as response:
                status = response.status
                try:
                    document = await response.json(content_type=None)
                except ValueError:
                    document = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = self._shown(str(exc) or type(exc).__name__)
            raise ConnectError(f"EcoFlow {what} at {self.url}: {detail}") from None
        return self._check(what, status, document)

    def _shown(self, text: object) -> str:
        """Text from EcoFlow as an error shows it: redacted, then cut short.

        It may echo the password (in base64, as the login sends it) or the token.
        """
        token = self._login.token if self._login is not None else None
        return excerpt(str(text), (self.password, token, self.user), _MESSAGE_LIMIT)

    def _check(self, what: str, status: int, document: object) -> Mapping[str, object]:
        who = masked(self.user)
        if status in _HTTP_REFUSED:
            raise AuthError(f"EcoFlow refused the {what} for {who} (HTTP {status})")
        if status >= _HTTP_SERVER_ERROR or status == _HTTP_BUSY:
            raise ConnectError(f"EcoFlow {what} answered HTTP {status}")
        if not isinstance(document, dict):
            raise ProtocolError(f"EcoFlow {what} answered HTTP {status} without a JSON object")
        code, message = str(document.get("code", "")), self._shown(document.get("message", ""))
        if status != _HTTP_OK or not (code == "0" or message.lower() == "success"):
            hint = "; check the account's user and password" if what == "login" else ""
            raise AuthError(
                f"EcoFlow refused the {what} for {who}: {message or 'no message'}"
                f" (code {code or '?'}, HTTP {status}){hint}"
            )
        data = document.get("data")
        if isinstance(data, list) and what == "device list":
            return {"devices": data}
        if not isinstance(data, dict):
            raise ProtocolError(f"EcoFlow {what} answer has no data object")
        return data


def devices_of(data: Mapping[str, object]) -> dict[str, DeviceInfo]:
    """The rows of the app's device list, by serial.

    ``data`` is a list of ``{sn, ...}`` objects, or an object of categories, each a list of
    rows or an object keyed by serial (both shapes are seen).
    """
    rows: list[tuple[str, object]] = []
    for value in data.values():
        if isinstance(value, list):
            rows += [(str(row.get("sn", "")), row) for row in value if isinstance(row, dict)]
        elif isinstance(value, dict):
            rows += [(str(sn), row) for sn, row in value.items()]
    found: dict[str, DeviceInfo] = {}
    for sn, row in rows:
        if not sn.isalnum():
            continue
        info = row if isinstance(row, dict) else {}
        online = info.get("online", 1)
        found[sn] = DeviceInfo(
            sn=sn,
            name=str(info.get("deviceName") or info.get("name") or ""),
            product_name=str(info.get("productName") or ""),
            online=str(online) not in {"0", "False", "false"},
        )
    return found
