"""A real apcupsd (Debian's, unpacked beside NUT) serving its NIS on 127.0.0.1, for the tests.

Debian's ``apcupsd`` package conflicts with NUT's (both provide ``ups-monitor``), so it is
never installed: ``scripts/install-peers`` unpacks it into ``$APCUPSD_ROOT`` (default
:data:`DEFAULT_ROOT`). Everything an instance writes lives in its own temporary folder: the
config, pid, lock, status and events files, and an **empty** script folder, so that apcupsd
never runs ``apccontrol`` or any shutdown script. Its NIS listens on 127.0.0.1 at a free port.

Three drivers, all real apcupsd code:

- ``UPSTYPE test``: fixed values (MODEL ``Test Driver``, STATUS ``ONLINE NOBATT``...).
- ``UPSTYPE pcnet``: the UPS is whatever the PowerChute Network Shutdown datagrams we send to
  UDP 3052 say. apcupsd binds ``0.0.0.0:3052``, a fixed port, so only one pcnet instance can
  run on the machine: :class:`Apcupsd` holds an ``fcntl`` lock on a file in the temporary
  folder while one runs, and parallel test runs wait for it. Low battery (0x40) is never
  sent: it would start apcupsd's shutdown sequence.
- ``UPSTYPE net``: a second apcupsd reading a first one's NIS (``DEVICE host:port``,
  ``POLLTIME 1``); stopping the first makes the second report COMMLOST within seconds (the
  pcnet driver needs 55 s of silence for that).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

import pytest

from tests.peers import in_ci

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_ROOT: Final = "/usr/local/lib/power-exporter-peers/apcupsd"
INSTALL: Final = (
    "scripts/install-peers, or: apt-get download apcupsd && dpkg-deb -x apcupsd_*.deb"
    " $APCUPSD_ROOT (and apt-get install libusb-0.1-4 libwrap0); never apt-get install"
    " apcupsd: its package removes NUT"
)
PCNET_PORT: Final = 3052
LOW_BATTERY: Final = 0x40
PCNET_LOCK: Final = Path(tempfile.gettempdir()) / "power-exporter-tests-pcnet-3052.lock"
PCNET_LOCK_WAIT: Final = 300.0


def _missing(message: str) -> None:
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def apcupsd_root() -> Path:
    """The folder apcupsd is unpacked in (``$APCUPSD_ROOT`` or the default)."""
    return Path(os.environ.get("APCUPSD_ROOT") or DEFAULT_ROOT)


def binary(name: str) -> str:
    """``sbin/<name>`` of the unpacked apcupsd; skip (fail under CI) when it is missing."""
    path = apcupsd_root() / "sbin" / name
    if not os.access(path, os.X_OK):
        _missing(
            f"peer binary {name!r} is missing under {apcupsd_root()}; install it with: {INSTALL}"
        )
    return str(path)


def free_port() -> int:
    """Pick a TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nis_query(port: int, command: bytes = b"status", *, timeout: float = 2.0) -> list[str]:
    """One NIS command on a connection of its own (blocking): the reply's lines."""
    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        sock.sendall(struct.pack(">H", len(command)) + command)
        data = b""
        lines: list[str] = []
        while True:
            while len(data) < 2:
                chunk = sock.recv(4096)
                if not chunk:
                    return lines
                data += chunk
            (length,) = struct.unpack(">H", data[:2])
            if length == 0:
                return lines
            while len(data) < 2 + length:
                chunk = sock.recv(4096)
                if not chunk:
                    return lines
                data += chunk
            lines.append(data[2 : 2 + length].decode("latin-1").rstrip("\n\x00"))
            data = data[2 + length :]


@contextlib.contextmanager
def pcnet_lock(timeout: float = PCNET_LOCK_WAIT) -> Iterator[None]:
    """Hold the machine-wide lock on UDP 3052 (one pcnet apcupsd at a time)."""
    handle: IO[bytes] = PCNET_LOCK.open("ab")
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test run held {PCNET_LOCK} for {timeout:g} s")
                time.sleep(0.2)
        yield
    finally:
        handle.close()  # closing releases the lock


