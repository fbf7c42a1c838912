"""Hostile HTTP clients at full size against a real exporter: ``python -m bench.hostile [NAME]``.

Writes bench/runs/hostile.md (folded into RESULTS.md by ``make bench``). Four attacks, each
on a fresh ``power-exporter serve`` with the shipped defaults:

- 1,000 connections each sending 8 KB headers, up to 120 of them, and never finishing;
- 50,000 pipelined ``GET /metrics`` on one connection that reads nothing;
- 1,100 connections trickling a header byte every 4.5 s, under a file limit of 1,024;
- 200 connections sending wrong passwords (bcrypt cost 12) from 127.0.0.2, while a scraper
  on 127.0.0.1 scrapes with cached credentials and once with a fresh check.

tests/e2e/test_hostile.py runs the same attacks scaled down, as tests.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import bcrypt

from bench.exporter import ROOT, free_port, replay_config

if TYPE_CHECKING:
    from collections.abc import Iterator

MIB = 1024 * 1024
DEFAULTS = (
    "Shipped defaults (--web.max-connections 512, --web.request-timeout 10 s, "
    "--web.max-header-bytes 16KiB), 10 replayed devices."
)
SHIM = (
    "import os, resource, sys\n"
    "limit = min(int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_NOFILE)[1])\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'power_exporter', *sys.argv[2:]])\n"
)


class Served:
    """One exporter process under a given file limit."""

    def __init__(self, folder: Path, *flags: str, nofile: int = 65536) -> None:
        self.port = free_port()
        self.log = folder / f"exporter-{self.port}.log"
        config = replay_config(folder, 10, interval="5s")
        command = [
            sys.executable, "-c", SHIM, str(nofile), "serve", "--config", str(config),
            "--listen", f"127.0.0.1:{self.port}", *flags,
        ]  # fmt: skip
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self.get("/healthz")[0] == 200:
                    break
            time.sleep(0.1)
        time.sleep(1.0)

    def get(self, path: str = "/metrics", auth: str | None = None) -> tuple[int, float]:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Authorization": auth} if auth else {})
            response = conn.getresponse()
            response.read()
            return response.status, time.monotonic() - started
        finally:
            conn.close()

    def rss(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def log_bytes(self) -> int:
        return self.log.stat().st_size

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


@contextlib.contextmanager
def served(*flags: str, nofile: int = 65536) -> Iterator[Served]:
    with tempfile.TemporaryDirectory() as tmp:
        exporter = Served(Path(tmp), *flags, nofile=nofile)
        try:
            yield exporter
        finally:
            exporter.stop()


def half_open() -> str:
    with served() as exporter:
        before = exporter.rss()
        sockets: list[socket.socket] = []
        peak = before
        for _ in range(1000):
            with contextlib.suppress(OSError):
                sock = socket.create_connection(("127.0.0.1", exporter.port), timeout=2)
                sock.setblocking(False)  # noqa: FBT003 (the socket API)
                with contextlib.suppress(OSError):
                    sock.send(b"GET /metrics HTTP/1.1\r\n")
                    for i in range(120):
                        sock.send(f"X-{i}: {'a' * 8000}\r\n".encode())
                sockets.append(sock)
        time.sleep(1.0)
        peak = max(peak, exporter.rss())
        status, took = exporter.get()
        for sock in sockets:
            sock.close()
        time.sleep(2.0)
        after = exporter.rss()
    return (
        f"| 1,000 half-open heads (8 KB headers, up to 120) | RSS +{(peak - before) / MIB:.1f} MiB "
        f"at peak, +{(after - before) / MIB:.1f} MiB after | /metrics {status} in {took:.3f} s |"
    )


def pipelined() -> str:
    with served() as exporter:
        before = exporter.rss()
        request = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        sent = 0
        with socket.create_connection(("127.0.0.1", exporter.port)) as sock:
            sock.settimeout(5.0)
            with contextlib.suppress(OSError):
                for _ in range(50_000):
                    sock.sendall(request)
                    sent += 1
            grown = exporter.rss() - before
            status, took = exporter.get()
    return (
        f"| 50,000 pipelined requests, none read ({sent:,} accepted before the server "
        f"stopped reading) | RSS +{grown / MIB:.1f} MiB | /metrics {status} in {took:.3f} s |"
    )


def slow(seconds: float = 30.0) -> str:
    with served(nofile=1024) as exporter:
        log_before = exporter.log_bytes()
        sockets: list[socket.socket] = []
        refused = 0
        for _ in range(1100):
            try:
                sock = socket.create_connection(("127.0.0.1", exporter.port), timeout=2)
                sock.setblocking(False)  # noqa: FBT003 (the socket API)
                sock.send(b"GET / HTTP/1.1\r\n")
                sockets.append(sock)
            except OSError:
                refused += 1
        worst, failures, scrapes = 0.0, 0, 0
        deadline = time.monotonic() + seconds
        next_trickle = time.monotonic() + 4.5
        while time.monotonic() < deadline:
            try:
                status, took = exporter.get()
                worst = max(worst, took)
                failures += status != 200
            except OSError:
                failures += 1
            scrapes += 1
            if time.monotonic() > next_trickle:
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.send(b"X")
                next_trickle += 4.5
            time.sleep(0.25)
        for sock in sockets:
            sock.close()
        grown = exporter.log_bytes() - log_before
    return (
        f"| 1,100 slow connections (a byte every 4.5 s), file limit 1,024, {seconds:.0f} s | "
        f"log +{grown / 1024:.1f} KiB | {scrapes} scrapes, {failures} failed, slowest "
        f"{worst:.3f} s |"
    )


def wrong_passwords(seconds: float = 20.0) -> str:
    password = secrets.token_hex(8)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()
    other = bcrypt.hashpw(b"second", bcrypt.gensalt(rounds=12)).decode()
    with tempfile.TemporaryDirectory() as tmp:
        web = Path(tmp) / "web.yml"
        web.write_text(f"basic_auth_users:\n  prometheus: {hashed}\n  second: {other}\n")
        with served("--web.config.file", str(web)) as exporter:
            good = "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()
            exporter.get(auth=good)
            stop = threading.Event()

            def attack() -> None:
                while not stop.is_set():
                    with contextlib.suppress(OSError, http.client.HTTPException):
                        conn = http.client.HTTPConnection(
                            "127.0.0.1", exporter.port, timeout=10, source_address=("127.0.0.2", 0)
                        )
                        bad = base64.b64encode(f"prometheus:{secrets.token_hex(8)}".encode())
                        conn.request("GET", "/metrics", headers={"Authorization": b"Basic " + bad})
                        conn.getresponse().read()
                        conn.close()

            threads = [threading.Thread(target=attack, daemon=True) for _ in range(200)]
            for thread in threads:
                thread.start()
            time.sleep(2.0)
            cached: list[float] = []
            failures = 0
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                status, took = exporter.get(auth=good)
                failures += status != 200
                cached.append(took)
                time.sleep(0.5)
            fresh_status, fresh = exporter.get(
                auth="Basic " + base64.b64encode(b"second:second").decode()
            )
            stop.set()
            for thread in threads:
                thread.join(15)
    return (
        f"| 200 wrong-password connections, bcrypt cost 12, {seconds:.0f} s | cached scrapes: "
        f"{len(cached)}, {failures} failed, slowest {max(cached):.3f} s | fresh check: "
        f"{fresh_status} in {fresh:.3f} s |"
    )


def main(names: list[str]) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    rows = []
    attacks = (half_open, pipelined, slow, wrong_passwords)
    for attack in [a for a in attacks if not names or a.__name__ in names]:
        print(f"running {attack.__name__} ...", file=sys.stderr)
        rows.append(attack())
        print(rows[-1], file=sys.stderr)
    footer = (
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; load average at the end "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work shares the machine)."
    )
    lines = [
        "### Hostile HTTP clients (`python -m bench.hostile`)",
        "",
        DEFAULTS,
        "",
        "| attack | memory / log | the exporter meanwhile |",
        "| --- | --- | --- |",
        *rows,
        "",
        footer,
    ]
    Path(__file__).with_name("runs").joinpath("hostile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
