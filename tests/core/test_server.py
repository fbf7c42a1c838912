"""Listen addresses, binding and systemd's sockets."""

from __future__ import annotations

import os
import socket

import pytest

from power_exporter.errors import ConfigError, ListenError
from power_exporter.server import Limits, bind, files_needed, parse_listen, systemd_sockets


class TestListenAddresses:
    @pytest.mark.parametrize(
        ("text", "parsed"),
        [
            (":9860", (None, 9860)),
            ("127.0.0.1:80", ("127.0.0.1", 80)),
            ("[::1]:9860", ("::1", 9860)),
            ("exporter.example:9860", ("exporter.example", 9860)),
        ],
    )
    def test_forms(self, text: str, parsed: tuple[str | None, int]) -> None:
        """HOST:PORT, [IPV6]:PORT and :PORT (every address)."""
        assert parse_listen(text) == parsed

    @pytest.mark.parametrize("text", ["9860", "host:", ":99999", "host:http"])
    def test_refused(self, text: str) -> None:
        """Anything else is a configuration error naming the forms."""
        with pytest.raises(ConfigError, match=r"HOST:PORT, \[IPV6\]:PORT or :PORT"):
            parse_listen(text)

    def test_port_alone_binds_one_port_on_every_stack(self) -> None:
        """:0 binds IPv4 (and IPv6 where there is one) on the same port."""
        sockets = bind(":0")
        try:
            ports = {sock.getsockname()[1] for sock in sockets}
            families = {sock.family for sock in sockets}
            assert len(ports) == 1
            assert socket.AF_INET in families
        finally:
            for sock in sockets:
                sock.close()

    def test_a_port_in_use_is_a_clear_error(self) -> None:
        """A taken port is a ListenError (exit 3) saying which address and why."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{port}: .*in use"):
                bind(f"127.0.0.1:{port}")


class TestSystemdSockets:
    @pytest.mark.parametrize(
        ("environ", "message"),
        [
            ({}, "no sockets were passed"),
            ({"LISTEN_PID": "1", "LISTEN_FDS": "1"}, "no sockets were passed"),
            ({"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "0"}, "names no socket"),
        ],
    )
    def test_without_sockets(self, environ: dict[str, str], message: str) -> None:
        """Asked for socket activation without sockets for this process: a clear error."""
        with pytest.raises(ConfigError, match=message):
            systemd_sockets(environ)


def test_files_needed() -> None:
    """The cap, two descriptors per device and a reserve."""
    assert files_needed(Limits(max_connections=100), 10) == 100 + 20 + 64
