"""apcupsd polling: status reads per second from one real apcupsd (``UPSTYPE test``).

Two ways of reading the same NIS for the same time, one after the other:

- raw socket: one kept-alive TCP connection, ``status`` framed and sent, the reply's frames
  only walked to its end mark, never parsed: the most apcupsd gives one client;
- power-exporter: ``ApcupsdSource.read()`` (``status`` and ``events`` in one round trip, the
  line parser, the table and a checked ``Reading``), and the bare client asking ``status``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import tempfile
import time
from pathlib import Path

from tests.peers.apcupsd import Apcupsd

from power_exporter.model import Reading
from power_exporter.sources.apcupsd.client import ApcupsdClient
from power_exporter.sources.apcupsd.config import ApcupsdConfig
from power_exporter.sources.apcupsd.source import ApcupsdSource

SECONDS = 3.0
_LENGTH = struct.Struct(">H")


def raw_socket(port: int, seconds: float, *, quickack: str = "") -> float:
    """Status reads per second: framed ``status``, reply walked frame by frame, not parsed.

    ``quickack``: "" never, "send" after each request, "recv" after every receive.
    """
    request = _LENGTH.pack(6) + b"status"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reads = 0
        data = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sock.sendall(request)
            if quickack == "send":
                _quickack(sock)
            position = 0
            while True:
                while len(data) < position + 2:
                    data += _recv(sock, quickack=quickack == "recv")
                (length,) = _LENGTH.unpack_from(data, position)
                while len(data) < position + 2 + length:
                    data += _recv(sock, quickack=quickack == "recv")
                position += 2 + length
                if length == 0:
                    break
            data = data[position:]
            reads += 1
        return reads / seconds


def _quickack(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _recv(sock: socket.socket, *, quickack: bool = False) -> bytes:
    chunk = sock.recv(1 << 16)
    if quickack:
        _quickack(sock)
    if not chunk:
        raise ConnectionError("apcupsd closed the connection")
    return chunk


async def ours(port: int, seconds: float) -> tuple[float, float]:
    """Readings per second through ApcupsdSource, and status replies through the bare client."""
    cfg = ApcupsdConfig.model_validate(
        {"name": "bench", "source": "apcupsd", "server": f"127.0.0.1:{port}"}
    )
    async with ApcupsdSource(cfg) as source:
        readings = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            events = await source.read()
            readings += sum(isinstance(event, Reading) for event in events)
    async with ApcupsdClient("127.0.0.1", port) as client:
        replies = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            replies += len(await client.query(["status"]))
    return readings / seconds, replies / seconds


def run(seconds: float = SECONDS) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        daemon = Apcupsd(Path(folder)).start()
        try:
            raw = raw_socket(daemon.port, seconds, quickack="send")
            plain = raw_socket(daemon.port, seconds)
            source, client = asyncio.run(ours(daemon.port, seconds))
        finally:
            daemon.stop()
    return [
        "### apcupsd polling: one real apcupsd (UPSTYPE test, 58 status lines)",
        "",
        "| reader | status reads/s | vs raw socket |",
        "| --- | ---: | ---: |",
        (
            "| raw socket, framed status, reply walked, not parsed (TCP_QUICKACK) | "
            f"{raw:.0f} | 100 % |"
        ),
        (
            f"| the same without TCP_QUICKACK (apcupsd's Nagle meets our delayed ACK) | "
            f"{plain:.0f} | {plain / raw:.0%} |"
        ),
        (
            f"| power-exporter ApcupsdSource.read() (status + events, table, Reading) | "
            f"{source:.0f} | {source / raw:.0%} |"
        ),
        (
            f"| power-exporter ApcupsdClient.query(status) (client only) | {client:.0f} | "
            f"{client / raw:.0%} |"
        ),
        "",
        "apcupsd writes each line of a reply as its own frame with Nagle's algorithm on: without",
        "quick-ACK every read waits ~45 ms for Linux's delayed ACK, so the client sets it after",
        "each request, as the NUT client does. Each source read also fetches the event log",
        "(a second reply in the same round trip) and parses ~60 lines into a checked Reading.",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