@dataclass
class Apcupsd:
    """One apcupsd in ``root``: ``upstype`` test, pcnet or net (then ``device`` = host:port)."""

    root: Path
    upstype: str = "test"
    upsname: str = "testups"
    device: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _lock: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _uptime: int = 0
    _locked: bool = False

    @property
    def server(self) -> str:
        """``host:port`` of this apcupsd's NIS."""
        return f"127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        """A private apcupsd.conf: our folder for every file, an empty script folder."""
        scripts = self.root / "scripts"
        scripts.mkdir(parents=True, exist_ok=True)
        lines = [
            "## apcupsd.conf v1.1 ##",
            f"UPSNAME {self.upsname}",
            "UPSCABLE ether",
            f"UPSTYPE {self.upstype}",
            f"DEVICE {self.device}".rstrip(),
            "NETSERVER on",
            "NISIP 127.0.0.1",
            f"NISPORT {self.port}",
            f"LOCKFILE {self.root}",
            f"SCRIPTDIR {scripts}",
            f"PWRFAILDIR {self.root}",
            f"NOLOGINDIR {self.root}",
            f"EVENTSFILE {self.root / 'events'}",
            f"STATFILE {self.root / 'status'}",
            "UPSCLASS standalone",
            "UPSMODE disable",
            "KILLDELAY 0",
        ]
        if self.upstype == "net":
            lines.append("POLLTIME 1")
        conf = self.root / "apcupsd.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> Apcupsd:
        """Start apcupsd in the foreground (pcnet: under the lock) and wait for its NIS."""
        daemon = binary("apcupsd")
        conf = self.write_config()
        if self.upstype == "pcnet" and not self._locked:
            self._lock.enter_context(pcnet_lock())
            self._locked = True
        self.process = subprocess.Popen(
            [daemon, "-b", "-f", str(conf), "-P", str(self.root / "apcupsd.pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends its forks too
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"apcupsd exited with {self.process.returncode}")
            with contextlib.suppress(OSError):
                if any(line.startswith("STATUS") for line in nis_query(self.port)):
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("apcupsd's NIS did not answer")

    def stop(self) -> None:
        """Stop apcupsd and its forks (SIGTERM, then SIGKILL), and let go of the pcnet lock."""
        if self.process is not None:
            group = self.process.pid  # the group apcupsd leads (start_new_session)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            # apcupsd forks to run event scripts; with none in SCRIPTDIR the exec fails, and a
            # fork of the threaded daemon can hang before it exits: end what is left of it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self.process = None
        self._lock.close()
        self._locked = False
        self._uptime = 0

    def status(self) -> dict[str, str]:
        """The UPS's status as ``apcaccess`` prints it: the oracle for what apcupsd serves."""
        result = subprocess.run(
            [binary("apcaccess"), "status", self.server],
            capture_output=True,
            check=True,
            text=True,
            timeout=10,
        )
        values: dict[str, str] = {}
        for line in result.stdout.splitlines():
            key, _, value = line.partition(":")
            values[key.strip()] = value.strip()
        return values

    def wait_status(self, key: str, expected: str, *, timeout: float = 10.0) -> dict[str, str]:
        """Wait until ``apcaccess`` shows ``key`` starting with ``expected``; return the status."""
        deadline = time.monotonic() + timeout
        status: dict[str, str] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.CalledProcessError):
                status = self.status()
                if status.get(key, "").startswith(expected):
                    return status
            time.sleep(0.1)
        raise RuntimeError(f"apcupsd shows {key}={status.get(key)!r}, expected {expected!r}")

    def send_pcnet(self, status_byte: int, **values: str) -> None:
        """Send one PowerChute datagram: status byte (0x08 online, 0x10 on battery) and values.

        ``values`` are smart-protocol letters in hex as keys (``x4C="231.0"`` for LINEV); the
        low-battery bit is refused, since apcupsd would start its shutdown sequence.
        """
        if self.upstype != "pcnet":
            raise RuntimeError("datagrams only drive a pcnet apcupsd")
        if status_byte & LOW_BATTERY:
            raise ValueError("never send low battery (0x40): apcupsd would start shutting down")
        self._uptime += 1
        lines = ["SR=1", f"SU={self._uptime:x}", "MD=power-exporter tests", f"51={status_byte:02X}"]
        lines += [f"{key.removeprefix('x')}={value}" for key, value in values.items()]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(("\n".join(lines) + "\n").encode(), ("127.0.0.1", PCNET_PORT))
