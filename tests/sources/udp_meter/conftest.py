"""Fixtures of the UDP meter tests: a stand-in meter and raw sender sockets on loopback."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from tests.sources.udp_meter.standin import StandInMeter, start_meter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator


@pytest.fixture
async def meter() -> AsyncIterator[StandInMeter]:
    """Start a stand-in meter on 127.0.0.1, port 0."""
    standin = await start_meter()
    yield standin
    standin.close()


@pytest.fixture
def sender() -> Iterator[Callable[[str], socket.socket]]:
    """Make plain UDP sockets bound to a loopback host, port 0 (strangers, raw pushes)."""
    made: list[socket.socket] = []

    def make(host: str = "127.0.0.1") -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        made.append(sock)
        sock.bind((host, 0))
        return sock

    yield make
    for sock in made:
        sock.close()
