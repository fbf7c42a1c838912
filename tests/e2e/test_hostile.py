"""Hostile HTTP clients against `power-exporter serve` as a real process.

Counts are scaled down so each test runs in seconds (300 half-open connections rather than
1,000; 5,000 pipelined requests rather than 50,000): ``bench/hostile.py`` runs the full
sizes. Memory is the process's resident set, read from /proc.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import secrets
import socket
import threading
import time
from typing import TYPE_CHECKING

import bcrypt
import pytest

from tests.e2e.test_lifecycle import BINARY, devices_yaml
from tests.e2e.test_prometheus import fetch, free_port, running, wait_for

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator
    from pathlib import Path

MIB = 1024 * 1024
# The Done-when figure of the full-size run; these smaller runs must stay well inside it.
RSS_GROWTH_LIMIT = 50 * MIB


def rss(process: subprocess.Popen[str]) -> int:
    with open(f"/proc/{process.pid}/status", encoding="ascii") as status:  # noqa: PTH123
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@contextlib.contextmanager
def exporter(tmp_path: Path, *flags: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(devices_yaml("a", "b"))
    port = free_port()
    command = [
        BINARY, "serve", "--config", str(cfg), "--listen", f"127.0.0.1:{port}", *flags,
    ]  # fmt: skip
    with running(command, tmp_path / "exporter.log") as process:
        wait_for("served", lambda: fetch(f"http://127.0.0.1:{port}/healthz"), process)
        time.sleep(0.5)  # the devices' first reads
        yield process, port


def rejected(port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/metrics"
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(fetch(url))
        for sample in family.samples
        if sample.name == "power_exporter_http_requests_rejected_total"
    }


def scrape_seconds(port: int) -> float:
    started = time.monotonic()
    assert "power_device_up" in fetch(f"http://127.0.0.1:{port}/metrics")
    return time.monotonic() - started


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


class TestHeads:
    def test_half_open_heads_hold_little_and_are_timed_out(self, tmp_path: Path) -> None:
        """300 connections each sending 12 KB of a head and stopping hold little memory.

        RSS grows < 50 MB, /metrics answers, and each is closed (408, counted) at the
        request timeout.
        """
        with exporter(tmp_path, "--web.request-timeout", "6") as (process, port):
            before = rss(process)
            head = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 8000 + b"\r\n"
            head += b"X-More: " + b"b" * 4000 + b"\r\n"
            sockets = []
            try:
                for _ in range(300):
                    sock = connect(port)
                    sock.sendall(head)
                    sockets.append(sock)
                time.sleep(0.5)
                grown = rss(process) - before
                assert grown < RSS_GROWTH_LIMIT, f"RSS grew {grown / MIB:.0f} MiB"
                assert "power_device_up" in fetch(f"http://127.0.0.1:{port}/metrics")
                wait_for("timed out", lambda: rejected(port)["timeout"] >= 300, process)
                for sock in sockets:
                    assert sock.recv(64).startswith(b"HTTP/1.1 408")
            finally:
                for sock in sockets:
                    sock.close()

    def test_each_request_has_its_own_time(self, tmp_path: Path) -> None:
        """On a keep-alive connection the request timeout runs per request, not per connection.

        Three requests 0.7 s apart with a 1 s timeout all answer; so do heads sent whole
        that together pass the size limit.
        """
        flags = ("--web.request-timeout", "1", "--web.max-header-bytes", "2KiB")
        with exporter(tmp_path, *flags) as (_, port):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for _ in range(3):
                conn.request("GET", "/healthz", headers={"X-Pad": "p" * 1000})
                response = conn.getresponse()
                assert (response.status, response.read()) == (200, b"ok\n")
                time.sleep(0.7)
            conn.close()

    def test_a_head_over_the_size_limit_is_refused(self, tmp_path: Path) -> None:
        """A request head past --web.max-header-bytes gets 431 and the connection closes."""
        with (
            exporter(tmp_path, "--web.max-header-bytes", "8KiB") as (_, port),
            connect(port) as sock,
        ):
            sock.sendall(b"GET / HTTP/1.1\r\n")
            with contextlib.suppress(OSError):
                for i in range(100):
                    sock.sendall(f"X-H{i}: {'v' * 500}\r\n".encode())
            assert sock.recv(64).startswith(b"HTTP/1.1 431")
            assert rejected(port)["header_size"] == 1

    def test_malformed_requests_are_one_counted_line(self, tmp_path: Path) -> None:
        """200 malformed requests: counted, and at most a line or two of log, no traceback."""
        with exporter(tmp_path) as (process, port):
            for _ in range(200):
                with connect(port) as sock:
                    sock.sendall(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")
                    assert sock.recv(64)[9:12] == b"400"
            assert rejected(port)["malformed"] == 200
            assert process.poll() is None
        log = (tmp_path / "exporter.log").read_text()
        assert "Traceback" not in log
        assert log.count("malformed request") <= 2


class TestPipelining:
    def test_pipelined_requests_are_bounded(self, tmp_path: Path) -> None:
        """One connection sending 5,000 requests and reading nothing: RSS grows < 50 MB."""
        with exporter(tmp_path) as (process, port):
            before = rss(process)
            request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            with connect(port) as sock:
                sock.settimeout(2.0)
                sent = 0
                with contextlib.suppress(TimeoutError):
                    for _ in range(5000):
                        sock.sendall(request)
                        sent += 1
                grown = rss(process) - before
                assert grown < RSS_GROWTH_LIMIT, f"RSS grew {grown / MIB:.0f} MiB after {sent}"
                assert "power_device_up" in fetch(f"http://127.0.0.1:{port}/metrics")


class TestConnectionCap:
    def test_slow_connections_give_way_to_a_scrape(self, tmp_path: Path) -> None:
        """With the cap full of trickling clients, a scrape still answers, evicting the oldest.

        Within 1 s (with margin for a loaded machine: it takes ~10 ms); the log stays small.
        """
        with exporter(tmp_path, "--web.max-connections", "50") as (process, port):
            sockets = []
            try:
                for _ in range(120):
                    with contextlib.suppress(OSError):
                        sock = connect(port)
                        sock.sendall(b"GET / HTTP/1.1\r\n")
                        sockets.append(sock)
                for _ in range(5):
                    assert scrape_seconds(port) < 1.0
                counts = rejected(port)
                assert counts["evicted"] >= 70
                assert process.poll() is None
            finally:
                for sock in sockets:
                    sock.close()
        log = (tmp_path / "exporter.log").read_bytes()
        assert len(log) < 100 * 1024
        assert log.count(b"evicted") <= 2


class TestBasicAuthStarvation:
    def test_wrong_passwords_do_not_starve_a_scraper(self, tmp_path: Path) -> None:
        """40 clients sending wrong passwords from another address do not starve a scraper.

        Cached scrapes answer, and a fresh check answers within 2 s (~0.3 s here; the rest
        is margin for a loaded machine).
        """
        password = "right horse"
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
        web = tmp_path / "web.yml"
        web.write_text(f"basic_auth_users:\n  prometheus: {hashed}\n")
        good = "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()
        with exporter(tmp_path, "--web.config.file", str(web)) as (_, port):
            stop = threading.Event()

            def attack() -> None:
                while not stop.is_set():
                    with contextlib.suppress(OSError, http.client.HTTPException):
                        conn = http.client.HTTPConnection(
                            "127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0)
                        )
                        bad = base64.b64encode(f"prometheus:{secrets.token_hex(8)}".encode())
                        conn.request("GET", "/metrics", headers={"Authorization": b"Basic " + bad})
                        conn.getresponse().read()
                        conn.close()

            def scrape(auth: str) -> tuple[int, float]:
                started = time.monotonic()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/metrics", headers={"Authorization": auth})
                status = conn.getresponse().status
                conn.close()
                return status, time.monotonic() - started

            assert scrape(good)[0] == 200  # cached from now on
            threads = [threading.Thread(target=attack) for _ in range(40)]
            for thread in threads:
                thread.start()
            try:
                time.sleep(1.0)
                for _ in range(10):
                    status, took = scrape(good)
                    assert status == 200
                fresh = "Basic " + base64.b64encode(b"prometheus:" + password.encode()).decode()
                # The same credentials spelled anew hit the cache too; a fresh check needs a
                # user the cache has not seen: rewrite the file with a second user.
                other = bcrypt.hashpw(b"second", bcrypt.gensalt(rounds=10)).decode()
                web.write_text(f"basic_auth_users:\n  prometheus: {hashed}\n  second: {other}\n")
                second = "Basic " + base64.b64encode(b"second:second").decode()
                status, took = scrape(second)
                assert status == 200
                assert took < 2.0, f"a fresh check took {took:.2f} s"
                assert scrape(fresh)[0] == 200
            finally:
                stop.set()
                for thread in threads:
                    thread.join()


@pytest.fixture(autouse=True)
def _loopback_alias() -> None:
    """The attackers bind 127.0.0.2, which Linux routes on lo without setup."""
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 is not usable here")
