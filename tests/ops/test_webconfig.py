"""``--web.config.file``: the loader, real TLS on 127.0.0.1 and basic auth over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from typing import TYPE_CHECKING

import aiohttp
import bcrypt
import pytest
from aiohttp import web

from power_exporter import webauth, webconfig
from power_exporter.errors import ConfigError
from tests.ops.pki import Pki, make_pki

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

PASSWORD = "correct horse battery staple"
TLS = "tls_server_config:\n  cert_file: a\n  key_file: b\n"
# htpasswd writes $2y$ hashes; they are the same algorithm as $2b$. Cost 4 keeps tests fast.
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(text, encoding="utf-8")
    return path


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


@contextlib.asynccontextmanager
async def serve(config: webconfig.WebConfig) -> AsyncIterator[str]:
    """A real aiohttp server on 127.0.0.1:0 configured by ``config``; yields its base URL."""
    app = web.Application(middlewares=webconfig.middlewares(config))
    for path in ("/", "/metrics", "/healthz", "/sd"):
        app.router.add_get(path, _ok)
    context = webconfig.ssl_context(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def client_context(pki: Pki, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context


async def get(
    url: str,
    *,
    auth: str | None = None,
    context: ssl.SSLContext | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            url,
            ssl=context or False,
            headers={**(headers or {}), **({"Authorization": auth} if auth else {})},
        ) as response,
    ):
        await response.read()
        return response.status, dict(response.headers)


def basic(user: str, password: str) -> str:
    """An Authorization header, built by hand as a client would."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TestLoad:
    """The file format and its errors."""

    def test_full_file(self, tmp_path: Path) -> None:
        """Every documented key loads, and relative paths are relative to the file."""
        path = write(
            tmp_path,
            f"""
tls_server_config:
  cert_file: tls/server.crt
  key_file: /etc/keys/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [prometheus.example]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: {HASH}
rate_limit:
  interval: 500ms
  burst: 10
""",
        )
        config = webconfig.load(path)
        tls = config.tls_server_config
        assert tls.enabled
        assert tls.cert_file == tmp_path / "tls/server.crt"
        assert str(tls.key_file) == "/etc/keys/server.key"
        assert tls.client_ca_file == tmp_path / "ca.crt"
        assert tls.client_allowed_sans == ("prometheus.example",)
        assert config.http_server_config.headers["X-Frame-Options"] == "deny"
        assert config.basic_auth_users["prometheus"].get_secret_value() == HASH
        assert config.rate_limit.interval == 0.5
        assert HASH not in repr(config)

    def test_empty_file_is_plain_http(self, tmp_path: Path) -> None:
        """An empty file (or an empty tls_server_config) serves plain HTTP, without auth."""
        assert webconfig.ssl_context(webconfig.load(write(tmp_path, ""))) is None
        config = webconfig.load(write(tmp_path, "tls_server_config: {}\n"))
        assert webconfig.ssl_context(config) is None
        assert webconfig.middlewares(config) == ()

    @pytest.mark.parametrize(
        ("text", "line", "field", "message"),
        [
            (
                "tls_server_config:\n  cert_file: a\n  keyfile: b\n",
                3,
                "tls_server_config.keyfile",
                "unknown key",
            ),
            ("tls_server_config:\n  cert_file: a\n", 1, "tls_server_config", "exactly one of key"),
            (
                TLS + "  client_ca_file: c\n",
                1,
                "tls_server_config",
                "without a client_auth_type",
            ),
            (
                TLS + "  client_auth_type: RequireAndVerifyClientCert\n",
                1,
                "tls_server_config",
                "needs client_ca_file",
            ),
            (
                TLS + "  client_auth_type: RequireAnyClientCert\n  client_ca_file: c\n",
                4,
                "tls_server_config.client_auth_type",
                "not supported",
            ),
            (
                TLS + "  min_version: TLS14\n",
                4,
                "tls_server_config.min_version",
                "unknown TLS version",
            ),
            (
                TLS + "  min_version: TLS13\n  max_version: TLS12\n",
                1,
                "tls_server_config",
                "min_version is above max_version",
            ),
            (
                TLS + "  cipher_suites: [RC4]\n",
                4,
                "tls_server_config.cipher_suites.0",
                "unknown cipher suite",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: always\n",
                2,
                "http_server_config.headers",
                "must be one of deny, sameorigin",
            ),
            (
                "http_server_config:\n  headers:\n    Server: power\n",
                2,
                "http_server_config.headers",
                "cannot be configured",
            ),
            ("rate_limit:\n  interval: 1s\n", 1, "rate_limit", "burst of at least 1"),
            (
                "rate_limit:\n  interval: soon\n  burst: 1\n",
                2,
                "rate_limit.interval",
                "not a duration",
            ),
            ("basic_auth_users:\n  a: x\n  a: y\n", 3, "basic_auth_users.a", "duplicate key"),
            ("basic_auth_users: [a]\n", 1, "basic_auth_users", "valid dictionary"),
            ("tls_server_config: {cert_file: a\n", 2, "", "not valid YAML"),
            ("- a\n", 1, "", "must be a mapping"),
        ],
    )
    def test_errors_name_file_line_and_field(
        self, tmp_path: Path, text: str, line: int, field: str, message: str
    ) -> None:
        """Each bad file gives one ConfigError naming the file, the line and the field."""
        path = write(tmp_path, text)
        with pytest.raises(ConfigError) as caught:
            webconfig.load(path)
        assert caught.value.file == str(path)
        assert caught.value.line == line
        assert caught.value.field == field
        assert message in caught.value.message

    def test_plain_password_is_refused_and_not_echoed(self, tmp_path: Path) -> None:
        """A password that is not a bcrypt hash is refused without being repeated."""
        path = write(tmp_path, "basic_auth_users:\n  alice: hunter2-sentinel\n")
        with pytest.raises(ConfigError) as caught:
            webconfig.load(path)
        assert caught.value.line == 1
        assert "not a bcrypt hash" in str(caught.value)
        assert "hunter2-sentinel" not in str(caught.value)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that is not there is a ConfigError naming it."""
        with pytest.raises(ConfigError, match="cannot read") as caught:
            webconfig.load(tmp_path / "absent.yml")
        assert caught.value.file == str(tmp_path / "absent.yml")

    def test_unreadable_certificate_names_the_field(self, tmp_path: Path, pki: Pki) -> None:
        """A certificate that cannot be loaded is a ConfigError at cert_file's line."""
        path = write(
            tmp_path,
            f"tls_server_config:\n  key_file: {pki.server.key}\n  cert_file: missing.crt\n",
        )
        config = webconfig.load(path)
        with pytest.raises(ConfigError, match="cannot load the certificate") as caught:
            webconfig.ssl_context(config)
        assert (caught.value.line, caught.value.field) == (3, "tls_server_config.cert_file")

    def test_key_not_matching_certificate(self, tmp_path: Path, pki: Pki) -> None:
        """A key of another certificate is refused when the context is built."""
        path = write(
            tmp_path,
            f"tls_server_config:\n  cert_file: {pki.server.cert}\n  key_file: {pki.client.key}\n",
        )
        with pytest.raises(ConfigError, match="cannot load the certificate"):
            webconfig.ssl_context(webconfig.load(path))


