"""A real mosquitto broker for the tests, with plain, password and TLS listeners.

The configuration is the checked-in template ``mosquitto.conf.in`` beside this file; its
ports are chosen free at start. The TLS listener uses a server certificate for
``localhost`` / ``127.0.0.1`` signed by a CA the tests make with the ``openssl`` command
(:func:`make_tls`); clients trust it with ``ca_file``. Users come from a mapping, hashed
into mosquitto's password file by ``mosquitto_passwd``.

    with Mosquitto(tmp_path, users={"acct": "secret"}) as broker:
        broker.tls_port, broker.tls.ca, broker.plain_port ...
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, BinaryIO, Final, Self

from tests.peers import require_binary

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

TEMPLATE: Final = Path(__file__).with_name("mosquitto.conf.in")
_START_TIMEOUT: Final = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A test CA and a server certificate it signed."""

    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path, *, names: tuple[str, ...] = ("localhost",)) -> TlsFiles:
    """Make a CA and a server certificate for ``names`` and 127.0.0.1 (EC P-256 keys)."""
    openssl = require_binary("openssl", "/usr/bin/openssl", install="apt-get install openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    san = ",".join([*(f"DNS:{name}" for name in names), "IP:127.0.0.1"])
    ext.write_text(
        f"subjectAltName={san}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n",
        encoding="utf-8",
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_extensions = [
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    ]
    signing = ["-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2", "-extfile", ext]
    ca_subject = ["-subj", "/CN=power-exporter test CA"]
    steps = [
        [
            openssl,
            "req",
            "-x509",
            *ec,
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "2",
            *ca_subject,
            *ca_extensions,
        ],
        [openssl, "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", csr, "-out", cert, *signing],
    ]
    for step in steps:
        subprocess.run([str(arg) for arg in step], check=True, capture_output=True)
    return TlsFiles(ca=ca, cert=cert, key=key)


class Mosquitto:
    """One mosquitto process; a context manager that starts and stops it."""

    def __init__(
        self, directory: Path, users: Mapping[str, str] | None = None, tls: TlsFiles | None = None
    ) -> None:
        self.binary = require_binary(
            "mosquitto", "/usr/sbin/mosquitto", install="apt-get install mosquitto"
        )
        self.passwd_tool = require_binary(
            "mosquitto_passwd", "/usr/bin/mosquitto_passwd", install="apt-get install mosquitto"
        )
        self.directory = directory
        self.users = dict(users or {})
        self.tls = tls or make_tls(directory / "tls")
        self.plain_port = self.password_port = self.tls_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    def _write_passwords(self) -> Path:
        passwd = self.directory / "passwd"
        passwd.write_text(
            "".join(f"{user}:{password}\n" for user, password in self.users.items()),
            encoding="utf-8",
        )
        if self.users:  # hash the plain "user:password" lines in place
            subprocess.run([self.passwd_tool, "-U", str(passwd)], check=True, capture_output=True)
        return passwd

    def _write_config(self) -> Path:
        passwd = self._write_passwords()
        if not self.tls_port:  # chosen once: a restart listens on the same ports
            self.plain_port, self.password_port = free_port(), free_port()
            self.tls_port = free_port()
        config = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
            user=getpass.getuser(),
            plain_port=self.plain_port,
            password_port=self.password_port,
            tls_port=self.tls_port,
            password_file=passwd,
            cafile=self.tls.ca,
            certfile=self.tls.cert,
            keyfile=self.tls.key,
        )
        path = self.directory / "mosquitto.conf"
        path.write_text(config, encoding="utf-8")
        return path

    def start(self) -> Self:
        """Start the broker and wait until every listener accepts connections."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._log = (self.directory / "mosquitto.log").open("wb")
        self._process = subprocess.Popen(
            [self.binary, "-c", str(config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + _START_TIMEOUT
        for port in (self.plain_port, self.password_port, self.tls_port):
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.log_text()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"mosquitto did not listen: {self.log_text()}") from None
                    time.sleep(0.02)
        return self

    def log_text(self) -> str:
        """What mosquitto logged so far."""
        path = self.directory / "mosquitto.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the broker."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop and start again on the same ports: every client is dropped (a broker restart)."""
        self.stop()
        self.start()

    def set_users(self, users: Mapping[str, str]) -> None:
        """Replace the accounts; a running broker rereads them (connected clients stay)."""
        self.users = dict(users)
        self._write_passwords()
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGHUP)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
