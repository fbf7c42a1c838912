"""The app account: login, certification, client id, and the credential lifecycle."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from power_exporter.errors import AuthError, ConnectError, ProtocolError
from power_exporter.sources.ecoflow import account as account_module
from power_exporter.sources.ecoflow.account import AppAccount, base_url, masked
from power_exporter.sources.ecoflow.accounts import Accounts
from tests.sources.ecoflow.app_cloud import AppCloud, add_app_routes

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

PASSWORD = "sentinel-PW-4d1f"  # a sentinel that must never be logged
USER = "me@example.com"


@pytest.fixture
def cloud() -> AppCloud:
    return AppCloud(users={USER: PASSWORD})


@pytest.fixture
async def server(cloud: AppCloud) -> AsyncIterator[TestServer]:
    app = web.Application()
    add_app_routes(app, cloud)
    running = TestServer(app, host="127.0.0.1")
    await running.start_server()
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def url_of(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


class TestLogin:
    async def test_login_and_certification(
        self, server: TestServer, cloud: AppCloud, session: aiohttp.ClientSession
    ) -> None:
        """Login with the base64 password, then certification: the broker and its account."""
        account = AppAccount(url_of(server), USER, SecretStr(PASSWORD))
        creds = await account.credentials(session)
        assert (creds.host, creds.port) == ("127.0.0.1", 8883)
        assert (creds.username, creds.password) == (cloud.mqtt_user, cloud.mqtt_password)
        assert creds.user_id == cloud.user_id
        assert re.fullmatch(
            r"ANDROID_[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}_"
            + cloud.user_id,
            creds.client_id,
        )
        assert (cloud.logins, cloud.certifications) == (1, 1)
        assert all(headers.get("lang") == "en_US" for headers in cloud.seen_headers)
        assert cloud.seen_headers[1]["authorization"].startswith("Bearer ")
        assert PASSWORD not in repr(creds)
        assert cloud.mqtt_password not in repr(creds)

    async def test_credentials_are_kept_until_refused(
        self, server: TestServer, cloud: AppCloud, session: aiohttp.ClientSession
    ) -> None:
        """A second call reuses the credentials; no new login."""
        account = AppAccount(url_of(server), USER, SecretStr(PASSWORD))
        first = await account.credentials(session)
        assert await account.credentials(session) is first
        assert cloud.logins == 1

    async def test_client_id_is_fixed_per_account(
        self, server: TestServer, cloud: AppCloud, session: aiohttp.ClientSession
    ) -> None:
        """New logins and certifications keep the same client id (EcoFlow limits distinct ids)."""
        account = AppAccount(url_of(server), USER, SecretStr(PASSWORD))
        first = await account.credentials(session)
        account.worked()
        for _ in range(3):
            account.refused()
            again = await account.credentials(session)
            account.worked()
            assert again.client_id == first.client_id
        assert cloud.logins == 4
        other = AppAccount(url_of(server), USER, SecretStr(PASSWORD))
        assert (await other.credentials(session)).client_id != first.client_id

    async def test_process_wide_account_object(self, server: TestServer) -> None:
        """Reopened sources share one account object per user and host."""
        accounts = Accounts()
        one = accounts.app_account(url_of(server), "shared@example.com", SecretStr("a"))
        again = accounts.app_account(url_of(server) + "/", "shared@example.com", SecretStr("a"))
        assert again is one
        assert accounts.app_account(url_of(server), "other@example.com", SecretStr("a")) is not one


class TestRefusals:
    async def test_wrong_password_is_one_clear_error(
        self,
        server: TestServer,
        cloud: AppCloud,
        session: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A wrong password: AuthError naming the cause, logged once at ERROR, no traceback."""
        caplog.set_level("DEBUG")
        account = AppAccount(url_of(server), USER, SecretStr(PASSWORD + "-wrong"))
        for _ in range(4):
            with pytest.raises(AuthError) as caught:
                await account.credentials(session)
        message = str(caught.value)
        assert "refused the login for m***@example.com" in message
        assert "wrong account or password" in message
        assert "check the account's user and password" in message
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1
        assert errors[0].exc_info is None
        assert cloud.refused_logins == 4
        assert PASSWORD not in caplog.text
        assert USER not in caplog.text  # the account is masked

    async def test_backoff_schedule(
        self, server: TestServer, session: aiohttp.ClientSession
    ) -> None:
        """Failures in a row wait 30, 60, 180, then 300 s, and a success resets it."""
        account = AppAccount(url_of(server), USER, SecretStr("wrong"))
        delays = []
        for _ in range(6):
            with pytest.raises(AuthError):
                await account.credentials(session)
            delays.append(account.next_delay())
        assert delays == [30.0, 60.0, 180.0, 300.0, 300.0, 300.0]
        account.password = SecretStr(PASSWORD)
        await account.credentials(session)
        account.worked()
        assert account.next_delay() == 0.0

    async def test_expired_credentials_log_in_again_at_once(
        self, server: TestServer, cloud: AppCloud, session: aiohttp.ClientSession
    ) -> None:
        """Credentials that worked and are now refused: new login and certification, no wait."""
        account = AppAccount(url_of(server), USER, SecretStr(PASSWORD))
        await account.credentials(session)
        account.worked()
        old = cloud.mqtt_password
        cloud.rotate_mqtt_password()
        account.refused()
        assert account.next_delay() == 0.0
        creds = await account.credentials(session)
        assert creds.password == cloud.mqtt_password != old
        assert cloud.logins == 2

    async def test_fresh_credentials_refused_back_off(
        self, server: TestServer, session: aiohttp.ClientSession
    ) -> None:
        """Fresh credentials the broker refuses count as a failure: the next login waits."""
        account = AppAccount(url_of(server), USER, SecretStr(PASSWORD))
        await account.credentials(session)
        account.refused()
        assert account.next_delay() == 30.0
        await account.credentials(session)
        account.refused()
        assert account.next_delay() == 60.0

    async def test_expired_token_logs_in_again(
        self, server: TestServer, cloud: AppCloud, session: aiohttp.ClientSession
    ) -> None:
        """Certification refusing a kept token (HTTP 401) triggers one new login, at once."""
        account = AppAccount(url_of(server), USER, SecretStr(PASSWORD))
        await account.credentials(session)
        account.worked()
        cloud.expire_tokens()
        account._credentials = None  # as if the broker had refused, but keep the token
        creds = await account.credentials(session)
        assert creds.password == cloud.mqtt_password
        assert (cloud.logins, cloud.certifications) == (2, 2)


