"""A real ``mosquitto`` broker for the tests: TLS with certificates the test makes, passwords.

:func:`make_certificates` makes a private CA and a server certificate for ``127.0.0.1`` with
the ``openssl`` command line. :class:`Mosquitto` writes a configuration (one TLS listener on
loopback, no anonymous clients, a password file), starts the broker on a fixed port so that
it can be stopped and started again on the same one (broker restarts are what reconnection
tests need), and changes passwords while it runs (SIGHUP makes mosquitto reread the file).
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

from tests.peers import require_binary

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

INSTALL: Final = "apt-get install mosquitto openssl"
_START_TIMEOUT: Final = 10.0


@dataclass(frozen=True, slots=True)
class Certificates:
    """A private CA and a server certificate (with key) it signed for 127.0.0.1/localhost."""

    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path) -> Certificates:
    """Make a CA and a server certificate in ``directory`` (EC P-256, valid for two days)."""
    openssl = require_binary("openssl", install=INSTALL)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        directory / name for name in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
    )
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "authorityKeyIdentifier=keyid\n"
        "subjectKeyIdentifier=hash\n",
        encoding="ascii",
    )
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_extensions = [
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    ]
    commands = [
        [
            openssl,
            "req",
            "-x509",
            *curve,
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "2",
            "-subj",
            "/CN=power-exporter test CA",
            *ca_extensions,
        ],
        [openssl, "req", *curve, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [
            openssl,
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
    ]
    for command in commands:
        subprocess.run([str(part) for part in command], check=True, capture_output=True)
    return Certificates(ca=ca, cert=cert, key=key)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Mosquitto:
    """One mosquitto process with a TLS listener on 127.0.0.1:``port``."""

    directory: Path
    certificates: Certificates
    users: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``mqtts://127.0.0.1:<port>``."""
        return f"mqtts://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """What the broker logged so far."""
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _write(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_passwords()
        conf = self.directory / "mosquitto.conf"
        certs = self.certificates
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"cafile {certs.ca}\ncertfile {certs.cert}\nkeyfile {certs.key}\n"
            "allow_anonymous false\n"
            f"password_file {self.directory / 'passwords'}\n"
            "persistence false\n"
            # run as root (CI), mosquitto would switch to its own user and lose our files
            + ("user root\n" if os.geteuid() == 0 else "")
            + f"log_dest file {self.directory / 'mosquitto.log'}\n"
            "log_type all\n",
            encoding="ascii",
        )
        return conf

    def _write_passwords(self) -> None:
        passwd = require_binary("mosquitto_passwd", "/usr/bin/mosquitto_passwd", install=INSTALL)
        path = self.directory / "passwords"
        path.write_text("", encoding="ascii")
        path.chmod(0o600)
        for user, password in self.users.items():
            subprocess.run([passwd, "-b", str(path), user, password], check=True)

    def start(self) -> None:
        """Start the broker and wait until it accepts TCP connections."""
        binary = require_binary("mosquitto", "/usr/sbin/mosquitto", install=INSTALL)
        conf = self._write()
        self.process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"mosquitto exited at start: {err}\n{self.log}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {_START_TIMEOUT} s")

    def stop(self) -> None:
        """Kill the broker (as a crash would) and wait for it to be gone."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    def set_users(self, users: Mapping[str, str]) -> None:
        """Replace the accounts; a running broker rereads them (connected clients stay)."""
        self.users = dict(users)
        self._write_passwords()
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGHUP)
