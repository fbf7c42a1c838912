"""A real NUT upsd with one dummy-ups driver per dump, for the NUT tests.

Everything lives in a temporary folder (``NUT_CONFPATH``/``NUT_STATEPATH``): ``ups.conf``,
``upsd.conf`` listening on 127.0.0.1 at a free port, ``upsd.users`` and, for STARTTLS, an NSS
certificate database made with ``certutil``. upsd and the drivers run in the foreground as
our subprocesses, drivers started in parallel; readiness is polled over the protocol (every
UPS answers ``GET VAR <ups> ups.status`` with real data), never a fixed sleep.

Debian's ``/usr/sbin/upsd`` is a shell wrapper that does nothing unless ``/etc/nut/nut.conf``
says so: the real daemon is ``/lib/nut/upsd``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import pytest

from tests.peers import in_ci, require_binary

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

INSTALL: Final = "apt-get install nut-server nut-client"
NSS_INSTALL: Final = "apt-get install libnss3-tools"
USERS: Final = {
    "monuser": "secret",
    "other": 'pa ss"word',
    "hash": "se#cret",
    "mixed": 'pa ss"wo\\rd',
}
"""upsd.users: user -> password (with the NUT parser's specials and a blank)."""


def _real_binary(name: str, *candidates: str, install: str) -> str:
    """Like require_binary, refusing a shell-script wrapper in place of the daemon."""
    path = require_binary(name, *candidates, install=install)
    with open(path, "rb") as handle:  # noqa: PTH123
        if handle.read(2) == b"#!":
            message = f"{path} is a wrapper script, not the NUT binary; install with: {install}"
            if in_ci():
                pytest.fail(message)
            pytest.skip(message)
    return path


def upsd_binary() -> str:
    """Find the upsd daemon (not Debian's wrapper)."""
    return _real_binary("upsd", "/lib/nut/upsd", "/usr/lib/nut/upsd", install=INSTALL)


def dummy_ups_binary() -> str:
    """Find NUT's dummy-ups driver."""
    return _real_binary(
        "dummy-ups", "/lib/nut/dummy-ups", "/usr/lib/nut/dummy-ups", install=INSTALL
    )


def upsc_binary() -> str:
    """Find NUT's upsc client (the oracle for what upsd serves)."""
    return require_binary("upsc", "/usr/bin/upsc", install=INSTALL)


def free_port() -> int:
    """Pick a TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ups_name(dump: Path) -> str:
    """Make a NUT section name for a dump file (upsd wants short plain names)."""
    base = dump.stem.split("__")
    return "-".join(base[:2]).lower().replace("_", "-").replace(".", "")[:40]


def conf_quote(value: str) -> str:
    r"""Quote a value for NUT's config files: ``\``, ``"`` and ``#`` escaped inside quotes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#")
    return f'"{escaped}"'


def _run(*args: str) -> bytes:
    return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout


@dataclass(frozen=True)
class Tls:
    """An NSS certificate database for upsd, with the PEM a client should trust."""

    db: Path
    nickname: str
    db_password: str
    ca_pem: Path


def make_tls(
    folder: Path, *, nickname: str = "upsd-test", hosts: str = "127.0.0.1,localhost"
) -> Tls:
    """Make a self-signed certificate for upsd in a fresh NSS database, as NUT documents."""
    certutil = require_binary("certutil", "/usr/bin/certutil", install=NSS_INSTALL)
    folder.mkdir(parents=True, exist_ok=True)
    password = "dbpass"
    (folder / "pw.txt").write_text(password + "\n")
    (folder / "noise").write_bytes(os.urandom(64))
    database = ["-d", str(folder), "-f", str(folder / "pw.txt")]
    sans = ",".join(f"{'ip' if h[0].isdigit() else 'dns'}:{h}" for h in hosts.split(","))
    _run(certutil, "-N", *database)
    _run(
        certutil,
        "-S",
        *database,
        "-z",
        str(folder / "noise"),
        "-n",
        nickname,
        "-s",
        "CN=127.0.0.1",
        "-t",
        "CTu,,",
        "-x",
        "-k",
        "rsa",
        "-g",
        "2048",
        "--extSAN",
        sans,
    )
    (folder / "ca.pem").write_bytes(_run(certutil, "-L", "-d", str(folder), "-n", nickname, "-a"))
    return Tls(folder, nickname, password, folder / "ca.pem")


@dataclass
class Upsd:
    """One upsd and its dummy-ups drivers in ``root``; ``upses`` maps section name -> dump."""

    root: Path
    upses: dict[str, Path]
    descriptions: dict[str, str] = field(default_factory=dict)
    tls: Tls | None = None
    port: int = field(default_factory=free_port)
    upsd_process: subprocess.Popen[bytes] | None = None
    drivers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def server(self) -> str:
        """``host:port`` of this upsd."""
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment that points NUT at our folder."""
        return {
            **os.environ,
            "NUT_CONFPATH": str(self.root / "etc"),
            "NUT_STATEPATH": str(self.root / "state"),
        }

    def write_config(self) -> None:
        """ups.conf, upsd.conf and upsd.users for the current UPSes."""
        etc, state = self.root / "etc", self.root / "state"
        etc.mkdir(parents=True, exist_ok=True)
        state.mkdir(parents=True, exist_ok=True)
        sections = []
        for name, dump in self.upses.items():
            lines = [f"[{name}]", "  driver = dummy-ups", f"  port = {dump.resolve()}"]
            if name in self.descriptions:
                lines.append(f"  desc = {conf_quote(self.descriptions[name])}")
            sections.append("\n".join(lines))
        (etc / "ups.conf").write_text("\n".join(sections) + "\n")
        upsd_conf = [f"LISTEN 127.0.0.1 {self.port}"]
        if self.tls is not None:
            upsd_conf += [
                f"CERTPATH {self.tls.db}",
                f'CERTIDENT "{self.tls.nickname}" "{self.tls.db_password}"',
                "DISABLE_WEAK_SSL true",
            ]
        (etc / "upsd.conf").write_text("\n".join(upsd_conf) + "\n")
        users = []
        for user, password in USERS.items():
            users.append(f"[{user}]\n  password = {conf_quote(password)}\n  upsmon secondary\n")
        (etc / "upsd.users").write_text("\n".join(users))
        (etc / "upsd.users").chmod(0o600)
        (etc / "nut.conf").write_text("MODE=standalone\n")

    def _as_root(self) -> list[str]:
        return ["-u", "root"] if os.geteuid() == 0 else []

    def start_drivers(self, names: Iterable[str] | None = None) -> None:
        """Start dummy-ups for ``names`` (default: every UPS), all at once, in the foreground."""
        binary = dummy_ups_binary()
        for name in names if names is not None else self.upses:
            self.drivers[name] = subprocess.Popen(
                [binary, "-a", name, *self._as_root(), "-F"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def start_upsd(self) -> None:
        """Start upsd in the foreground and wait until it accepts connections."""
        self.upsd_process = subprocess.Popen(
            [upsd_binary(), *self._as_root(), "-F"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.upsd_process.poll() is not None:
                raise RuntimeError(f"upsd exited with {self.upsd_process.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.02)
        raise RuntimeError("upsd did not start listening")

    def start(self) -> Upsd:
        """Write the config, start every driver and upsd, and wait for data."""
        self.write_config()
        self.start_drivers()
        self.start_upsd()
        self.wait_ready()
        return self

    def ask(self, line: str, *, timeout: float = 2.0) -> str:
        """Send one request, return its first answer line (a blocking helper for readiness)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout) as sock:
            sock.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace").strip()

    def wait_ready(self, names: Iterable[str] | None = None, *, timeout: float = 20.0) -> None:
        """Wait until every UPS in ``names`` (default: all) has real data behind upsd."""
        pending = set(names if names is not None else self.upses)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                with contextlib.suppress(OSError):
                    answer = self.ask(f"GET VAR {name} ups.status")
                    if answer.startswith("VAR ") and "WAIT" not in answer:
                        pending.discard(name)
            if pending:
                time.sleep(0.1)
        if pending:
            raise RuntimeError(f"no data from dummy-ups for {sorted(pending)}")

    def wait_answer(self, line: str, expected: str, *, timeout: float = 10.0) -> None:
        """Wait until upsd answers ``line`` with something starting with ``expected``."""
        deadline = time.monotonic() + timeout
        answer = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                answer = self.ask(line)
                if answer.startswith(expected):
                    return
            time.sleep(0.1)
        raise RuntimeError(f"upsd answered {answer!r} to {line!r}, expected {expected!r}")

    def reload(self) -> None:
        """Rewrite the config and have upsd re-read it: ``upsd -c reload`` (our upsd's PID)."""
        assert self.upsd_process is not None, "upsd is not running"
        self.write_config()
        subprocess.run(
            [upsd_binary(), *self._as_root(), "-c", "reload", "-P", str(self.upsd_process.pid)],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=10,
        )

    def stop_driver(self, name: str) -> None:
        """Stop one driver (SIGTERM) and wait for it."""
        process = self.drivers.pop(name)
        process.send_signal(signal.SIGTERM)
        process.wait(10)

    def stop_upsd(self) -> None:
        """Stop upsd (SIGTERM) and wait for it; the drivers keep running."""
        if self.upsd_process is not None:
            self.upsd_process.send_signal(signal.SIGTERM)
            self.upsd_process.wait(10)
            self.upsd_process = None

    def stop(self) -> None:
        """Stop upsd and every driver."""
        self.stop_upsd()
        for name in list(self.drivers):
            self.stop_driver(name)

    def upsc(self, ups: str) -> dict[str, str]:
        """Ask ``upsc`` about one UPS: the oracle for the values upsd serves."""
        result = subprocess.run(
            [upsc_binary(), f"{ups}@{self.server}"],
            capture_output=True,
            check=True,
            text=True,
            timeout=10,
            env=self.env,
        )
        values: dict[str, str] = {}
        for line in result.stdout.splitlines():
            name, _, value = line.partition(": ")
            values[name] = value
        return values

    def upsc_list(self) -> dict[str, str]:
        """``upsc -L``: UPS name -> description."""
        result = subprocess.run(
            [upsc_binary(), "-L", self.server],
            capture_output=True,
            check=True,
            text=True,
            timeout=10,
            env=self.env,
        )
        return dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)


def dumps(folder: Path) -> Mapping[str, Path]:
    """Every dump in ``folder`` by its NUT section name."""
    return {ups_name(path): path for path in sorted(folder.glob("*.dev"))}
