"""A real SNMP agent for the SNMP tests: snmpsim's command responder serving recordings.

snmpsim (PyPI, installed with the test extra) answers every ``*.snmprec`` file of its data
folder as one community (SNMPv1/v2c) or one SNMPv3 context, both named after the file. It
runs as our subprocess on 127.0.0.1 at a free UDP port; readiness is polled over SNMP (a
GET of sysObjectID answered), never a fixed sleep. As root it wants to drop privileges,
which it cannot do with an interpreter under a private home, so ``SNMPSIM_ALLOW_ROOT`` keeps
it as it is (it is our own short-lived test process on the loopback).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from tests.peers import in_ci

if TYPE_CHECKING:
    from collections.abc import Iterable

FIXTURES: Final = Path(__file__).resolve().parent.parent / "fixtures" / "snmp"
V3_USER: Final = "monitor"
V3_AUTH_KEY: Final = "authpass123"
V3_PRIV_KEY: Final = "privpass123"
INSTALL: Final = "pip install snmpsim pysmi (the test extra)"


def responder_binary() -> str:
    """Snmpsim's command responder, beside our interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "snmpsim-command-responder"
    found = str(beside) if beside.exists() else shutil.which("snmpsim-command-responder")
    if found is None:
        message = f"peer 'snmpsim-command-responder' is missing; install it with: {INSTALL}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 nobody is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _answers(port: int, community: str) -> bool:
    from pysnmp.hlapi.v3arch.asyncio import (  # noqa: PLC0415 (only while starting)
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        UdpTransportTarget,
        get_cmd,
    )

    from power_exporter.sources.snmp.engine import new_engine  # noqa: PLC0415

    engine = new_engine()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=0.5, retries=0)
        result = await get_cmd(
            engine,
            CommunityData(community),
            target,
            ContextData(),
            ObjectType(ObjectIdentity((1, 3, 6, 1, 2, 1, 1, 2, 0))),
            lookupMib=False,
        )
    finally:
        engine.close_dispatcher()
    return result[0] is None


@dataclass
class Snmpsim:
    """A running snmpsim; ``port`` is its UDP port, communities are the recordings' names."""

    data: Path
    cache: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:port``, the ``host:`` of a device config."""
        return f"127.0.0.1:{self.port}"

    def start(self, *, wait_for: str, extra: Iterable[str] = ()) -> None:
        """Start the responder and wait until it answers the community ``wait_for``."""
        self.log = self.cache / "snmpsim.log"
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
        args = [
            responder_binary(),
            f"--data-dir={self.data}",
            f"--cache-dir={self.cache}",
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
            f"--v3-user={V3_USER}",
            f"--v3-auth-key={V3_AUTH_KEY}",
            "--v3-auth-proto=SHA256",
            f"--v3-priv-key={V3_PRIV_KEY}",
            "--v3-priv-proto=AES",
            *extra,
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while not asyncio.run(_answers(self.port, wait_for)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"snmpsim did not come up:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the responder (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_snmpsim(
    tmp: Path, recordings: Iterable[Path], *, wait_for: str, extra: Iterable[str] = ()
) -> Snmpsim:
    """Copy the recordings to a fresh data folder and serve them (caller stops it)."""
    data, cache = tmp / "data", tmp / "cache"
    data.mkdir(parents=True)
    cache.mkdir(parents=True)
    for recording in recordings:
        shutil.copy(recording, data / recording.name)
    sim = Snmpsim(data, cache, free_udp_port())
    sim.start(wait_for=wait_for, extra=extra)
    return sim