class TestBasicAuth:
    """Basic auth over a real HTTP server."""

    async def test_passwords(self, tmp_path: Path) -> None:
        """Right password 200; wrong, unknown user, malformed or missing 401 with a challenge."""
        config = webconfig.load(write(tmp_path, f"basic_auth_users:\n  prometheus: {HASH}\n"))
        async with serve(config) as url:
            status, _ = await get(f"{url}/metrics", auth=basic("prometheus", PASSWORD))
            assert status == 200
            for auth in (
                basic("prometheus", "wrong"),
                basic("grafana", PASSWORD),
                None,
            ):
                status, headers = await get(f"{url}/metrics", auth=auth)
                assert status == 401
                assert headers["WWW-Authenticate"].startswith("Basic realm=")
            for bad in ("Basic !!!", "Bearer abc", "Basic " + "cHJvbWV0aGV1cw=="):
                status, _ = await get(f"{url}/sd", headers={"Authorization": bad})
                assert status == 401

    async def test_open_paths(self, tmp_path: Path) -> None:
        """/healthz answers without credentials; /, /sd and /metrics do not."""
        config = webconfig.load(write(tmp_path, f"basic_auth_users:\n  prometheus: {HASH}\n"))
        async with serve(config) as url:
            assert (await get(f"{url}/healthz"))[0] == 200
            for path in ("/", "/sd", "/metrics"):
                assert (await get(f"{url}{path}"))[0] == 401

    async def test_results_are_cached(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Bcrypt runs once for repeated good credentials, and once for a repeated bad one."""
        calls: list[bytes] = []
        real = bcrypt.checkpw

        def counting(password: bytes, hashed: bytes) -> bool:
            calls.append(password)
            return real(password, hashed)

        monkeypatch.setattr(bcrypt, "checkpw", counting)
        config = webconfig.load(write(tmp_path, f"basic_auth_users:\n  prometheus: {HASH}\n"))
        async with serve(config) as url:
            good = basic("prometheus", PASSWORD)
            bad = basic("prometheus", "nope")
            for _ in range(3):
                assert (await get(f"{url}/metrics", auth=good))[0] == 200
            assert len(calls) == 1
            for _ in range(2):
                assert (await get(f"{url}/metrics", auth=bad))[0] == 401
            assert len(calls) == 2
            assert (await get(f"{url}/metrics", auth=basic("prometheus", "other")))[0] == 401
            assert len(calls) == 3

    async def test_cache_expires(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A remembered success is checked again once its time to live is over."""
        calls: list[bytes] = []
        real = bcrypt.checkpw

        def counting(password: bytes, hashed: bytes) -> bool:
            calls.append(password)
            return real(password, hashed)

        monkeypatch.setattr(bcrypt, "checkpw", counting)
        auth = webauth._BasicAuth({"prometheus": HASH}, ttl=0.0)
        assert await auth.check("prometheus", PASSWORD)
        assert await auth.check("prometheus", PASSWORD)
        assert len(calls) == 2

    async def test_known_clients_check_first(self) -> None:
        """While a check runs, an address that authenticated before goes ahead of strangers."""
        turns = webauth._Turns()
        order: list[str] = []
        await turns.acquire(first=False)

        async def wait(name: str, *, first: bool) -> None:
            await turns.acquire(first=first)
            order.append(name)
            turns.release()

        tasks = [
            asyncio.create_task(wait("stranger 1", first=False)),
            asyncio.create_task(wait("stranger 2", first=False)),
            asyncio.create_task(wait("scraper", first=True)),
        ]
        await asyncio.sleep(0)
        turns.release()
        await asyncio.gather(*tasks)
        assert order == ["scraper", "stranger 1", "stranger 2"]
        assert not turns.busy

    async def test_a_client_with_too_many_checks_waiting_gets_429(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """One address: one check runs, two wait, the next is refused at once with 429."""
        gate = asyncio.Event()
        real = webauth._BasicAuth._verify

        def slow(auth: webauth._BasicAuth, user: str, password: str) -> bool:
            while not gate.is_set():
                time.sleep(0.01)
            return real(auth, user, password)

        monkeypatch.setattr(webauth._BasicAuth, "_verify", slow)
        auth = webauth._BasicAuth({"prometheus": HASH}, ttl=60.0)
        pending = [
            asyncio.create_task(auth.check("prometheus", f"guess {i}", "192.0.2.1"))
            for i in range(webauth.PENDING_PER_CLIENT + 1)
        ]
        await asyncio.sleep(0.05)
        with pytest.raises(web.HTTPTooManyRequests):
            await auth.check("prometheus", "one more", "192.0.2.1")
        gate.set()
        assert await asyncio.gather(*pending) == [False] * len(pending)

    async def test_unknown_user_costs_a_bcrypt(self) -> None:
        """An unknown user is checked against a decoy of the same cost (no timing oracle)."""
        auth = webauth._BasicAuth({"prometheus": HASH}, ttl=60.0)
        assert not await auth.check("nobody", PASSWORD)
        assert auth.decoy is not None
        assert auth.decoy.split(b"$")[2] == HASH.encode().split(b"$")[2]

    async def test_overlong_password_is_refused(self) -> None:
        """Bcrypt cannot take more than 72 bytes; such a password is a plain refusal."""
        auth = webauth._BasicAuth({"prometheus": HASH}, ttl=60.0)
        assert not await auth.check("prometheus", PASSWORD * 10)

    async def test_headers_on_every_response(self, tmp_path: Path) -> None:
        """Configured headers are set on 200 and on 401."""
        config = webconfig.load(
            write(
                tmp_path,
                f"http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
                f"    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  p: {HASH}\n",
            )
        )
        async with serve(config) as url:
            for auth, status in ((basic("p", PASSWORD), 200), (None, 401)):
                got, headers = await get(f"{url}/metrics", auth=auth)
                assert got == status
                assert headers["X-Frame-Options"] == "deny"
                assert headers["X-Content-Type-Options"] == "nosniff"

    async def test_rate_limit(self, tmp_path: Path) -> None:
        """Past the burst, requests get 429; /healthz is not limited."""
        config = webconfig.load(write(tmp_path, "rate_limit:\n  interval: 1h\n  burst: 2\n"))
        async with serve(config) as url:
            statuses = [(await get(f"{url}/metrics"))[0] for _ in range(3)]
            assert statuses == [200, 200, 429]
            assert (await get(f"{url}/healthz"))[0] == 200


class TestTLS:
    """Real TLS on 127.0.0.1 with certificates made by the test."""

    def tls_file(self, tmp_path: Path, pki: Pki, extra: str = "") -> webconfig.WebConfig:
        return webconfig.load(
            write(
                tmp_path,
                f"tls_server_config:\n  cert_file: {pki.server.cert}\n"
                f"  key_file: {pki.server.key}\n{extra}",
            )
        )

    async def test_https_and_plain_http_refused(self, tmp_path: Path, pki: Pki) -> None:
        """HTTPS works with the CA; plain HTTP on the TLS port gets no answer."""
        async with serve(self.tls_file(tmp_path, pki)) as url:
            assert url.startswith("https://")
            assert (await get(f"{url}/metrics", context=client_context(pki)))[0] == 200
            with pytest.raises(aiohttp.ClientError):
                await get(url.replace("https://", "http://") + "/metrics")

    async def test_inline_certificate_and_key(self, tmp_path: Path, pki: Pki) -> None:
        """Inline cert and key as PEM serve as well as files."""
        cert = pki.server.cert.read_text().replace("\n", "\n    ")
        key = pki.server.key.read_text().replace("\n", "\n    ")
        config = webconfig.load(
            write(tmp_path, f"tls_server_config:\n  cert: |\n    {cert}\n  key: |\n    {key}\n")
        )
        async with serve(config) as url:
            assert (await get(f"{url}/healthz", context=client_context(pki)))[0] == 200

    async def test_client_certificate_required(self, tmp_path: Path, pki: Pki) -> None:
        """With RequireAndVerifyClientCert only a client certificate from the CA gets in."""
        config = self.tls_file(
            tmp_path,
            pki,
            f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n",
        )
        async with serve(config) as url:
            good = client_context(pki, pki.client.cert, pki.client.key)
            assert (await get(f"{url}/metrics", context=good))[0] == 200
            for context in (
                client_context(pki),
                client_context(pki, pki.stranger.cert, pki.stranger.key),
            ):
                with pytest.raises(aiohttp.ClientError):
                    await get(f"{url}/metrics", context=context)

    async def test_client_certificate_if_given(self, tmp_path: Path, pki: Pki) -> None:
        """With VerifyClientCertIfGiven no certificate is fine, a foreign one is not."""
        config = self.tls_file(
            tmp_path,
            pki,
            f"  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {pki.ca}\n",
        )
        async with serve(config) as url:
            assert (await get(f"{url}/metrics", context=client_context(pki)))[0] == 200
            foreign = client_context(pki, pki.stranger.cert, pki.stranger.key)
            with pytest.raises(aiohttp.ClientError):
                await get(f"{url}/metrics", context=foreign)

    async def test_allowed_sans(self, tmp_path: Path, pki: Pki) -> None:
        """A verified client whose SAN is not listed gets 403; /healthz stays open."""
        config = self.tls_file(
            tmp_path,
            pki,
            f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n"
            "  client_allowed_sans: [prometheus.example]\n",
        )
        async with serve(config) as url:
            good = client_context(pki, pki.client.cert, pki.client.key)
            other = client_context(pki, pki.other_client.cert, pki.other_client.key)
            assert (await get(f"{url}/metrics", context=good))[0] == 200
            assert (await get(f"{url}/metrics", context=other))[0] == 403
            assert (await get(f"{url}/healthz", context=other))[0] == 200

    async def test_min_version(self, tmp_path: Path, pki: Pki) -> None:
        """min_version TLS13 refuses a client that stops at TLS 1.2."""
        async with serve(self.tls_file(tmp_path, pki, "  min_version: TLS13\n")) as url:
            old = client_context(pki)
            old.maximum_version = ssl.TLSVersion.TLSv1_2
            with pytest.raises(aiohttp.ClientError):
                await get(f"{url}/metrics", context=old)
            assert (await get(f"{url}/metrics", context=client_context(pki)))[0] == 200

    async def test_cipher_suites(self, tmp_path: Path, pki: Pki) -> None:
        """cipher_suites (Go names) restrict TLS 1.2 to the listed suites."""
        config = self.tls_file(
            tmp_path,
            pki,
            "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n",
        )
        context = webconfig.ssl_context(config)
        assert context is not None
        assert {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"} == {
            "ECDHE-ECDSA-AES256-GCM-SHA384"
        }
        async with serve(config) as url:
            client = client_context(pki)
            client.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
            client.maximum_version = ssl.TLSVersion.TLSv1_2
            with pytest.raises(aiohttp.ClientError):
                await get(f"{url}/metrics", context=client)

    async def test_tls_with_basic_auth(self, tmp_path: Path, pki: Pki) -> None:
        """TLS and basic auth together: the password travels encrypted and is checked."""
        config = self.tls_file(tmp_path, pki, f"basic_auth_users:\n  prometheus: {HASH}\n")
        async with serve(config) as url:
            context = client_context(pki)
            assert (await get(f"{url}/metrics", context=context))[0] == 401
            auth = basic("prometheus", PASSWORD)
            assert (await get(f"{url}/metrics", context=context, auth=auth))[0] == 200


class TestParseBasicAuth:
    """The Authorization header decoder."""

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            (basic("prometheus", "pw"), ("prometheus", "pw")),
            (basic("jürgen", "pässwörd:with:colons"), ("jürgen", "pässwörd:with:colons")),
            (basic("", ""), ("", "")),
            ("basic " + base64.b64encode(b"a:b").decode(), ("a", "b")),
            ("Basic " + base64.b64encode(b"no-colon").decode(), None),
            ("Basic " + base64.b64encode(b"\xff:\xfe").decode(), None),
            ("Basic not base64!", None),
            ("Bearer token", None),
            ("", None),
        ],
    )
    def test_decode(self, header: str, expected: tuple[str, str] | None) -> None:
        """Well-formed headers decode as UTF-8; anything else is None."""
        assert webauth.parse_basic_auth(header) == expected
