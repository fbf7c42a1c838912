"""A real ``power-exporter serve`` process for benchmarks, chaos and soak runs.

The exporter runs as its own process, started the way a user starts it, with a config file
written for the run; we scrape it over HTTP and read its memory and descriptors from /proc.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

ROOT = Path(__file__).resolve().parent.parent
DUMPS = ROOT / "tests" / "fixtures" / "nut-ddl"
# A UPS with a rich dump: 19 normalized measures/flags families and ~60 raw NUT variables.
DEFAULT_DUMP = DUMPS / "Eaton__5PX_2000__usbhid-ups__2.7.4__01.dev"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def replay_config(
    folder: Path, devices: int, *, interval: str = "15s", dump: Path = DEFAULT_DUMP
) -> Path:
    """A config of ``devices`` replay devices, all replaying ``dump``."""
    lines = ["log_level: warning", "devices:"]
    for i in range(devices):
        lines += [
            f"  - name: ups-{i:05d}",
            "    source: replay",
            f"    file: {dump}",
            f"    interval: {interval}",
        ]
    path = folder / f"replay-{devices}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def samples(page: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of one family (by its name as the parser gives it) in a page."""
    for family in text_string_to_metric_families(page):
        if family.name == name:
            return [(s.labels, s.value) for s in family.samples if s.name.startswith(name)]
    return []


def value_of(page: str, sample: str) -> float | None:
    """The value of the first sample line starting with ``sample`` (a cheap scan, no parse)."""
    for line in page.splitlines():
        if line.startswith(sample):
            return float(line.rsplit(" ", 1)[1])
    return None


@dataclass
class Exporter:
    """One ``power-exporter serve`` process."""

    config: Path
    port: int = field(default_factory=free_port)
    log: IO[bytes] | None = None
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    env: Mapping[str, str] | None = None

    def start(self) -> Exporter:
        command = [
            sys.executable,
            "-m",
            "power_exporter",
            "serve",
            "--config",
            str(self.config),
            "--listen",
            f"127.0.0.1:{self.port}",
        ]
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log or subprocess.DEVNULL,
            env={**os.environ, **(self.env or {})},
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def get(self, path: str = "/metrics", timeout: float = 10.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_up(self, devices: int, timeout: float = 60.0) -> float:
        """Seconds from process start to the first scrape with every device up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("the exporter exited")
            try:
                status, body = self.get(timeout=5)
            except OSError:
                time.sleep(0.005)
                continue
            if status == 200 and up_count(body) >= devices:
                return time.monotonic() - self.started
            time.sleep(0.005)
        raise TimeoutError(f"not all {devices} devices up within {timeout} s")

    def rss(self) -> int:
        """Resident set size in bytes, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def fds(self) -> int:
        """Open file descriptors, from /proc."""
        return sum(1 for _ in Path(f"/proc/{self.pid}/fd").iterdir())

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def __enter__(self) -> Exporter:  # noqa: PYI034 (start() returns the same object)
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def up_count(page: bytes) -> int:
    """How many devices a page shows up."""
    return sum(
        1
        for line in page.split(b"\n")
        if line.startswith(b"power_device_up{") and line.endswith(b" 1")
    )


def percentile(values: Iterable[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]
