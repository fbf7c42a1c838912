"""`power-exporter serve` as a real process: TLS and basic auth from --web.config.file, SIGTERM."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import bcrypt
import pytest

from tests.e2e.test_prometheus import exporter_command, free_port, running, wait_for
from tests.ops.pki import make_pki

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "correct horse battery staple"


def get(url: str, context: ssl.SSLContext | None, auth: tuple[str, str] | None) -> tuple[int, str]:
    request = urllib.request.Request(url)  # noqa: S310 (https to 127.0.0.1 only)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


class TestServe:
    def test_tls_and_basic_auth_from_the_web_config(self, tmp_path: Path) -> None:
        """/metrics needs TLS and the right password; /healthz stays open; SIGTERM exits 0."""
        pki = make_pki(tmp_path)
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        web = tmp_path / "web.yml"
        web.write_text(
            "tls_server_config:\n"
            f"  cert_file: {pki.server.cert}\n"
            f"  key_file: {pki.server.key}\n"
            "basic_auth_users:\n"
            f"  prometheus: {hashed}\n"
        )
        port = free_port()
        base = f"https://127.0.0.1:{port}"
        trusted = ssl.create_default_context(cafile=str(pki.ca))
        trusted.check_hostname = False
        command = [*exporter_command(port), "--web.config.file", str(web)]
        with running(command, tmp_path / "exporter.log") as process:
            wait_for(
                "/healthz over TLS",
                lambda: get(f"{base}/healthz", trusted, None)[0] == 200,
                process,
            )
            assert get(f"{base}/metrics", trusted, None)[0] == 401
            assert get(f"{base}/metrics", trusted, ("prometheus", "wrong"))[0] == 401
            status, body = get(f"{base}/metrics", trusted, ("prometheus", PASSWORD))
            assert status == 200
            assert "power_device_up{" in body
            with pytest.raises(urllib.error.URLError):
                get(f"{base}/metrics", ssl.create_default_context(), ("prometheus", PASSWORD))
            with pytest.raises((urllib.error.URLError, ConnectionError)):
                get(f"http://127.0.0.1:{port}/healthz", None, None)
        assert process.returncode == 0
        log = (tmp_path / "exporter.log").read_text()
        assert PASSWORD not in log
        assert hashed not in log