class TestBadAnswers:
    async def test_unreachable(self, session: aiohttp.ClientSession) -> None:
        """Nothing listening: ConnectError."""
        account = AppAccount("http://127.0.0.1:9", USER, SecretStr(PASSWORD))
        with pytest.raises(ConnectError, match=r"login at http://127\.0\.0\.1:9"):
            await account.credentials(session)

    @pytest.mark.parametrize(
        ("status", "body", "error"),
        [
            (503, "busy", ConnectError),
            (429, "{}", ConnectError),
            (200, "<html>", ProtocolError),
            (200, '{"code": "0", "message": "Success"}', ProtocolError),
            (200, '{"code": "0", "data": {"token": "t"}}', ProtocolError),
            (200, '{"code": "0", "data": {"token": "t", "user": "x"}}', ProtocolError),
            (403, "{}", AuthError),
        ],
    )
    async def test_malformed_login_answers(
        self,
        session: aiohttp.ClientSession,
        status: int,
        body: str,
        error: type[Exception],
    ) -> None:
        """Each bad answer maps to one SourceError, never a KeyError or a crash."""

        async def login(_request: web.Request) -> web.Response:
            return web.Response(status=status, text=body, content_type="application/json")

        app = web.Application()
        app.router.add_post("/auth/login", login)
        running = TestServer(app, host="127.0.0.1")
        await running.start_server()
        try:
            account = AppAccount(url_of(running), USER, SecretStr(PASSWORD))
            with pytest.raises(error):
                await account.credentials(session)
        finally:
            await running.close()


def test_hosts_and_masking() -> None:
    """Hosts become HTTPS URLs; full URLs are kept; account names are masked for logs."""
    assert base_url("api.ecoflow.com") == "https://api.ecoflow.com"
    assert base_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert account_module.DEFAULT_HOST == "api.ecoflow.com"
    assert masked("someone@example.com") == "s***@example.com"
    assert masked("plainname") == "p***"
